//! [`Tap`]: the one transport decorator of the tests. It records every exchange the client
//! makes (what was sent, how it ended) and injects the transport faults it is told to: refused
//! or lost requests, interference by another client, hangs, a slow link, and requests held
//! until a condition holds (to put requests in a given order without timing them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, Method};
use tusky::transport::{
    Body, Request, ReqwestTransport, Response, Transport, TransportError, TransportErrorKind,
    TransportOptions,
};
use tusky::Client;

/// How one request ended, as the client's transport saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still in flight, or dropped by the client before it ended (a stall, a cancellation).
    Pending,
    /// The server answered.
    Answered {
        status: u16,
        /// The answer's `Upload-Offset`.
        offset: Option<u64>,
    },
    /// The transport failed.
    Failed(TransportErrorKind),
}

/// One request the client sent.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    pub url: url::Url,
    /// The path of `url` (servers and proxies differ in host, never in path).
    pub path: String,
    /// The request's `Upload-Offset`.
    pub offset: Option<u64>,
    /// Whether the request carried `Upload-Checksum`.
    pub checksum: bool,
    /// The request's `Upload-Concat`.
    pub concat: Option<String>,
    /// The request's `Upload-Length`.
    pub length: Option<u64>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    pub body_len: u64,
    pub outcome: Outcome,
    /// The answer's `Location`.
    pub location: Option<String>,
    /// The status the server answered, also when the answer was then lost to the client.
    pub server_status: Option<u16>,
}

impl Exchange {
    /// The answer's status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Answered { status, .. } => Some(status),
            _ => None,
        }
    }

    /// The answer's `Upload-Offset`, if the server answered with one.
    pub fn answered_offset(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Answered { offset, .. } => offset,
            _ => None,
        }
    }
}

/// A fault the [`Tap`] injects into one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fails without sending: the server never sees the request.
    Refuse(TransportErrorKind),
    /// Sends the request (the server processes it), then loses the answer.
    LoseAnswer(TransportErrorKind),
    /// Before sending, another client appends `bytes` bytes of `source` at the request's
    /// `Upload-Offset`, so that the request arrives at a stale offset (a real 409).
    Interfere { source: Arc<Vec<u8>>, bytes: u64 },
    /// Never answers (until the client drops the request).
    Hang,
    /// A slow link: the body goes out at this many bytes per second (a streamed body piece by
    /// piece, a body held in memory all at once).
    SlowLink { bytes_per_second: u64 },
    /// Holds the request back until the condition holds, then sends it.
    HoldUntil(Condition),
    /// Sends the request in the background with the rest of its body held after the first
    /// piece until `release` holds, and loses its answer at once: the client sees `kind`
    /// while the server is still receiving the body. The server's answer to it, when it
    /// comes, is logged (`server_status`, `location`).
    Detach {
        kind: TransportErrorKind,
        release: Condition,
    },
}

/// A condition on the exchanges so far (and whatever the closure looks at), waited for with a
/// deadline: not holding by then fails the test with `what`.
#[derive(Clone)]
pub struct Condition {
    pub what: &'static str,
    pub within: Duration,
    pub holds: Predicate,
}

/// Whether a condition holds, given the exchanges so far.
pub type Predicate = Arc<dyn Fn(&[Exchange]) -> bool + Send + Sync>;

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condition")
            .field("what", &self.what)
            .field("within", &self.within)
            .finish_non_exhaustive()
    }
}

/// Which requests a fault set with [`Tap::on_matching`] applies to: the request, and the
/// exchanges before it.
type Matcher = Arc<dyn Fn(&Request, &[Exchange]) -> bool + Send + Sync>;

/// What [`Tap::on_sending`] calls.
type Watcher = Arc<dyn Fn(&Request, &[Exchange]) + Send + Sync>;

#[derive(Default)]
struct TapState {
    log: Mutex<Vec<Exchange>>,
    counts: Mutex<HashMap<Method, u64>>,
    scheduled: Mutex<HashMap<(Method, u64), Fault>>,
    every: Mutex<HashMap<Method, Fault>>,
    matching: Mutex<Vec<(Matcher, Fault)>>,
    /// Called with every request about to be sent.
    watchers: Mutex<Vec<Watcher>>,
    /// Requests under way (sent, not yet answered or dropped), and the most there ever were.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// Counts a request as under way while it lives.
struct UnderWay<'a>(&'a TapState);

