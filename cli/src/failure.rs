//! Exit codes and the one-line error every failure becomes.

use std::fmt;

use tusky::storage::StorageError;
use tusky::transport::TransportErrorKind;
use tusky::Error;

use crate::terminal_text::escape;

/// A process exit code (listed in `tusky --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: the local upload's bytes differ, or an internal error.
    Other,
    /// 2: a usage error.
    Usage,
    /// 3: the server refused (4xx, protocol violation).
    Refused,
    /// 4: a network or server failure that persisted after the retries.
    Network,
    /// 5: a local I/O error (the file, the store, the data directory).
    LocalIo,
    /// 6: every byte is stored, but the server's final answer was an error (its
    /// post-processing refused the upload).
    StoredButRefused,
    /// 130: interrupted.
    Interrupted,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Other => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::Network => 4,
            Exit::LocalIo => 5,
            Exit::StoredButRefused => 6,
            Exit::Interrupted => 130,
        }
    }
}

/// A failure: what to print (one line, after `tusky: error: `) and how to exit.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// The message, without the `tusky: error: ` prefix.
    pub message: String,
}

impl Failure {
    /// A failure with this exit code and message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A local I/O error (exit 5).
    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Exit::LocalIo, message)
    }

    /// `what` failed with the library error `error`: the exit code follows the error's kind.
    pub fn tus(what: impl fmt::Display, error: &Error) -> Self {
        Self::new(
            classify(error),
            format!("{what}: {}", one_line(&explain(error))),
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages carry server text (error bodies) and file names: no raw control characters.
        f.write_str(&escape(&one_line(&self.message)))
    }
}

/// The exit code for a library error.
pub fn classify(error: &Error) -> Exit {
    match error {
        Error::Cancelled { .. }
        | Error::Storage {
            source: StorageError::Cancelled,
            ..
        } => Exit::Interrupted,
        Error::RetriesExhausted { last, .. } => classify(last),
        Error::Status { status, .. } => {
            if status.is_server_error() || matches!(status.as_u16(), 408 | 423 | 429) {
                Exit::Network
            } else {
                Exit::Refused
            }
        }
        Error::Transport { context, .. }
            if context.operation == tusky::error::Operation::Configure =>
        {
            Exit::Usage
        }
        Error::Transport { source, .. } if matches!(source.kind(), TransportErrorKind::Body) => {
            Exit::LocalIo
        }
        // A refused certificate, or a request tusky refused to send (https → http): retrying
        // cannot help, the user has to change something.
        Error::Transport { source, .. } if !source.is_transient() => Exit::Refused,
        Error::Transport { .. } => Exit::Network,
        Error::Protocol { .. }
        | Error::UnsupportedVersion { .. }
        | Error::TooLarge { .. }
        | Error::LengthMismatch { .. } => Exit::Refused,
        Error::Source { .. } | Error::SourceChanged { .. } | Error::Storage { .. } => Exit::LocalIo,
        Error::Metadata(_) | Error::Config(_) => Exit::Usage,
        _ => Exit::Other,
    }
}

/// What the user should read about `error`: the error with its sources, with what to do about
/// a refused certificate, and a redirect said for what it is (its body is not shown).
pub fn explain(error: &Error) -> String {
    let last = match error {
        Error::RetriesExhausted { last, .. } => last.as_ref(),
        other => other,
    };
    match last {
        Error::Status {
            context, status, ..
        } if status.is_redirection() => format!(
            "{context}: the server answered {status}, a redirect, which tusky does not follow (it could take the upload and your headers to another server): give the URL it redirects to instead, if you trust it"
        ),
        Error::Transport { source, .. }
            if source.kind() == TransportErrorKind::Certificate =>
        {
            format!("{}; {CERTIFICATE_HINT}", describe(error))
        }
        _ => describe(error),
    }
}

/// What to do when the server's certificate is refused.
const CERTIFICATE_HINT: &str = "trust its CA with --ca-cert FILE (or fix the certificate)";

/// The error with its sources, without repeating what a source's text already says.
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Folds newlines and runs of whitespace into single spaces, so that an error is one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\r\nc "), "a b c");
    }

    #[test]
    fn a_failure_prints_no_raw_control_characters() {
        let failure = Failure::new(Exit::Refused, "403: \x1b[2Jquota\x07 exceeded");
        assert_eq!(failure.to_string(), "403: \\u{1b}[2Jquota\\u{7} exceeded");
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            Exit::Ok,
            Exit::Other,
            Exit::Usage,
            Exit::Refused,
            Exit::Network,
            Exit::LocalIo,
            Exit::Interrupted,
        ];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
