//! How each file of a many-file upload ended, as the command tells it (a JSON line, or
//! `URL<TAB>PATH` on stdout and errors on stderr), and how the command exits: with the most
//! serious outcome of any file.

use std::collections::BTreeMap;
use std::path::Path;

use tusky::batch::{BatchResult, Outcome};

use super::items::Left;
use super::progress::BatchReporter;
use crate::failure::{classify, one_line, Exit, Failure};
use crate::report::Tell;
use crate::size::{human, rate};
use crate::terminal_text::escape;

/// The exit codes from the most serious to the least: an interruption (the batch did not look
/// at every file), an internal error, a usage error, a refusal (trying again will not help),
/// a local I/O error, a network failure (trying again may help), stored but refused (the
/// bytes are there), done.
pub const SEVERITY: [Exit; 8] = [
    Exit::Interrupted,
    Exit::Other,
    Exit::Usage,
    Exit::Refused,
    Exit::LocalIo,
    Exit::Network,
    Exit::StoredButRefused,
    Exit::Ok,
];

/// The more serious of `a` and `b`.
pub fn most_serious(a: Exit, b: Exit) -> Exit {
    let rank = |exit| SEVERITY.iter().position(|e| *e == exit).unwrap_or(0);
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}

/// Every outcome a file can have on the command line, in the order the summary lists them.
const OUTCOMES: [&str; 6] = [
    "uploaded",
    "already_uploaded",
    "stored_but_refused",
    "failed",
    "interrupted",
    "skipped",
];

/// What is said about one file.
struct Said {
    outcome: &'static str,
    exit: Exit,
    /// The failure (for a failed file, or one refused after storing).
    error: Option<String>,
}

fn said(result: &BatchResult) -> Said {
    let path = result.item.path().display();
    match &result.outcome {
        Outcome::Uploaded(_) => Said::of("uploaded", Exit::Ok),
        Outcome::AlreadyUploaded(_) => Said::of("already_uploaded", Exit::Ok),
        Outcome::StoredButRefused(summary) => {
            let answer = summary.final_answer.as_ref();
            Said {
                outcome: "stored_but_refused",
                exit: Exit::StoredButRefused,
                error: Some(format!(
                    "all {} bytes of {path} are stored at {}, but the server's final answer was {}: {}",
                    summary.offset,
                    summary.url,
                    answer.map(|a| a.status.to_string()).unwrap_or_default(),
                    one_line(answer.map(|a| a.body.as_str()).unwrap_or_default())
                )),
            }
        }
        Outcome::Failed { error, .. } => {
            let failure = Failure::tus(format!("uploading {path}"), error);
            Said {
                outcome: "failed",
                exit: classify(error),
                error: Some(failure.to_string()),
            }
        }
        Outcome::Cancelled { .. } => Said::of("interrupted", Exit::Interrupted),
        _ => Said::of("failed", Exit::Other),
    }
}

impl Said {
    fn of(outcome: &'static str, exit: Exit) -> Self {
        Self {
            outcome,
            exit,
            error: None,
        }
    }
}

/// The counts so far, and the exit code they make.
pub struct Tally {
    json: bool,
    files: usize,
    counts: BTreeMap<&'static str, usize>,
    exit: Exit,
    bytes: u64,
    bytes_uploaded: u64,
}

impl Tally {
    /// A tally of `files` entries (uploaded or left out); `json`: whether to print JSON lines.
    pub fn new(files: usize, json: bool) -> Self {
        Self {
            json,
            files,
            counts: BTreeMap::new(),
            exit: Exit::Ok,
            bytes: 0,
            bytes_uploaded: 0,
        }
    }

    fn count(&mut self, outcome: &'static str, exit: Exit) {
        *self.counts.entry(outcome).or_default() += 1;
        self.exit = most_serious(self.exit, exit);
    }

    /// Tells about an entry left out, and counts it.
    pub fn left(&mut self, left: &Left, tell: &BatchReporter) {
        let (outcome, exit) = match left.error {
            true => ("failed", Exit::LocalIo),
            false => ("skipped", Exit::Ok),
        };
        self.count(outcome, exit);
        if self.json {
            let error = left
                .error
                .then(|| format!("reading {}: {}", left.path, left.reason));
            let line = serde_json::json!({
                "type": "file",
                "path": left.path,
                "outcome": outcome,
                "reason": left.reason,
                "error": error,
                "exit_code": exit.code(),
            });
            tell.out(&line.to_string());
        } else if left.error {
            tell.error(&format!("reading {}: {}", left.path, left.reason));
        } else {
            tell.info(&format!("skipped {}: {}", left.path, left.reason));
        }
    }