impl<'a> UnderWay<'a> {
    fn start(state: &'a TapState) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.most_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A transport decorator that records every exchange and injects the faults it is told to.
/// Clones share the log and the faults.
#[derive(Clone)]
pub struct Tap<T = ReqwestTransport> {
    inner: T,
    state: Arc<TapState>,
}

impl Tap {
    /// A tap over a default reqwest transport.
    pub fn reqwest() -> Self {
        Self::over(ReqwestTransport::new(TransportOptions::default()).unwrap())
    }

    /// A tap over a reqwest transport with this read timeout.
    pub fn with_read_timeout(timeout: Duration) -> Self {
        let mut options = TransportOptions::default();
        options.read_timeout = timeout;
        Self::over(ReqwestTransport::new(options).unwrap())
    }
}

impl<T: Transport + Clone> Tap<T> {
    pub fn over(inner: T) -> Self {
        Self {
            inner,
            state: Arc::default(),
        }
    }

    /// A client for `endpoint` over this tap.
    pub fn client(&self, endpoint: &str) -> Client<Tap<T>> {
        Client::builder()
            .endpoint(endpoint)
            .build_with_transport(self.clone())
            .unwrap()
    }

    /// The `n`-th (1-based) request with `method` gets `fault`.
    pub fn on(&self, method: Method, n: u64, fault: Fault) {
        self.state
            .scheduled
            .lock()
            .unwrap()
            .insert((method, n), fault);
    }

    /// Every request with `method` gets `fault` (scheduled faults take precedence).
    pub fn on_every(&self, method: Method, fault: Fault) {
        self.state.every.lock().unwrap().insert(method, fault);
    }

    /// Every request for which `which` holds (given the request and the exchanges before it)
    /// gets `fault` (faults by number or by method take precedence).
    pub fn on_matching(
        &self,
        which: impl Fn(&Request, &[Exchange]) -> bool + Send + Sync + 'static,
        fault: Fault,
    ) {
        self.state
            .matching
            .lock()
            .unwrap()
            .push((Arc::new(which), fault));
    }

    /// Calls `watch` with every request about to be sent and the exchanges before it: to arm
    /// a fault elsewhere (in a proxy, in the server) for that very request, or to look at
    /// something (a store file) as it is when the request goes out.
    pub fn on_sending(&self, watch: impl Fn(&Request, &[Exchange]) + Send + Sync + 'static) {
        self.state.watchers.lock().unwrap().push(Arc::new(watch));
    }

    /// The most requests (OPTIONS included) that were under way at once.
    pub fn most_in_flight(&self) -> usize {
        self.state.most_in_flight.load(Ordering::SeqCst)
    }

    /// Every exchange so far, in the order the requests started.
    pub fn log(&self) -> Vec<Exchange> {
        self.state.log.lock().unwrap().clone()
    }

    /// The logged exchanges with `method`.
    pub fn of(&self, method: &Method) -> Vec<Exchange> {
        self.log()
            .into_iter()
            .filter(|e| e.method == *method)
            .collect()
    }

    /// The exchanges apart from OPTIONS, one line each, for assertion messages.
    pub fn transcript(&self) -> String {
        self.log()
            .iter()
            .filter(|e| e.method != Method::OPTIONS)
            .map(|e| {
                format!(
                    "{} {} {:?} ({} bytes) -> {:?}",
                    e.method, e.path, e.offset, e.body_len, e.outcome
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn begin(&self, request: &Request) -> (usize, Option<Fault>) {
        let watchers = self.state.watchers.lock().unwrap().clone();
        if !watchers.is_empty() {
            let log = self.log();
            for watch in watchers {
                watch(request, &log);
            }
        }
        let n = {
            let mut counts = self.state.counts.lock().unwrap();
            let n = counts.entry(request.method.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let fault = self
            .state
            .scheduled
            .lock()
            .unwrap()
            .remove(&(request.method.clone(), n))
            .or_else(|| {
                let every = self.state.every.lock().unwrap();
                every.get(&request.method).cloned()
            })
            .or_else(|| self.matching_fault(request));
        let mut log = self.state.log.lock().unwrap();
        log.push(Exchange {
            method: request.method.clone(),
            url: request.url.clone(),
            path: request.url.path().to_owned(),
            offset: header_u64(&request.headers, "upload-offset"),
            checksum: request.headers.contains_key("upload-checksum"),
            concat: header_text(&request.headers, "upload-concat"),
            length: header_u64(&request.headers, "upload-length"),
            idempotency_key: header_text(&request.headers, "idempotency-key"),
            body_len: request.body.len(),
            outcome: Outcome::Pending,
            location: None,
            server_status: None,
        });
        (log.len() - 1, fault)
    }

    fn matching_fault(&self, request: &Request) -> Option<Fault> {
        let log = self.log();
        let matching = self.state.matching.lock().unwrap();
        matching
            .iter()
            .find(|(which, _)| which(request, &log))
            .map(|(_, fault)| fault.clone())
    }

    /// Records how the request at `index` ended: as `result` says, unless its answer is `lost`.
    fn end(
        &self,
        index: usize,
        result: &Result<Response, TransportError>,
        lost: Option<TransportErrorKind>,
    ) {
        let mut log = self.state.log.lock().unwrap();
        let exchange = &mut log[index];
        if let Ok(response) = result {
            exchange.location = header_text(&response.headers, "location");
            exchange.server_status = Some(response.status.as_u16());
        }
        exchange.outcome = match (result, lost) {
            (_, Some(kind)) => Outcome::Failed(kind),
            (Ok(response), None) => Outcome::Answered {
                status: response.status.as_u16(),
                offset: header_u64(&response.headers, "upload-offset"),
            },
            (Err(error), None) => Outcome::Failed(error.kind()),
        };
    }
}

/// Another client's PATCH of `bytes` bytes of `source` at the offset of `request`.
fn sneak_patch(request: &Request, source: &[u8], bytes: u64) -> Request {
    let offset = header_u64(&request.headers, "upload-offset").unwrap() as usize;
    let end = (offset + bytes as usize).min(source.len());
    let mut headers = request.headers.clone();
    headers.remove("upload-checksum");
    headers.remove("upload-length");
    Request::new(
        Method::PATCH,
        request.url.clone(),
        headers,
        Body::Bytes(Bytes::copy_from_slice(&source[offset..end])),
    )
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_text(headers, name).and_then(|v| v.trim().parse().ok())
}

fn injected(kind: TransportErrorKind) -> TransportError {
    TransportError::new(kind, "injected by the test transport")
}

/// How long `bytes` bytes take on a link of `bytes_per_second`.
fn pace(bytes: usize, bytes_per_second: u64) -> Duration {
    Duration::from_secs_f64(bytes as f64 / bytes_per_second as f64)
}

/// A streamed body going out at `bytes_per_second`, piece by piece (other bodies as they are).
fn slow(body: Body, bytes_per_second: u64) -> Body {
    match body {
        Body::Stream { length, stream } => {
            // This sleep is the slow link itself: each piece takes its time on the wire.
            let slow = stream.then(move |piece| async move {
                let len = piece.as_ref().map_or(0, |piece| piece.len());
                tokio::time::sleep(pace(len, bytes_per_second)).await;
                piece
            });
            Body::Stream {
                length,
                stream: Box::pin(slow),
            }
        }
        other => other,
    }
}

/// `body` with everything after its first piece held until `release` holds over `tap`'s log
/// (a body in memory goes as two pieces, its first half first).
fn held_after_first_piece<T: Transport + Clone>(
    body: Body,
    release: Condition,
    tap: Tap<T>,
) -> Body {
    let (length, pieces) = match body {
        Body::Empty => return Body::Empty,
        Body::Bytes(bytes) => {
            let half = bytes.slice(..bytes.len() / 2);
            let rest = bytes.slice(bytes.len() / 2..);
            let pieces = futures_util::stream::iter([Ok(half), Ok(rest)]);
            (
                bytes.len() as u64,
                Box::pin(pieces) as tusky::transport::BodyStream,
            )
        }
        Body::Stream { length, stream } => (length, stream),
    };
    let mut first = true;
    let held = pieces.then(move |piece| {
        let hold = !std::mem::replace(&mut first, false);
        let (release, tap) = (release.clone(), tap.clone());
        async move {
            if hold {
                let holds = &release.holds;
                super::wait_until(release.what, release.within, || async { holds(&tap.log()) })
                    .await;
            }
            piece
        }
    });
    Body::Stream {
        length,
        stream: Box::pin(held),
    }
}

#[async_trait]
impl<T: Transport + Clone> Transport for Tap<T> {
    async fn send(&self, mut request: Request) -> Result<Response, TransportError> {
        let _under_way = UnderWay::start(&self.state);
        let (index, fault) = self.begin(&request);
        let mut lose = None;
        match fault {
            None => {}
            Some(Fault::Refuse(kind)) => {
                let refused = Err(injected(kind));
                self.end(index, &refused, None);
                return refused;
            }
            Some(Fault::LoseAnswer(kind)) => lose = Some(kind),
            Some(Fault::Detach { kind, release }) => {
                let body = std::mem::replace(&mut request.body, Body::Empty);
                request.body = held_after_first_piece(body, release, self.clone());
                let tap = self.clone();
                tokio::spawn(async move {
                    let result = tap.inner.send(request).await;
                    tap.end(index, &result, Some(kind));
                });
                return Err(injected(kind));
            }
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::HoldUntil(condition)) => {
                let holds = &condition.holds;
                super::wait_until(condition.what, condition.within, || async {
                    holds(&self.log())
                })
                .await;
            }
            Some(Fault::Interfere { source, bytes }) => {
                let sneak = sneak_patch(&request, &source, bytes);
                let answer = self.inner.send(sneak).await.unwrap();
                assert_eq!(answer.status, 204, "the interfering PATCH failed");
            }
            Some(Fault::SlowLink { bytes_per_second }) => {
                let held = match &request.body {
                    Body::Bytes(bytes) => bytes.len(),
                    _ => 0,
                };
                // The slow link: a body held in memory takes its time all at once.
                tokio::time::sleep(pace(held, bytes_per_second)).await;
                let body = std::mem::replace(&mut request.body, Body::Empty);
                request.body = slow(body, bytes_per_second);
            }
        }
        let result = self.inner.send(request).await;
        self.end(index, &result, lose);
        match lose {
            Some(kind) => Err(injected(kind)),
            None => result,
        }
    }
}

/// Checks that the failed exchange `failed` (an index into `log`) is followed by a HEAD and
/// then by a PATCH from exactly the offset that HEAD answered; returns that offset.
pub fn assert_resynced(log: &[Exchange], failed: usize) -> u64 {
    let rest: Vec<&Exchange> = log[failed + 1..]
        .iter()
        .filter(|e| e.method != Method::OPTIONS)
        .collect();
    let transcript = || format!("{log:#?}");
    assert!(
        rest.len() >= 2,
        "nothing after the failure:\n{}",
        transcript()
    );
    assert_eq!(
        rest[0].method,
        Method::HEAD,
        "no HEAD after the failure:\n{}",
        transcript()
    );
    let head_offset = rest[0]
        .answered_offset()
        .unwrap_or_else(|| panic!("the HEAD got no offset:\n{}", transcript()));
    assert_eq!(rest[1].method, Method::PATCH, "{}", transcript());
    assert_eq!(
        rest[1].offset,
        Some(head_offset),
        "the PATCH after the HEAD does not start at the HEAD's offset:\n{}",
        transcript()
    );
    head_offset
}

/// The index of the `n`-th (1-based) exchange with `method`.
pub fn nth(log: &[Exchange], method: &Method, n: usize) -> usize {
    log.iter()
        .enumerate()
        .filter(|(_, e)| e.method == *method)
        .nth(n - 1)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {method} number {n} in {log:#?}"))
}
