//! What every retry-engine test uses: test data, a progress recorder, a transport decorator
//! ([`Tap`]) that records each exchange and injects transport failures, and a TCP proxy
//! ([`BreakingProxy`]) that breaks real connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tusky::transport::{
    Body, Request, ReqwestTransport, Response, Transport, TransportError, TransportErrorKind,
    TransportOptions,
};
use tusky::{Client, ProgressEvent};
use tusky_mock_server::TusMockServer;

/// `len` bytes without a short period (splitmix64), so a byte stored at the wrong offset shows.
pub fn data(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x1234_5678_9abc_def0 ^ len as u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The bytes the server holds for `url`, or a panic naming the URL.
pub fn stored(server: &TusMockServer, url: &url::Url) -> Vec<u8> {
    server
        .upload_bytes(url.as_str())
        .unwrap_or_else(|| panic!("the server has no upload at {url}"))
}

/// Records every progress event.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<ProgressEvent>>>);

impl Events {
    pub fn callback(&self) -> impl Fn(&ProgressEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &ProgressEvent| events.lock().unwrap().push(event.clone())
    }

    pub fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }

    pub fn acknowledged(&self) -> Vec<u64> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::Acknowledged { offset, .. } => Some(offset),
                _ => None,
            })
            .collect()
    }

    pub fn chunks(&self) -> Vec<(u64, u64)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::ChunkCompleted { start, end } => Some((start, end)),
                _ => None,
            })
            .collect()
    }

    /// `(error text, attempt, delay)` of every `RetryScheduled`.
    pub fn retries(&self) -> Vec<(String, u32, Duration)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::RetryScheduled {
                    error,
                    attempt,
                    delay,
                } => Some((error, attempt, delay)),
                _ => None,
            })
            .collect()
    }

    pub fn started_over(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::StartedOver { reason } => Some(reason),
                _ => None,
            })
            .collect()
    }
}

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
    pub path: String,
    /// The request's `Upload-Offset`.
    pub offset: Option<u64>,
    /// Whether the request carried `Upload-Checksum`.
    pub checksum: bool,
    pub body_len: u64,
    pub outcome: Outcome,
}

impl Exchange {
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Answered { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn answered_offset(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Answered { offset, .. } => offset,
            _ => None,
        }
    }
}

/// A fault the [`Tap`] injects into one request.
#[derive(Clone)]
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
    /// Streams the body slowly: waits this long before handing on each piece.
    Throttle(Duration),
}

#[derive(Default)]
struct TapState {
    log: Mutex<Vec<Exchange>>,
    counts: Mutex<HashMap<Method, u64>>,
    scheduled: Mutex<HashMap<(Method, u64), Fault>>,
    every: Mutex<HashMap<Method, Fault>>,
}