    /// Tells about a file's result, and counts it.
    pub fn result(&mut self, result: &BatchResult, tell: &BatchReporter) {
        let said = said(result);
        self.count(said.outcome, said.exit);
        self.bytes += result.size.unwrap_or(0);
        self.bytes_uploaded += result.outcome.bytes_uploaded();
        let path = result.item.path().display().to_string();
        let url = result.outcome.url().map(|url| url.to_string());
        if self.json {
            let resumed_from = match &result.outcome {
                Outcome::Uploaded(summary) => summary.resumed_from,
                _ => None,
            };
            let line = serde_json::json!({
                "type": "file",
                "path": path,
                "relative_path": result.item.relative(),
                "outcome": said.outcome,
                "url": url,
                "bytes": result.size,
                "bytes_uploaded": result.outcome.bytes_uploaded(),
                "resumed_from": resumed_from,
                "error": said.error,
                "exit_code": said.exit.code(),
            });
            tell.out(&line.to_string());
            return;
        }
        match (&result.outcome, url, said.error) {
            (Outcome::Uploaded(_) | Outcome::AlreadyUploaded(_), Some(url), _) => {
                tell.out(&format!("{}\t{}", escape(&url), escape(&path)));
            }
            (Outcome::StoredButRefused(_), _, Some(error)) => tell.warn(&error),
            (_, _, Some(error)) => tell.error(&error),
            _ => {}
        }
    }

    /// The summary (the last JSON line, or a line on stderr) and the command's end: `Ok` when
    /// every file is done, else the most serious outcome. `store` is the URL store, if any.
    pub fn conclude(
        self,
        seconds: f64,
        store: Option<&Path>,
        tell: &BatchReporter,
    ) -> Result<(), Failure> {
        let counted = |outcome: &str| self.counts.get(outcome).copied().unwrap_or(0);
        if self.json {
            let outcomes: serde_json::Map<String, serde_json::Value> = OUTCOMES
                .iter()
                .map(|o| ((*o).to_owned(), counted(o).into()))
                .collect();
            let line = serde_json::json!({
                "type": "summary",
                "files": self.files,
                "outcomes": outcomes,
                "bytes": self.bytes,
                "bytes_uploaded": self.bytes_uploaded,
                "seconds": seconds,
                "exit_code": self.exit.code(),
            });
            tell.out(&line.to_string());
        } else {
            let counts: Vec<String> = OUTCOMES
                .iter()
                .filter(|o| counted(o) > 0)
                .map(|o| format!("{} {}", counted(o), o.replace('_', " ")))
                .collect();
            tell.info(&format!(
                "{} files: {}; {} sent in {seconds:.1} s ({})",
                self.files,
                counts.join(", "),
                human(self.bytes_uploaded),
                rate(self.bytes_uploaded, seconds)
            ));
        }
        let done = counted("uploaded") + counted("already_uploaded");
        match self.exit {
            Exit::Ok => Ok(()),
            Exit::Interrupted => Err(Failure::new(
                Exit::Interrupted,
                format!(
                    "interrupted: {done} of {} files done; {}",
                    self.files,
                    match store {
                        Some(store) => format!(
                            "the unfinished uploads are kept in {}: run the same command again to finish",
                            store.display()
                        ),
                        None => "with --no-resume, a new run uploads every file again".to_owned(),
                    }
                ),
            )),
            exit => Err(Failure::new(
                exit,
                format!(
                    "{} of {} files not done (see above); run the same command again to retry them",
                    self.files - done - counted("skipped"),
                    self.files
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_outcome_wins_in_any_order() {
        let all = SEVERITY;
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                let expected = if i <= j { *a } else { *b };
                assert_eq!(most_serious(*a, *b), expected, "{a:?} {b:?}");
            }
        }
        assert_eq!(most_serious(Exit::Ok, Exit::Network), Exit::Network);
        assert_eq!(most_serious(Exit::Network, Exit::Refused), Exit::Refused);
        assert_eq!(
            most_serious(Exit::Interrupted, Exit::Refused),
            Exit::Interrupted
        );
    }
}
