//! Fault injection: the PATCH hook, scheduled faults and per-method counters.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What the server knows about a `PATCH` when it asks a [`PatchHook`] what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchContext {
    /// 1-based number of this `PATCH` among all `PATCH` requests that reached the
    /// stateful mock (a `POST` with `X-HTTP-Method-Override: PATCH` counts; requests
    /// answered by your own higher-priority wiremock mocks do not).
    pub number: u64,
    /// The upload id taken from the request path (the last path segment), whether
    /// or not such an upload exists.
    pub upload_id: String,
    /// The upload's current offset on the server, `None` if the upload is unknown.
    pub offset: Option<u64>,
    /// The upload's length on the server, `None` if unknown or deferred.
    pub upload_length: Option<u64>,
    /// The `Upload-Offset` the client sent, `None` if missing or not a number.
    pub client_offset: Option<u64>,
    /// The number of body bytes the client sent.
    pub body_len: u64,
}

/// What the server does with a `PATCH` (chosen by a [`PatchHook`] or scheduled
/// with [`TusMockServer::schedule_patch`](crate::TusMockServer::schedule_patch)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchAction {
    /// Process the request normally.
    Accept,
    /// Process the request normally but store at most this many bytes of the body
    /// (the spec allows a server to take fewer bytes than sent); the response's
    /// `Upload-Offset` tells the client how many were taken. The checksum, if any,
    /// is still verified against the whole body.
    AcceptPartial(u64),
    /// Answer this status (with `Tus-Resumable`) and store nothing. A status that is
    /// not a valid HTTP status code is answered as 500.
    Fail(u16),
    /// Process the request normally, then hold the response back for this long
    /// (the bytes are stored before the delay: a client that times out has lost
    /// only the answer).
    Delay(Duration),
    /// Store nothing and hold the response back for this long, then answer
    /// `408 Request Timeout`, as a server whose read timed out would.
    Stall(Duration),
    /// Store nothing and answer `423 Locked`, as tusd does while another request
    /// holds the upload ("retry later").
    Locked,
    /// Process the request normally (the bytes are stored), then answer this status
    /// instead of success: a server whose post-processing fails after storing.
    StoreThenFail(u16),
}

/// Decides what happens to each `PATCH`; see [`TusMockServer::set_patch_hook`].
///
/// Implemented for every `Fn(&PatchContext) -> PatchAction + Send + Sync`, so a
/// closure is enough:
///
/// ```
/// use tusky_mock_server::{PatchAction, PatchContext, PatchHook};
///
/// let hook = |ctx: &PatchContext| {
///     if ctx.number % 2 == 0 { PatchAction::Fail(503) } else { PatchAction::Accept }
/// };
/// fn takes_hook(_: impl PatchHook) {}
/// takes_hook(hook);
/// ```
///
/// The hook runs on the mock server's thread without any of the server's locks
/// held; it should return quickly (use [`PatchAction::Delay`] to slow a response).
///
/// [`TusMockServer::set_patch_hook`]: crate::TusMockServer::set_patch_hook
pub trait PatchHook: Send + Sync + 'static {
    /// Returns what to do with the `PATCH` described by `ctx`.
    fn on_patch(&self, ctx: &PatchContext) -> PatchAction;
}

impl<F> PatchHook for F
where
    F: Fn(&PatchContext) -> PatchAction + Send + Sync + 'static,
{
    fn on_patch(&self, ctx: &PatchContext) -> PatchAction {
        self(ctx)
    }
}

/// Fault state kept by the server; changed at any time through the server's methods.
#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) patch_hook: Option<Arc<dyn PatchHook>>,
    /// `(METHOD, n)` → action for the n-th request of that effective method.
    pub(crate) scheduled: HashMap<(String, u64), PatchAction>,
    /// Requests seen per effective method (uppercase).
    pub(crate) counters: HashMap<String, u64>,
    /// When set, HEAD/PATCH/DELETE on existing uploads answer 423.
    pub(crate) locked: bool,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("patch_hook", &self.patch_hook.as_ref().map(|_| "<hook>"))
            .field("scheduled", &self.scheduled)
            .field("counters", &self.counters)
            .field("locked", &self.locked)
            .finish()
    }
}

impl Faults {
    /// Counts a request and returns its 1-based number for its method.
    pub(crate) fn count(&mut self, method: &str) -> u64 {
        let n = self.counters.entry(method.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// How many requests of `method` (uppercase) were seen.
    pub(crate) fn seen(&self, method: &str) -> u64 {
        self.counters.get(method).copied().unwrap_or(0)
    }

    /// Takes the scheduled action for the n-th request of `method`, if any
    /// (each scheduled fault fires once).
    pub(crate) fn take_scheduled(&mut self, method: &str, n: u64) -> Option<PatchAction> {
        self.scheduled.remove(&(method.to_owned(), n))
    }

    /// Schedules `action` for the n-th request of `method`.
    pub(crate) fn schedule(&mut self, method: &str, n: u64, action: PatchAction) {
        self.scheduled
            .insert((method.to_ascii_uppercase(), n), action);
    }
}