/// A transport decorator that records every exchange and injects the faults it is told to.
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

    /// A client for `endpoint` over this tap (clones share the log and the faults).
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

    /// The exchanges apart from OPTIONS, as `"METHOD offset -> status offset"` lines, for
    /// assertion messages.
    pub fn transcript(&self) -> String {
        self.log()
            .iter()
            .filter(|e| e.method != Method::OPTIONS)
            .map(|e| {
                format!(
                    "{} {:?} ({} bytes) -> {:?}",
                    e.method, e.offset, e.body_len, e.outcome
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn begin(&self, request: &Request) -> (usize, Option<Fault>) {
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
                self.state
                    .every
                    .lock()
                    .unwrap()
                    .get(&request.method)
                    .cloned()
            });
        let mut log = self.state.log.lock().unwrap();
        log.push(Exchange {
            method: request.method.clone(),
            path: request.url.path().to_owned(),
            offset: header_u64(&request.headers, "upload-offset"),
            checksum: request.headers.contains_key("upload-checksum"),
            body_len: request.body.len(),
            outcome: Outcome::Pending,
        });
        (log.len() - 1, fault)
    }

    fn end(&self, index: usize, outcome: Outcome) {
        self.state.log.lock().unwrap()[index].outcome = outcome;
    }
}

fn header_u64(headers: &http::HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn injected(kind: TransportErrorKind) -> TransportError {
    TransportError::new(kind, "injected by the test transport")
}

#[async_trait]
impl<T: Transport + Clone> Transport for Tap<T> {
    async fn send(&self, mut request: Request) -> Result<Response, TransportError> {
        let (index, fault) = self.begin(&request);
        let mut lose = None;
        match fault {
            None => {}
            Some(Fault::Refuse(kind)) => {
                self.end(index, Outcome::Failed(kind));
                return Err(injected(kind));
            }
            Some(Fault::LoseAnswer(kind)) => lose = Some(kind),
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Interfere { source, bytes }) => {
                let offset = header_u64(&request.headers, "upload-offset").unwrap() as usize;
                let end = (offset + bytes as usize).min(source.len());
                let mut headers = request.headers.clone();
                headers.remove("upload-checksum");
                headers.remove("upload-length");
                let sneak = Request::new(
                    Method::PATCH,
                    request.url.clone(),
                    headers,
                    Body::Bytes(Bytes::copy_from_slice(&source[offset..end])),
                );
                let answer = self.inner.send(sneak).await.unwrap();
                assert_eq!(answer.status, 204, "the interfering PATCH failed");
            }
            Some(Fault::Throttle(per_piece)) => {
                if let Body::Stream { length, stream } = request.body {
                    let slow = stream.then(move |piece| async move {
                        tokio::time::sleep(per_piece).await;
                        piece
                    });
                    request.body = Body::Stream {
                        length,
                        stream: Box::pin(slow),
                    };
                }
            }
        }
        let result = self.inner.send(request).await;
        let outcome = match (&result, lose) {
            (_, Some(kind)) => Outcome::Failed(kind),
            (Ok(response), None) => Outcome::Answered {
                status: response.status.as_u16(),
                offset: header_u64(&response.headers, "upload-offset"),
            },
            (Err(error), None) => Outcome::Failed(error.kind()),
        };
        self.end(index, outcome);
        match lose {
            Some(kind) => Err(injected(kind)),
            None => result,
        }
    }
}

/// What [`BreakingProxy`] does to one PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Closes the connection as soon as the request starts: the server never sees it whole.
    Reset,
    /// Forwards the request, then closes the connection instead of forwarding the answer.
    LoseAnswer,
}

#[derive(Default)]
struct ProxyState {
    patches: AtomicU64,
    breaks: Mutex<HashMap<u64, Break>>,
    broken: AtomicU64,
}

/// A TCP proxy in front of a mock server that breaks the connection of chosen PATCHes, for
/// network errors a real transport has to classify. The mock must answer relative
/// `Location`s, so that the client keeps talking through the proxy.
pub struct BreakingProxy {
    address: SocketAddr,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl BreakingProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState::default());
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, Arc::clone(&shared)));
            }
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// The creation endpoint through the proxy (the mock's base path must be `/files/`).
    pub fn endpoint(&self) -> String {
        format!("http://{}/files/", self.address)
    }

    /// The `n`-th PATCH through the proxy (1-based) is broken this way.
    pub fn break_patch(&self, n: u64, how: Break) {
        self.state.breaks.lock().unwrap().insert(n, how);
    }

    /// How many connections were broken.
    pub fn broken(&self) -> u64 {
        self.state.broken.load(Ordering::SeqCst)
    }
}

impl Drop for BreakingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection. HTTP/1.1 clients send a request only after the previous answer, so a
/// request starts at the beginning of a read: that is where PATCHes are counted.
async fn relay(client: TcpStream, upstream: SocketAddr, state: Arc<ProxyState>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let lose_answer = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            if buf[..n].starts_with(b"PATCH ") {
                let number = state.patches.fetch_add(1, Ordering::SeqCst) + 1;
                match state.breaks.lock().unwrap().remove(&number) {
                    Some(Break::Reset) => {
                        state.broken.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    Some(Break::LoseAnswer) => lose_answer.store(true, Ordering::SeqCst),
                    None => {}
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            if lose_answer.load(Ordering::SeqCst) {
                state.broken.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first, both connections are dropped (closed) together.
    tokio::select! {
        () = up => {}
        () = down => {}
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

/// A local port nothing listens on.
pub async fn refusing_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
