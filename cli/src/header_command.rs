//! `--header-command CMD`: headers that come from a command, like a git credential helper.
//! `CMD` runs through `sh -c` once before the first request and again after a 401; each line of
//! its stdout is a `Name: value` header. Its stderr is passed through, escaped.

use std::process::Stdio;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use tusky::transport::layers::{header_provider, HeaderProvider};

use crate::failure::Failure;
use crate::terminal_text::escape;

/// How long the command may take before it is killed and counts as failed.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The provider for `command`: its first answer is `first` (run, and checked, before the client
/// is built); a 401 runs it again.
pub fn provider(command: String, first: HeaderMap) -> impl HeaderProvider {
    let first = std::sync::Mutex::new(Some(first));
    header_provider(move |refresh| {
        let command = command.clone();
        let initial = if refresh {
            None
        } else {
            first.lock().unwrap_or_else(|p| p.into_inner()).take()
        };
        async move {
            match initial {
                Some(headers) => Ok(headers),
                None => run(&command).await,
            }
        }
    })
}

/// Runs `command` once, now, for the headers of the first request: a command that fails or
/// prints something that is not headers is a usage error. Needs the multi-threaded runtime
/// (the command line's).
pub fn first_headers(command: &str) -> Result<HeaderMap, Failure> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| handle.block_on(run(command)))
        .map_err(|e| Failure::usage(format!("--header-command: {e}")))
}

/// Runs `command` through `sh -c` (at most [`DEADLINE`]) and reads the headers it prints.
pub async fn run(command: &str) -> Result<HeaderMap, String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting sh: {e}"))?;
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .map_err(|_| format!("the command did not finish within {} s", DEADLINE.as_secs()))?
        .map_err(|e| format!("waiting for the command: {e}"))?;
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        eprintln!("tusky: header command: {}", escape(line));
    }
    if !output.status.success() {
        return Err(format!("the command failed ({})", output.status));
    }
    parse_headers(&String::from_utf8_lossy(&output.stdout))
}

/// The headers in `text`: one `Name: value` per line; blank lines are skipped. An error names
/// the line by number and never shows a value (it may be a secret).
pub fn parse_headers(text: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("output line {number} is not 'Name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            format!(
                "output line {number}: {:?} is not a header name",
                escape(name.trim())
            )
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            format!("output line {number}: the value of {name} is not a header value")
        })?;
        headers.append(name, value);
    }
    if headers.is_empty() {
        return Err("the command printed no header".to_owned());
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_headers() {
        let headers = parse_headers("Authorization: Bearer a:b\r\n\nX-Key:  v \n").unwrap();
        assert_eq!(headers["authorization"], "Bearer a:b");
        assert_eq!(headers["x-key"], "v");
        for (bad, says) in [
            ("Authorization Bearer secret", "line 1 is not"),
            ("ok: 1\nbad name: secret", "line 2"),
            ("X: sec\u{7}ret", "value of x"),
            ("\n\n", "no header"),
        ] {
            let error = parse_headers(bad).unwrap_err();
            assert!(error.contains(says), "{bad:?}: {error}");
            assert!(
                !error.contains("secret") && !error.contains("sec"),
                "{error}"
            );
        }
    }
}
