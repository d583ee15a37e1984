//! [`TusMockServer`]: start it, point a client at [`endpoint`](TusMockServer::endpoint),
//! inspect what it received and stored, inject faults.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request};

use super::builder::{Config, TusMockServerBuilder};
use super::faults::{PatchAction, PatchHook};
use super::responder::{effective_method, Shared, TusResponder};
use crate::snapshot::UploadSnapshot;
use crate::tus::upload_id::id_from;

/// The priority of the stateful tus mock: the lowest wiremock has, so that every
/// mock you mount on [`TusMockServer::wiremock`] (default priority 5) wins over it.
pub const STATEFUL_MOCK_PRIORITY: u8 = u8::MAX;

/// A strict, stateful tus 1.0 server on top of a wiremock [`MockServer`].
///
/// See the [crate documentation](crate) for an example and the status codes it
/// answers. Every method takes `&self`: faults can be added while a client runs.
pub struct TusMockServer {
    wiremock: MockServer,
    shared: Arc<Shared>,
}

impl fmt::Debug for TusMockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TusMockServer")
            .field("endpoint", &self.shared.endpoint)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl TusMockServer {
    /// Starts a server with every extension on, no maximum size, the checksum
    /// algorithms `sha1,sha256,sha512,md5,crc32`, no expiry, at `/files/`.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A builder for a server configured otherwise.
    pub fn builder() -> TusMockServerBuilder {
        TusMockServerBuilder::new()
    }

    pub(crate) async fn start_with(
        config: Config,
        listener: Option<std::net::TcpListener>,
    ) -> Self {
        let wiremock = if listener.is_none() && config.record_requests {
            MockServer::start().await
        } else {
            let mut builder = MockServer::builder();
            if let Some(listener) = listener {
                builder = builder.listener(listener);
            }
            if !config.record_requests {
                builder = builder.disable_request_recording();
            }
            builder.start().await
        };
        let endpoint = format!("{}{}", wiremock.uri(), config.protocol.base_path);
        let shared = Arc::new(Shared::new(config, endpoint));
        let server = TusMockServer { wiremock, shared };
        server.mount_stateful_mock().await;
        server
    }

    async fn mount_stateful_mock(&self) {
        Mock::given(any())
            .respond_with(TusResponder {
                shared: Arc::clone(&self.shared),
            })
            .with_priority(STATEFUL_MOCK_PRIORITY)
            .named("tusky-mock-server: stateful tus 1.0 server")
            .mount(&self.wiremock)
            .await;
    }

    /// The creation endpoint, e.g. `http://127.0.0.1:41234/files/`.
    pub fn endpoint(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// The server's base URI, e.g. `http://127.0.0.1:41234` (as wiremock's
    /// [`MockServer::uri`]).
    pub fn uri(&self) -> String {
        self.wiremock.uri()
    }

    /// The socket address the server listens on.
    pub fn address(&self) -> &SocketAddr {
        self.wiremock.address()
    }

    /// The underlying wiremock server, to mount your own mocks on.
    ///
    /// The stateful tus mock has the lowest priority ([`STATEFUL_MOCK_PRIORITY`]),
    /// so any mock you mount (wiremock's default priority is 5; 1 is the highest)
    /// answers the requests it matches instead; with `up_to_n_times` it does so only
    /// that often and the tus behaviour resumes. Such requests are not seen by the
    /// stateful mock: they store nothing and do not count for
    /// [`fail_patch`](Self::fail_patch) and friends. wiremock matches on the real
    /// HTTP method, not on `X-HTTP-Method-Override`.
    ///
    /// Do not call [`MockServer::reset`] on it (that unmounts the tus mock too): use
    /// [`TusMockServer::reset`].
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use tusky_mock_server::TusMockServer;
    /// use wiremock::matchers::method;
    /// use wiremock::{Mock, ResponseTemplate};
    ///
    /// let server = TusMockServer::start().await;
    /// // The first PATCH gets a 500; later ones reach the tus server.
    /// Mock::given(method("PATCH"))
    ///     .respond_with(ResponseTemplate::new(500))
    ///     .up_to_n_times(1)
    ///     .with_priority(1)
    ///     .mount(server.wiremock())
    ///     .await;
    /// # }
    /// ```
    pub fn wiremock(&self) -> &MockServer {
        &self.wiremock
    }

    /// Every upload ever created (terminated and expired ones included), in
    /// creation order.
    pub fn uploads(&self) -> Vec<UploadSnapshot> {
        let now = SystemTime::now();
        let state = self.shared.state();
        state
            .all()
            .iter()
            .map(|u| UploadSnapshot::new(&u.info, &self.shared.endpoint, now))
            .collect()
    }

    /// One upload, by absolute URL, path or id.
    pub fn upload(&self, url_or_id: &str) -> Option<UploadSnapshot> {
        let state = self.shared.state();
        state
            .get(id_from(url_or_id))
            .map(|u| UploadSnapshot::new(&u.info, &self.shared.endpoint, SystemTime::now()))
    }

    /// The bytes stored for an upload (by absolute URL, path or id): for a final
    /// concatenated upload, the concatenation of its partial uploads. `None` for an
    /// unknown or terminated upload; an expired upload still shows what it had.
    pub fn upload_bytes(&self, url_or_id: &str) -> Option<Vec<u8>> {
        let state = self.shared.state();
        state
            .get(id_from(url_or_id))
            .filter(|u| !u.info.terminated)
            .map(|u| u.data.clone())
    }

    /// Every request the server received, in order (wiremock's record, so requests
    /// answered by your own mocks are included).
    pub async fn received_requests(&self) -> Vec<Request> {
        self.wiremock.received_requests().await.unwrap_or_default()
    }

    /// The received requests whose effective method is `method` (case-insensitive;
    /// a `POST` with `X-HTTP-Method-Override: PATCH` counts as a `PATCH`).
    pub async fn requests_by_method(&self, method: &str) -> Vec<Request> {
        let wanted = method.to_ascii_uppercase();
        self.received_requests()
            .await
            .into_iter()
            .filter(|r| effective_method(r).is_ok_and(|m| m == wanted))
            .collect()
    }

    /// How many requests with effective method `method` reached the stateful tus
    /// mock (not counting those answered by your own mocks). Synchronous.
    pub fn request_count(&self, method: &str) -> u64 {
        self.shared.faults().seen(&method.to_ascii_uppercase())
    }

    /// Lets `hook` decide what happens to every later `PATCH` (replacing any previous
    /// hook). Faults scheduled for a given `PATCH` number take precedence.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};
    ///
    /// let server = TusMockServer::start().await;
    /// // Take at most 4 bytes per PATCH, and fail every third one.
    /// server.set_patch_hook(|ctx: &PatchContext| {
    ///     if ctx.number % 3 == 0 { PatchAction::Fail(503) } else { PatchAction::AcceptPartial(4) }
    /// });
    /// # }
    /// ```
    pub fn set_patch_hook(&self, hook: impl PatchHook) {
        self.shared.faults().patch_hook = Some(Arc::new(hook));
    }

    /// Removes the `PATCH` hook.
    pub fn clear_patch_hook(&self) {
        self.shared.faults().patch_hook = None;
    }

    /// The `n`-th `PATCH` (1-based, counted across the server) gets `action`.
    pub fn schedule_patch(&self, n: u64, action: PatchAction) {
        self.shared.faults().schedule("PATCH", n, action);
    }

    /// The `n`-th `PATCH` answers `status` and stores nothing.
    pub fn fail_patch(&self, n: u64, status: u16) {
        self.schedule_patch(n, PatchAction::Fail(status));
    }

    /// The `n`-th `PATCH` stores at most `bytes` bytes and answers that offset.
    pub fn accept_partial_patch(&self, n: u64, bytes: u64) {
        self.schedule_patch(n, PatchAction::AcceptPartial(bytes));
    }

    /// The `n`-th `PATCH` is processed, then answered after `delay`.
    pub fn delay_patch(&self, n: u64, delay: Duration) {
        self.schedule_patch(n, PatchAction::Delay(delay));
    }

    /// The `n`-th `PATCH` stores nothing and is answered 408 after `delay`.
    pub fn stall_patch(&self, n: u64, delay: Duration) {
        self.schedule_patch(n, PatchAction::Stall(delay));
    }

    /// The `n`-th request with effective method `method` (1-based, case-insensitive) gets
    /// `action`, as [`schedule_patch`](Self::schedule_patch) does for `PATCH`.
    ///
    /// [`PatchAction::StoreThenFail`] on a `POST` simulates a creation whose answer is lost:
    /// the upload is created (and remembers its `Idempotency-Key`), the client sees the error.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use tusky_mock_server::{PatchAction, TusMockServer};
    ///
    /// let server = TusMockServer::start().await;
    /// server.schedule_request("POST", 1, PatchAction::StoreThenFail(503));
    /// let answer = reqwest::Client::new()
    ///     .post(server.endpoint())
    ///     .header("Tus-Resumable", "1.0.0")
    ///     .header("Upload-Length", "5")
    ///     .send()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(answer.status(), 503);
    /// assert_eq!(server.uploads().len(), 1, "created all the same");
    /// # }
    /// ```
    pub fn schedule_request(&self, method: &str, n: u64, action: PatchAction) {
        self.shared.faults().schedule(method, n, action);
    }

    /// The `n`-th request with effective method `method` (1-based, case-insensitive)
    /// answers `status` and changes nothing.
    pub fn fail_request(&self, method: &str, n: u64, status: u16) {
        self.shared
            .faults()
            .schedule(method, n, PatchAction::Fail(status));
    }

    /// The `n`-th request with effective method `method` is processed, then answered
    /// after `delay`.
    pub fn delay_request(&self, method: &str, n: u64, delay: Duration) {
        self.shared
            .faults()
            .schedule(method, n, PatchAction::Delay(delay));
    }

    /// The next `POST` answers `status` and creates nothing.
    pub fn fail_next_post(&self, status: u16) {
        let mut faults = self.shared.faults();
        let n = faults.seen("POST") + 1;
        faults.schedule("POST", n, PatchAction::Fail(status));
    }

    /// While `true`, `HEAD`, `PATCH` and `DELETE` on existing uploads answer
    /// `423 Locked` (as tusd does while another request holds an upload).
    pub fn lock_uploads(&self, locked: bool) {
        self.shared.faults().locked = locked;
    }

    /// Removes the hook, every scheduled fault and the lock (the counters go on).
    pub fn clear_faults(&self) {
        let mut faults = self.shared.faults();
        faults.patch_hook = None;
        faults.scheduled.clear();
        faults.locked = false;
    }

    /// Back to just started: forgets uploads, faults, counters, your own mocks and
    /// the recorded requests (the address stays the same).
    pub async fn reset(&self) {
        self.wiremock.reset().await;
        self.shared.clear();
        self.mount_stateful_mock().await;
    }
}

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TusMockServer>();
    send_sync::<TusMockServerBuilder>();
    send_sync::<UploadSnapshot>();
    send_sync::<crate::PatchContext>();
    send_sync::<PatchAction>();
}
