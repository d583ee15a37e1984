//! The chunk size: [`ChunkSize`] (what the user asks for) and [`ChunkSizer`], the one place
//! that decides how long the next PATCH is — a fixed size that halves on a 413, or the
//! adaptive [`ChunkTuner`] fed with every PATCH's outcome.

mod fit;
#[cfg(test)]
mod simulation;
mod tuner;

use std::time::Duration;

use crate::transport::TransportErrorKind;

pub(crate) use tuner::{ChunkTuner, Observation};

/// The default chunk size: 8 MiB per PATCH. Memory does not grow with it (bodies stream), so
/// it only trades request overhead against how much a broken request has to resend.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// The default ceiling of an automatic chunk size: 128 MiB. A file's chunks stream from disk
/// (memory does not grow with them); the size only gets there when a server's fixed cost per
/// request is large next to its bandwidth.
pub const DEFAULT_MAX_AUTO_CHUNK_SIZE: u64 = 128 * 1024 * 1024;

/// The most an automatic chunk size uses for a stream of unknown length (stdin, a pipe): a
/// stream holds its current chunk in memory until the server acknowledges it, so its chunks
/// stay within the fixed default.
pub(crate) const STREAM_MAX_AUTO_CHUNK_SIZE: u64 = DEFAULT_CHUNK_SIZE;

/// How many bytes each PATCH carries.
///
/// ```
/// use tusky::ChunkSize;
///
/// let fixed = ChunkSize::Fixed(8 << 20); // what `UploaderBuilder::chunk_size(8 << 20)` sets
/// let auto = ChunkSize::auto(); // measured and adapted, at most 128 MiB
/// let capped = ChunkSize::Auto { max: 32 << 20 }; // adapted, at most 32 MiB
/// # let _ = (fixed, auto, capped);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkSize {
    /// Always this many bytes (the last chunk may be shorter); halved when the server answers
    /// 413 to a PATCH.
    Fixed(u64),
    /// Adapted to the server: starts at 4 MiB (or `max / 16` if less), measures every PATCH,
    /// grows while a larger chunk pays (until the server's fixed cost per request is at most 5 % of a request),
    /// then stays; halves on a timeout or a 413. Never above `max`, the server's
    /// `Tus-Max-Size`, or (for a stream of unknown length, held in memory chunk by chunk)
    /// [`DEFAULT_CHUNK_SIZE`].
    Auto {
        /// The largest chunk, in bytes.
        max: u64,
    },
}

impl ChunkSize {
    /// An automatic chunk size of at most [`DEFAULT_MAX_AUTO_CHUNK_SIZE`].
    pub const fn auto() -> Self {
        Self::Auto {
            max: DEFAULT_MAX_AUTO_CHUNK_SIZE,
        }
    }

    /// The size the setting names: the fixed size, or the automatic size's ceiling.
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Fixed(bytes) | Self::Auto { max: bytes } => bytes,
        }
    }
}

impl Default for ChunkSize {
    /// [`DEFAULT_CHUNK_SIZE`], fixed: a library's uploads keep predictable chunk boundaries
    /// unless told otherwise.
    fn default() -> Self {
        Self::Fixed(DEFAULT_CHUNK_SIZE)
    }
}

/// How an upload's PATCHes ended, as far as their length is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted, this long after the request started.
    Accepted(Duration),
    /// Dropped after a timeout (a stall).
    TimedOut,
    /// Refused as too large (413).
    TooLarge,
}

/// Whether a failed request timed out (it stalled, or the transport gave up waiting): what an
/// automatic chunk size backs off from.
pub(crate) fn timed_out(error: &crate::Error) -> bool {
    matches!(error, crate::Error::Transport { source, .. } if source.kind() == TransportErrorKind::Timeout)
}

/// The chunk length of one upload (each part of a parallel upload has its own).
#[derive(Debug, Clone)]
pub(crate) struct ChunkSizer {
    mode: Mode,
    /// The length of the last chunk handed out, which the next outcome is about.
    last_len: u64,
}

#[derive(Debug, Clone)]
enum Mode {
    Fixed(u64),
    Auto(ChunkTuner),
}

impl ChunkSizer {
    pub(crate) fn new(setting: ChunkSize) -> Self {
        let mode = match setting {
            ChunkSize::Fixed(bytes) => Mode::Fixed(bytes.max(1)),
            ChunkSize::Auto { max } => Mode::Auto(ChunkTuner::new(max)),
        };
        Self { mode, last_len: 0 }
    }

    /// Whether the size adapts (else it is fixed).
    pub(crate) fn is_auto(&self) -> bool {
        matches!(self.mode, Mode::Auto(_))
    }

    /// The size a chunk gets when enough bytes remain.
    pub(crate) fn size(&self) -> u64 {
        match &self.mode {
            Mode::Fixed(bytes) => *bytes,
            Mode::Auto(tuner) => tuner.size(),
        }
    }

    /// The length of the next chunk when `remaining` bytes are left (`None`: unknown); the
    /// next [`answered`](Self::answered) is about it.
    pub(crate) fn next_len(&mut self, remaining: Option<u64>) -> u64 {
        let len = match &self.mode {
            Mode::Fixed(bytes) => remaining.map_or(*bytes, |r| r.min(*bytes)),
            Mode::Auto(tuner) => tuner.len_for(remaining),
        };
        self.last_len = len;
        len
    }

    /// Keeps an automatic size at most `max` bytes (`Tus-Max-Size`, a stream's bound); a
    /// fixed size is what the user asked for.
    pub(crate) fn limit(&mut self, max: u64) {
        if let Mode::Auto(tuner) = &mut self.mode {
            tuner.limit(max);
        }
    }

    /// Learns how the last chunk handed out ended. Returns whether the size changed (a 413
    /// that cannot shrink the chunk any more leaves it as it is).
    pub(crate) fn answered(&mut self, outcome: Outcome) -> bool {
        let before = self.size();
        let bytes = self.last_len.max(1);
        match &mut self.mode {
            Mode::Fixed(size) => {
                if outcome == Outcome::TooLarge {
                    *size = (*size / 2).max(1);
                }
            }
            Mode::Auto(tuner) => tuner.observe(match outcome {
                Outcome::Accepted(duration) => Observation::Accepted { bytes, duration },
                Outcome::TimedOut => Observation::TimedOut { bytes },
                Outcome::TooLarge => Observation::TooLarge { bytes },
            }),
        }
        let after = self.size();
        match outcome {
            Outcome::TooLarge if after < before => {
                tracing::warn!(
                    from = before,
                    to = after,
                    "server answered 413; shrinking chunks"
                );
            }
            Outcome::TimedOut if after < before => {
                tracing::warn!(
                    from = before,
                    to = after,
                    "a PATCH timed out; shrinking chunks"
                );
            }
            _ if after != before => {
                tracing::debug!(from = before, to = after, "chunk size tuned");
            }
            _ => {}
        }
        after != before
    }
}
