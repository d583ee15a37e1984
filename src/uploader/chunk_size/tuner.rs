//! [`ChunkTuner`]: the adaptive chunk size, a pure piece. Fed what each PATCH did (bytes,
//! duration, outcome), it picks the next chunk's length. It never reads a clock: durations
//! come from the caller, so a simulated server drives it as well as a real one.
//!
//! - **Grow** from [`AUTO_START`] (4 MiB, then 16 MiB; less under a low ceiling): fit `duration = cost + bytes ×
//!   per_byte` over the measured requests (least squares) and jump to the smallest power of
//!   two whose fixed cost is at most [`OVERHEAD_SHARE`] of a request; while the fit is not
//!   sure, at least double.
//! - **Settle** once the fit is sure (95 %, from at least four requests of three sizes) that
//!   the current size is large enough, or at the ceiling. From then on the size only goes
//!   down, so it cannot oscillate. Without noise it settles at the smallest such power of two
//!   from 32 MiB up (three sizes are measured first: 4, 16 and 32 MiB or more).
//! - **Back off** on a timeout or a 413: half the refused length, which also becomes the
//!   ceiling, and settle there.
//! - Never above the ceiling: the configured maximum, `Tus-Max-Size`, what a 413 taught.
//!
//! The price of measuring is the first requests (4 and 16 MiB) before the fit jumps: a few
//! requests' fixed cost, which a file of a few chunks notices and a large one does not.

use std::time::Duration;

use super::fit::{fit, Sample};

/// The first chunk of an automatic chunk size: 4 MiB, or a sixteenth of the ceiling when that
/// is less (so that there is room to measure and grow under a low ceiling).
pub(crate) const AUTO_START: u64 = 4 << 20;

/// How far below the ceiling the first chunk is at least.
const START_BELOW_CEILING: u64 = 16;

/// The share of a request's time that its fixed cost may take once the size settles (5 %:
/// throughput within 5 % of one request for the whole file).
pub(crate) const OVERHEAD_SHARE: f64 = 0.05;

/// How many measured requests the fit looks at (the most recent ones).
const WINDOW: usize = 12;

/// The second size measured, as a multiple of the first: the wider apart the first two
/// sizes, the less a noisy measurement moves the first fit.
const FIRST_STEP: u64 = 4;

/// What one PATCH did, as the tuner sees it (any other failure says nothing about the size
/// and is not reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observation {
    /// The server answered success to `bytes` sent, `duration` after the request started.
    Accepted { bytes: u64, duration: Duration },
    /// The request of `bytes` timed out (stalled).
    TimedOut { bytes: u64 },
    /// The server refused `bytes` as too large (413).
    TooLarge { bytes: u64 },
}

/// Where the tuner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Still measuring: the size grows until it is surely large enough.
    Growing,
    /// Done measuring: the size stays, or shrinks on a timeout or a 413.
    Settled,
}

/// The adaptive chunk size of one upload (or of one part of a parallel upload).
#[derive(Debug, Clone)]
pub(crate) struct ChunkTuner {
    size: u64,
    ceiling: u64,
    phase: Phase,
    samples: Vec<Sample>,
}

impl ChunkTuner {
    /// A tuner that never goes above `max` bytes (at least 1).
    pub(crate) fn new(max: u64) -> Self {
        let ceiling = max.max(1);
        Self {
            size: AUTO_START.min(ceiling / START_BELOW_CEILING).max(1),
            ceiling,
            phase: Phase::Growing,
            samples: Vec::new(),
        }
    }

    /// The size the next chunk gets when enough bytes remain.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The length of the next chunk when `remaining` bytes are left (`None`: unknown). A tail
    /// of at most half a chunk more goes with this chunk rather than in a request of its own.
    pub(crate) fn len_for(&self, remaining: Option<u64>) -> u64 {
        match remaining {
            Some(remaining) if remaining <= self.ceiling.min(self.size + self.size / 2) => {
                remaining
            }
            Some(remaining) => self.size.min(remaining),
            None => self.size,
        }
    }

    /// Lowers the ceiling to `max` bytes (a server's `Tus-Max-Size`, what a stream may hold).
    pub(crate) fn limit(&mut self, max: u64) {
        self.ceiling = self.ceiling.min(max.max(1));
        self.size = self.size.min(self.ceiling);
    }

    /// Learns from one PATCH.
    pub(crate) fn observe(&mut self, observation: Observation) {
        match observation {
            Observation::Accepted { bytes, duration } => self.accepted(bytes, duration),
            Observation::TimedOut { bytes } | Observation::TooLarge { bytes } => {
                self.limit(bytes / 2);
                self.phase = Phase::Settled;
            }
        }
    }

    fn accepted(&mut self, bytes: u64, duration: Duration) {
        if self.phase == Phase::Settled || bytes == 0 {
            return;
        }
        if self.samples.len() == WINDOW {
            self.samples.remove(0);
        }
        self.samples.push(Sample {
            bytes: bytes as f64,
            seconds: duration.as_secs_f64(),
        });
        let doubled = self.size.saturating_mul(2);
        let next = match fit(&self.samples) {
            // One size so far: measure another.
            None => self.size.saturating_mul(FIRST_STEP),
            Some(line) if line.overhead_surely_within(self.size as f64, OVERHEAD_SHARE) => {
                self.phase = Phase::Settled;
                return;
            }
            Some(line) => {
                let wanted = line.size_for_overhead(OVERHEAD_SHARE);
                if wanted > self.size as f64 {
                    power_of_two_at_least(wanted).max(doubled)
                } else if line.has_enough_sizes() && !line.has_enough_samples() {
                    // Large enough, it seems: one more look at this size before settling.
                    return;
                } else {
                    // Not sure: a wider spread of sizes makes the next fit surer.
                    doubled
                }
            }
        };
        let next = next.min(self.ceiling);
        if next > self.size {
            self.size = next;
        } else {
            self.phase = Phase::Settled;
        }
    }
}

/// The smallest power of two at least `bytes` (saturating at the largest one).
fn power_of_two_at_least(bytes: f64) -> u64 {
    if bytes >= (1u64 << 63) as f64 {
        return 1 << 63;
    }
    (bytes.ceil() as u64).max(1).next_power_of_two()
}
