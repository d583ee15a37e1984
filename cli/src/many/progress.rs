//! What the user sees while many files upload: on a terminal, one bar for everything this run
//! sends with the files in flight under it; otherwise a line every few seconds; with `--json`,
//! only warnings.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tusky::batch::{BatchEvent, FileEvent, Totals};
use tusky::ProgressEvent;

use crate::failure::one_line;
use crate::report::{bar_style, Mode, Tell, LINE_INTERVAL};
use crate::size::{human, rate};
use crate::terminal_text::escape;

/// The bars on a terminal: the total, and one per file in flight.
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    files: Mutex<HashMap<usize, ProgressBar>>,
}

/// Shows a batch's progress and messages; its [`event`](BatchReporter::event) is the batch's
/// progress callback.
pub struct BatchReporter {
    mode: Mode,
    bars: Option<Bars>,
    started: Instant,
    last_line: Mutex<Option<Instant>>,
}

impl BatchReporter {
    /// A reporter in `mode`.
    pub fn new(mode: Mode) -> Self {
        let bars = (mode == Mode::Bar).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(0));
            total.set_style(total_style());
            total.enable_steady_tick(std::time::Duration::from_millis(200));
            Bars {
                multi,
                total,
                files: Mutex::new(HashMap::new()),
            }
        });
        Self {
            mode,
            bars,
            started: Instant::now(),
            last_line: Mutex::new(None),
        }
    }

    /// Prints `tusky: error: {message}` on stderr (above the bars), even with `--json`.
    pub fn error(&self, message: &str) {
        self.print(format!("tusky: error: {}", escape(&one_line(message))));
    }

    /// Prints `line` on stdout (the bars step aside while it is written, should stdout be the
    /// same terminal).
    pub fn out(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    fn print(&self, line: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Handles one event of the batch.
    pub fn event(&self, event: &BatchEvent) {
        let name = || shown_name(event);
        match &event.event {
            FileEvent::Progress(ProgressEvent::StartedOver { reason }) => {
                self.warn(&format!("{}: starting over: {}", name(), one_line(reason)));
            }
            FileEvent::Progress(ProgressEvent::RetryScheduled {
                error,
                attempt,
                delay,
            }) => self.info(&format!(
                "{}: attempt {attempt} failed, retrying in {:.1} s: {}",
                name(),
                delay.as_secs_f64(),
                one_line(error)
            )),
            _ => {}
        }
        match &self.bars {
            Some(bars) => bars.show(event, name),
            None if self.mode == Mode::Lines => self.line_if_due(&event.totals),
            None => {}
        }
    }

    fn line_if_due(&self, totals: &Totals) {
        {
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < LINE_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        self.info(&self.line(totals));
    }

    /// `3 of 12 files, 1.2 MiB of 4.0 MiB (30%), 600 KiB/s`.
    fn line(&self, totals: &Totals) -> String {
        let percent = match totals.bytes {
            0 => 100.0,
            bytes => totals.acknowledged as f64 * 100.0 / bytes as f64,
        };
        format!(
            "{} of {} files, {} of {} ({percent:.0}%), {}",
            totals.files_finished,
            totals.files,
            human(totals.acknowledged),
            human(totals.bytes),
            rate(totals.uploaded, self.started.elapsed().as_secs_f64())
        )
    }

    /// Ends the bars (the total stays on screen).
    pub fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.total.finish();
        }
    }

    /// Removes the bars, for an error message after them.
    pub fn abandon(&self) {
        if let Some(bars) = &self.bars {
            bars.total.abandon();
        }
    }
}

impl Tell for BatchReporter {
    /// `tusky: {message}` on stderr (above the bars), unless quiet.
    fn info(&self, message: &str) {
        if self.mode != Mode::Quiet {
            self.print(format!("tusky: {}", escape(message)));
        }
    }

    /// `tusky: warning: {message}` on stderr, even with `--json`.
    fn warn(&self, message: &str) {
        self.print(format!("tusky: warning: {}", escape(message)));
    }
}

impl Bars {
    fn show(&self, event: &BatchEvent, name: impl Fn() -> String) {
        let totals = &event.totals;
        // The total bar measures what this run sends: files found done do not move it.
        let already = totals.acknowledged - totals.uploaded;
        self.total.set_length(totals.bytes.saturating_sub(already));
        self.total.set_position(totals.uploaded);
        self.total
            .set_message(format!("{}/{} files", totals.files_finished, totals.files));
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        match &event.event {
            FileEvent::Started { size } => {
                let bar = self.multi.add(ProgressBar::new(size.unwrap_or(0)));
                bar.set_style(file_style());
                bar.set_message(name());
                files.insert(event.index, bar);
            }
            FileEvent::Progress(progress) => {
                let position = match progress {
                    ProgressEvent::Started { offset, .. } => Some(*offset),
                    ProgressEvent::BytesSent { sent, .. } => Some(*sent),
                    ProgressEvent::Acknowledged { offset, .. } => Some(*offset),
                    ProgressEvent::Finished { total, .. } => Some(*total),
                    _ => None,
                };
                if let (Some(bar), Some(position)) = (files.get(&event.index), position) {
                    bar.set_position(position);
                }
            }
            FileEvent::Finished(_) => {
                if let Some(bar) = files.remove(&event.index) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            _ => {}
        }
    }
}

/// The file's path inside its directory (or as given), safe to print.
fn shown_name(event: &BatchEvent) -> String {
    let name = match event.item.relative() {
        Some(relative) => relative.to_owned(),
        None => event.item.path().display().to_string(),
    };
    escape(&name).into_owned()
}

fn total_style() -> ProgressStyle {
    bar_style()
        .template(
            "{spinner} [{bar:32}] {bytes}/{total_bytes} {percent}% {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn file_style() -> ProgressStyle {
    ProgressStyle::with_template("  [{bar:20}] {bytes:>10}/{total_bytes:<10} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
