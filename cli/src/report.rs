//! What the user sees while an upload runs: a progress bar on a terminal, short periodic lines
//! otherwise, nothing with `--json`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tusky::ProgressEvent;

use crate::size::{human, rate};
use crate::terminal_text::escape;

/// How often a line is printed when stderr is not a terminal.
pub const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An indicatif bar on stderr (a terminal).
    Bar,
    /// A line every [`LINE_INTERVAL`] on stderr.
    Lines,
    /// Nothing (`--json`).
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet with `--json`, a bar when stderr is a terminal.
    pub fn detect(json: bool) -> Mode {
        if json {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

struct LineState {
    last_line: Option<Instant>,
    last_printed: Option<u64>,
    position: u64,
    total: Option<u64>,
    run_start_offset: Option<u64>,
}

/// What tells the user things on stderr: one file's [`Reporter`], or a batch's.
pub trait Tell: Send + Sync {
    /// A message (not shown with `--json`).
    fn info(&self, message: &str);
    /// A warning (shown even with `--json`).
    fn warn(&self, message: &str);
}

impl Tell for Reporter {
    fn info(&self, message: &str) {
        Reporter::info(self, message);
    }
    fn warn(&self, message: &str) {
        Reporter::warn(self, message);
    }
}

/// Shows progress and messages; shared with the uploader's progress callback.
pub struct Reporter {
    mode: Mode,
    bar: Option<ProgressBar>,
    started: Instant,
    state: Mutex<LineState>,
}

impl Reporter {
    /// A reporter in `mode`.
    pub fn new(mode: Mode) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            mode,
            bar,
            started: Instant::now(),
            state: Mutex::new(LineState {
                last_line: None,
                last_printed: None,
                position: 0,
                total: None,
                run_start_offset: None,
            }),
        }
    }

    /// Prints `tusky: {message}` on stderr (above the bar), unless quiet. Control characters
    /// (from a server's answer, a file name) are escaped.
    pub fn info(&self, message: &str) {
        let message = escape(message);
        match (&self.bar, self.mode) {
            (_, Mode::Quiet) => {}
            (Some(bar), _) => bar.println(format!("tusky: {message}")),
            (None, _) => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "tusky: {message}");
            }
        }
    }

    /// Prints a warning on stderr even in quiet mode (stdout stays JSON-only); control
    /// characters are escaped.
    pub fn warn(&self, message: &str) {
        let message = escape(message);
        match &self.bar {
            Some(bar) => bar.println(format!("tusky: warning: {message}")),
            None => eprintln!("tusky: warning: {message}"),
        }
    }

    /// Handles one uploader event.
    pub fn event(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::Started {
                url,
                offset,
                total,
                resumed,
            } => {
                {
                    let mut state = self.lock();
                    state.position = *offset;
                    state.total = *total;
                    state.run_start_offset.get_or_insert(*offset);
                }
                if *resumed {
                    let of = total
                        .map(|t| format!(" of {}", human(t)))
                        .unwrap_or_default();
                    if *offset > 0 {
                        self.info(&format!("resuming at {}{of} ({url})", human(*offset)));
                    } else {
                        self.info(&format!("resuming the stored upload{of} ({url})"));
                    }
                } else {
                    self.info(&format!("upload URL: {url}"));
                }
                if let Some(bar) = &self.bar {
                    if let Some(total) = total {
                        bar.set_length(*total);
                        bar.set_style(bar_style());
                    }
                    bar.set_position(*offset);
                    bar.reset_eta();
                }
            }
            ProgressEvent::BytesSent { sent, total } => self.position(*sent, *total),
            ProgressEvent::Acknowledged { offset, total } => self.position(*offset, *total),
            ProgressEvent::RetryScheduled {
                error,
                attempt,
                delay,
            } => {
                self.info(&format!(
                    "attempt {attempt} failed, retrying in {:.1} s: {}",
                    delay.as_secs_f64(),
                    crate::failure::one_line(error)
                ));
            }
            // Starting over sends every byte again: worth a warning even in quiet mode.
            ProgressEvent::StartedOver { reason } => {
                self.warn(&format!(
                    "starting over: {}",
                    crate::failure::one_line(reason)
                ));
            }
            ProgressEvent::Finished { total, .. } => {
                self.position(*total, Some(*total));
                if let Some(bar) = &self.bar {
                    bar.finish();
                }
            }
            _ => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LineState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn position(&self, position: u64, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            if let Some(total) = total {
                if bar.length() != Some(total) {
                    bar.set_length(total);
                    bar.set_style(bar_style());
                }
            }
            bar.set_position(position);
            return;
        }
        if self.mode != Mode::Lines {
            return;
        }
        let line = {
            let mut state = self.lock();
            if state.run_start_offset.is_none() {
                // Not started yet (the first chunk rides on the creation POST): the first
                // line comes after "upload URL".
                return;
            }
            state.position = position;
            if total.is_some() {
                state.total = total;
            }
            let due = state.last_line.is_none_or(|t| t.elapsed() >= LINE_INTERVAL);
            if !due {
                return;
            }
            state.last_line = Some(Instant::now());
            state.last_printed = Some(position);
            self.line(&state)
        };
        self.info(&line);
    }

    fn line(&self, state: &LineState) -> String {
        let sent_this_run = state
            .position
            .saturating_sub(state.run_start_offset.unwrap_or(0));
        let speed = rate(sent_this_run, self.started.elapsed().as_secs_f64());
        match state.total {
            Some(total) if total > 0 => format!(
                "{} of {} ({:.0}%), {speed}",
                human(state.position),
                human(total),
                state.position as f64 * 100.0 / total as f64
            ),
            _ => format!("{} sent, {speed}", human(state.position)),
        }
    }

    /// Ends the bar (leaving it on screen) or prints the last line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        } else if self.mode == Mode::Lines {
            let line = {
                let state = self.lock();
                if state.last_printed == Some(state.position) {
                    return;
                }
                self.line(&state)
            };
            self.info(&line);
        }
    }

    /// Removes the bar, for an error message after it.
    pub fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

/// The style of a bar of known length.
pub fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} [{bar:32}] {bytes}/{total_bytes} {percent}% {bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {bytes} sent {bytes_per_sec} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}
