//! When to try again, and after how long: [`RetryPolicy`] and its default,
//! [`ExponentialBackoff`]. *Whether* an error is worth retrying is decided in one place, the
//! uploader's recovery rules; a policy only decides how often and how long to wait.

use std::fmt::Debug;
use std::time::Duration;

use rand::Rng;

use crate::Error;

/// Decides whether and when to retry after a retryable failure.
///
/// `attempt` counts failures since the last time the upload's offset advanced (1 after the
/// first failure): progress resets it. `elapsed` is the time since that same moment.
pub trait RetryPolicy: Send + Sync + Debug {
    /// The delay before the next attempt, or `None` to give up.
    fn next_delay(&self, attempt: u32, elapsed: Duration, error: &Error) -> Option<Duration>;

    /// The longest wait this policy allows: a server's `Retry-After` longer than this is cut
    /// to it (`None`: five minutes).
    fn max_delay(&self) -> Option<Duration> {
        None
    }
}

/// Never retry.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn next_delay(&self, _: u32, _: Duration, _: &Error) -> Option<Duration> {
        None
    }
}

/// Exponential backoff with full jitter: the n-th retry waits a random time up to
/// `min(max_delay, initial_delay * multiplier^(n-1))`, at most `max_retries` times in a row
/// without progress and not after `max_elapsed` without progress.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExponentialBackoff {
    /// Retries allowed in a row without progress (attempts = retries + 1).
    pub max_retries: u32,
    /// The first delay's upper bound.
    pub initial_delay: Duration,
    /// The largest delay.
    pub max_delay: Duration,
    /// Growth per retry.
    pub multiplier: f64,
    /// Give up once this long has passed without progress.
    pub max_elapsed: Option<Duration>,
    /// Randomise delays (full jitter) so that many clients do not retry in step.
    pub jitter: bool,
}

impl Default for ExponentialBackoff {
    /// 5 retries, 500 ms doubling up to 30 s, with jitter, for at most 5 minutes without progress.
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            max_elapsed: Some(Duration::from_secs(300)),
            jitter: true,
        }
    }
}

impl ExponentialBackoff {
    /// `max_retries` retries with a fixed `delay` and no jitter (tuspy's `retries`/`retry_delay`).
    pub fn fixed(max_retries: u32, delay: Duration) -> Self {
        Self {
            max_retries,
            initial_delay: delay,
            max_delay: delay,
            multiplier: 1.0,
            max_elapsed: None,
            jitter: false,
        }
    }

    /// The same policy with another retry count.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The delay bound for the `attempt`-th failure, before jitter.
    pub fn delay_bound(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let factor = self.multiplier.max(1.0).powi(exponent);
        let secs = (self.initial_delay.as_secs_f64() * factor).min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }
}

impl RetryPolicy for ExponentialBackoff {
    fn max_delay(&self) -> Option<Duration> {
        Some(self.max_delay)
    }

    fn next_delay(&self, attempt: u32, elapsed: Duration, _error: &Error) -> Option<Duration> {
        if attempt > self.max_retries {
            return None;
        }
        if self.max_elapsed.is_some_and(|max| elapsed >= max) {
            return None;
        }
        let bound = self.delay_bound(attempt);
        if !self.jitter || bound.is_zero() {
            return Some(bound);
        }
        Some(rand::rng().random_range(Duration::ZERO..=bound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Context, Operation};

    fn err() -> Error {
        Error::protocol(Context::new(Operation::Patch, None, None), "x")
    }

    #[test]
    fn backoff_grows_caps_and_gives_up() {
        let p = ExponentialBackoff {
            jitter: false,
            max_elapsed: None,
            ..ExponentialBackoff::default()
        };
        assert_eq!(
            p.next_delay(1, Duration::ZERO, &err()),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            p.next_delay(2, Duration::ZERO, &err()),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.next_delay(5, Duration::ZERO, &err()),
            Some(Duration::from_secs(8))
        );
        assert_eq!(p.next_delay(6, Duration::ZERO, &err()), None);
        let p = p.with_max_retries(100);
        assert_eq!(
            p.next_delay(60, Duration::ZERO, &err()),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn jitter_stays_under_the_bound_and_elapsed_limit_holds() {
        let p = ExponentialBackoff::default();
        for attempt in 1..=5 {
            let d = p.next_delay(attempt, Duration::ZERO, &err()).unwrap();
            assert!(d <= p.delay_bound(attempt));
        }
        assert_eq!(p.next_delay(1, Duration::from_secs(301), &err()), None);
    }
}
