//! `-v`: tusky's `tracing` events on stderr (the library's per-request `"tus request"` event and
//! its decisions), each line escaped: URLs and errors in them come from the server.

use std::io::Write;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::terminal_text::escape;

/// Shows tusky's events at `verbose` (0: none; 1: debug; 2 or more: trace) on stderr.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let targets = Targets::new()
        .with_target("tusky", level)
        .with_target("tusky_storage", level)
        .with_target("tusky_cli", level);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(|| EscapedStderr);
    // Only fails when a subscriber is already set: then that one shows the events.
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(targets)
        .try_init();
}

/// Stderr, with every line's control characters escaped (the line ends are kept).
struct EscapedStderr;

impl Write for EscapedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut out = String::with_capacity(text.len() + 8);
        for piece in text.split_inclusive('\n') {
            match piece.strip_suffix('\n') {
                Some(line) => {
                    out.push_str(&escape(line));
                    out.push('\n');
                }
                None => out.push_str(&escape(piece)),
            }
        }
        std::io::stderr().lock().write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().lock().flush()
    }
}
