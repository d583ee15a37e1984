//! The one retry path. Every request an upload makes goes through it: the upload loop (POST,
//! HEAD, PATCH) keeps an [`Attempts`] across its steps, and one-off requests (a partial
//! upload's checks, the final concatenation POST, DELETE) use [`with_retries`]. Both ask
//! [`classify`](super::classify::classify) what a failure means and wait with
//! [`Attempts::wait`], so there is one rule for giving up and one error for it
//! ([`Error::RetriesExhausted`]).

use std::future::Future;
use std::time::Instant;

use super::classify::{classify, Decision, Facts};
use super::options::Options;
use crate::error::{Context, Operation};
use crate::progress::ProgressEvent;
use crate::{Error, Result};

/// How many successful PATCHes in a row may leave the offset where it was before the upload
/// is abandoned as a protocol error (a server that never keeps anything would make the loop
/// spin forever).
const MAX_UNACKNOWLEDGED_PATCHES: u32 = 32;

/// How many times one run may start an upload over (a server that loses every upload would
/// otherwise make it create uploads forever).
const MAX_START_OVERS: u32 = 2;

/// The longest `Retry-After` honoured when the policy names no maximum.
const DEFAULT_MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// A pause every request of an upload (all parts of a parallel upload) waits out: set when a
/// server answers with `Retry-After`, so that one server asking to slow down is one pause,
/// not a retry per part.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pause {
    /// Makes the pause last at least `wait` from now.
    pub(crate) fn extend(&self, wait: std::time::Duration) {
        // A policy whose longest delay is beyond any clock: a year is as good as forever.
        let now = tokio::time::Instant::now();
        let end = now
            .checked_add(wait)
            .unwrap_or(now + std::time::Duration::from_secs(365 * 24 * 3600));
        if let Ok(mut until) = self.until.lock() {
            if until.is_none_or(|until| until < end) {
                *until = Some(end);
            }
        }
    }

    /// Waits until the pause is over (at once when there is none), unless cancelled.
    pub(crate) async fn wait_out(&self, options: &Options) -> Result<()> {
        let until = self.until.lock().ok().and_then(|until| *until);
        let Some(until) = until.filter(|until| *until > tokio::time::Instant::now()) else {
            return Ok(());
        };
        tokio::select! {
            () = tokio::time::sleep_until(until) => Ok(()),
            () = options.cancel.cancelled() => Err(Error::Cancelled {
                context: Context::new(Operation::Patch, None, None),
            }),
        }
    }
}

/// Failures counted since the last progress.
#[derive(Debug)]
pub(crate) struct Attempts {
    failures: u32,
    since_progress: Instant,
    start_overs: u32,
    unacknowledged: u32,
    /// 401s in a row (each after a refresh of the auth headers).
    unauthorized: u32,
}

impl Attempts {
    pub(crate) fn new() -> Self {
        Self {
            failures: 0,
            since_progress: Instant::now(),
            start_overs: 0,
            unacknowledged: 0,
            unauthorized: 0,
        }
    }

    /// The offset advanced: the failure count starts again.
    pub(crate) fn progressed(&mut self) {
        self.failures = 0;
        self.since_progress = Instant::now();
        self.unacknowledged = 0;
        self.unauthorized = 0;
    }

    /// A PATCH succeeded but the server kept none of its bytes: legal once in a while (a busy
    /// server), a protocol error when it never ends.
    pub(crate) fn kept_nothing(&mut self, context: Context) -> Result<()> {
        self.unacknowledged += 1;
        if self.unacknowledged > MAX_UNACKNOWLEDGED_PATCHES {
            return Err(Error::protocol(
                context,
                format!(
                    "the server kept none of the bytes of {} PATCHes in a row",
                    self.unacknowledged
                ),
            ));
        }
        Ok(())
    }

    /// What to do about `error`: [`classify`], with the start-over budget applied (past it,
    /// a start-over becomes a failure).
    pub(crate) fn decide(&mut self, error: &Error, facts: &Facts) -> Decision {
        let unauthorized = error.status() == Some(http::StatusCode::UNAUTHORIZED);
        match classify(error, facts) {
            // Refreshed headers refused again: final.
            Decision::Retry if unauthorized && self.unauthorized >= 1 => Decision::Fail,
            Decision::Retry if unauthorized => {
                self.unauthorized += 1;
                Decision::Retry
            }
            Decision::StartOver(_) if self.start_overs >= MAX_START_OVERS => Decision::Fail,
            Decision::StartOver(reason) => {
                self.start_overs += 1;
                Decision::StartOver(reason)
            }
            decision => decision,
        }
    }

    /// Asks the retry policy about one more failure: gives up with `error` (or
    /// [`Error::RetriesExhausted`] after more than one attempt), or reports
    /// [`ProgressEvent::RetryScheduled`] and waits the delay, unless cancelled meanwhile.
    pub(crate) async fn wait(
        &mut self,
        options: &Options,
        error: Error,
        operation: Operation,
    ) -> Result<()> {
        self.failures += 1;
        let failures = self.failures;
        let elapsed = self.since_progress.elapsed();
        let Some(delay) = options.retry.next_delay(failures, elapsed, &error) else {
            return Err(exhausted(failures, error));
        };
        // A server that says how long to wait (Retry-After, on 429/503) is listened to, up to
        // the policy's longest delay; every part of a parallel upload pauses with it.
        let delay = match error.retry_after() {
            Some(asked) => {
                let cap = options.retry.max_delay().unwrap_or(DEFAULT_MAX_RETRY_AFTER);
                let asked = asked.min(cap);
                options.pause.extend(asked);
                delay.max(asked)
            }
            None => delay,
        };
        tracing::info!(%error, attempt = failures, ?delay, %operation, "retrying");
        let context = error.context().cloned();
        options.emit(ProgressEvent::RetryScheduled {
            error: error.to_string(),
            attempt: failures,
            delay,
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = options.cancel.cancelled() => Err(Error::Cancelled {
                context: context.unwrap_or_else(|| Context::new(operation, None, None)),
            }),
        }
    }
}

/// The error for giving up after `attempts` attempts.
fn exhausted(attempts: u32, last: Error) -> Error {
    if attempts > 1 {
        Error::RetriesExhausted {
            attempts,
            last: Box::new(last),
        }
    } else {
        last
    }
}

/// Runs `request` until it succeeds, or until [`classify`] or the retry policy says to stop.
/// Only `Retry` decisions are retried here; anything else is the caller's to handle, so the
/// error is returned as it is. Cancellation stops the waits between attempts (a request the
/// caller asks for after cancelling, like terminating a cancelled upload, is still sent).
pub(crate) async fn with_retries<R, Fut>(
    options: &Options,
    facts: Facts,
    operation: Operation,
    mut request: impl FnMut() -> Fut,
) -> Result<R>
where
    Fut: Future<Output = Result<R>>,
{
    let mut attempts = Attempts::new();
    loop {
        let error = match request().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match attempts.decide(&error, &facts) {
            Decision::Retry => attempts.wait(options, error, operation).await?,
            _ => return Err(error),
        }
    }
}
