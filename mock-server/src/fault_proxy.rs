//! [`FaultProxy`]: a TCP proxy on 127.0.0.1 that cuts, throttles and delays connections to any
//! server, for testing how a client survives a bad network.

mod connection;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Which way bytes flow through a [`FaultProxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the upstream server: requests, and what an upload sends.
    Upstream,
    /// From the upstream server back to the client: responses.
    Downstream,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Upstream => 0,
            Direction::Downstream => 1,
        }
    }
}

/// Which connections a [`Cut`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutSchedule {
    /// The first connection to reach the limit is cut; then the cut is spent.
    Once,
    /// Every connection is cut when it reaches the limit, until the cut is cleared.
    EveryConnection,
    /// Only the `n`-th connection the proxy accepted (1-based, as counted by
    /// [`ProxyStats::connections`]); then the cut is spent.
    Connection(u64),
}

/// A connection cut: after `after` bytes have flowed in `direction` on a connection (counted
/// from the connection's start), the proxy forwards exactly that many, closes both sides and
/// forwards nothing more.
///
/// ```
/// use tusky_mock_server::{Cut, CutSchedule, Direction};
///
/// let cut = Cut::after(64 * 1024); // upstream-bound, the first connection to get there
/// assert_eq!((cut.direction, cut.schedule), (Direction::Upstream, CutSchedule::Once));
/// let cut = Cut::after(100).downstream().on_connection(3); // the 3rd connection's response
/// assert_eq!(cut.schedule, CutSchedule::Connection(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Bytes let through on the connection before it is cut (0: cut before the first byte).
    pub after: u64,
    /// Which flow is counted (and cut mid-way).
    pub direction: Direction,
    /// Which connections it applies to.
    pub schedule: CutSchedule,
}

impl Cut {
    /// Cuts the first connection that has sent `bytes` upstream ([`CutSchedule::Once`]).
    pub fn after(bytes: u64) -> Self {
        Self {
            after: bytes,
            direction: Direction::Upstream,
            schedule: CutSchedule::Once,
        }
    }

    /// Counts the bytes flowing back to the client instead (cuts a response).
    #[must_use]
    pub fn downstream(mut self) -> Self {
        self.direction = Direction::Downstream;
        self
    }

    /// Applies to every connection ([`CutSchedule::EveryConnection`]).
    #[must_use]
    pub fn every_connection(mut self) -> Self {
        self.schedule = CutSchedule::EveryConnection;
        self
    }

    /// Applies only to the `n`-th connection the proxy accepts ([`CutSchedule::Connection`]).
    #[must_use]
    pub fn on_connection(mut self, n: u64) -> Self {
        self.schedule = CutSchedule::Connection(n);
        self
    }
}

/// What a [`FaultProxy`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Connections accepted (the `n` of [`CutSchedule::Connection`] counts these).
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Bytes forwarded to the upstream server.
    pub bytes_upstream: u64,
    /// Bytes forwarded back to clients.
    pub bytes_downstream: u64,
    /// Connections closed by a [`Cut`].
    pub cuts: u64,
    /// Bytes changed by [`FaultProxy::corrupt_byte`].
    pub corruptions: u64,
}

/// A TCP proxy on 127.0.0.1 in front of any server, with faults that can be changed while it
/// runs: cut a connection after N bytes (once, on every connection, or on the n-th one),
/// throttle to a rate, delay what it forwards, or drop every connection at once; and counters
/// of what went through.
///
/// It knows nothing of HTTP: it forwards bytes. A cut lets exactly the configured number of
/// bytes through and then closes both sides, like a network that drops mid-request; the server
/// keeps whatever it does with a truncated request (real tus servers keep the bytes they got).
/// Byte counts are per connection, from its start; HTTP clients reuse connections, so they
/// include earlier requests on the same connection.
///
/// Point the client at [`url_for`](FaultProxy::url_for)`(upstream URL)`. A server that builds
/// absolute `Location`s from the `Host` header (most do) then hands out URLs through the proxy
/// too; [`TusMockServer`](crate::TusMockServer) builds them from its own address, so start it
/// with [`relative_locations(true)`](crate::TusMockServerBuilder::relative_locations) or rewrite
/// them with `url_for`.
///
/// Dropping the proxy stops it and closes every connection through it. It runs on the tokio
/// runtime that started it.
///
/// In front of a [`TusMockServer`](crate::TusMockServer), a request cut mid-body never reaches
/// the mock (wiremock reads whole bodies first) and stores nothing; wiremock's connection task
/// then prints a panic message ("Failed to read request body"), which is harmless: the server
/// goes on serving.
///
/// ```
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// use tusky_mock_server::{Cut, Direction, FaultProxy, TusMockServer};
///
/// let server = TusMockServer::start().await;
/// let proxy = FaultProxy::start(*server.address()).await?;
/// let http = reqwest::Client::new();
///
/// // Through the proxy, a server works as usual.
/// let created = http
///     .post(proxy.url_for(&server.endpoint()))
///     .header("Tus-Resumable", "1.0.0")
///     .header("Upload-Length", "100000")
///     .send()
///     .await
///     .unwrap();
/// assert_eq!(created.status(), 201);
/// let url = proxy.url_for(created.headers()["location"].to_str().unwrap());
///
/// // The next connection that has sent 20 000 bytes is cut mid-body.
/// proxy.cut(Cut::after(20_000));
/// let patched = reqwest::Client::new() // a fresh connection, counted from 0
///     .patch(&url)
///     .header("Tus-Resumable", "1.0.0")
///     .header("Content-Type", "application/offset+octet-stream")
///     .header("Upload-Offset", "0")
///     .body(vec![7u8; 100_000])
///     .send()
///     .await;
/// assert!(patched.is_err(), "the connection was cut");
/// assert_eq!(proxy.stats().cuts, 1);
/// assert_eq!(server.upload(&url).unwrap().offset, 0); // wiremock stores no partial body
///
/// // The cut is spent: this goes through, slowly (≥ 0.2 s at 100 kB/s).
/// proxy.throttle(Direction::Upstream, Some(100_000));
/// let started = std::time::Instant::now();
/// let patched = http
///     .patch(&url)
///     .header("Tus-Resumable", "1.0.0")
///     .header("Content-Type", "application/offset+octet-stream")
///     .header("Upload-Offset", "0")
///     .body(vec![7u8; 20_000])
///     .send()
///     .await
///     .unwrap();
/// assert_eq!(patched.headers()["upload-offset"], "20000");
/// assert!(started.elapsed() >= std::time::Duration::from_millis(200));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a JoinSet): aborting it ends them all.
        self.accept.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards every connection to
    /// `upstream`, with no faults.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let accept = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        Ok(Self {
            addr,
            upstream,
            shared,
            accept,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `http://127.0.0.1:PORT`, the proxy's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `url` with its host and port replaced by the proxy's (scheme, path, query and fragment
    /// kept): `http://127.0.0.1:8080/files/x` → `http://127.0.0.1:PROXY/files/x`. A bare path
    /// (`/files/x`) gets `http://127.0.0.1:PROXY` in front.
    ///
    /// # Panics
    /// If `url` is neither `scheme://authority…` nor a path starting with `/`.
    pub fn url_for(&self, url: &str) -> String {
        if url.starts_with('/') {
            return format!("{}{url}", self.url());
        }
        let Some(scheme_end) = url.find("://") else {
            panic!("FaultProxy::url_for: {url:?} is not an absolute URL or a path");
        };
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let userinfo = authority.rfind('@').map_or("", |at| &authority[..=at]);
        format!(
            "{}://{userinfo}{}{}",
            &url[..scheme_end],
            self.addr,
            &rest[authority_end..]
        )
    }

    /// Arms `cut`, replacing any pending one.
    pub fn cut(&self, cut: Cut) {
        self.shared.config().cut = Some(cut);
    }

    /// Shorthand for [`cut`](FaultProxy::cut)`(`[`Cut::after`]`(bytes))`: cuts the first
    /// connection that has sent `bytes` upstream.
    pub fn cut_after(&self, bytes: u64) {
        self.cut(Cut::after(bytes));
    }

    /// The cut still armed: `None` after [`clear_cut`](FaultProxy::clear_cut), or once a
    /// [`CutSchedule::Once`] or [`CutSchedule::Connection`] cut has happened.
    pub fn pending_cut(&self) -> Option<Cut> {
        self.shared.config().cut
    }

    /// Disarms the pending cut.
    pub fn clear_cut(&self) {
        self.shared.config().cut = None;
    }

    /// Changes one byte on its way to the server: the byte at position `at` (0-based, counted
    /// from the start of a connection, like a [`Cut`]) of the first connection whose upstream
    /// flow gets that far is inverted (`!byte`); then the fault is spent. Nothing else about the
    /// connection changes, so the server receives a well-formed request with one wrong byte:
    /// what a checksum exists to catch.
    pub fn corrupt_byte(&self, at: u64) {
        self.shared.config().corrupt = Some(at);
    }

    /// Limits each connection's flow in `direction` to `bytes_per_second` (`None`: no limit).
    /// The limit is a ceiling, never exceeded: sending X bytes takes at least X / rate seconds
    /// (a bit more, as timers round up; a slice sent late does not delay the next ones, so a
    /// long transfer runs at the rate). `Some(0)` holds the flow (a stalled connection: open,
    /// nothing moves) until the rate is changed. Applies to open connections at once.
    pub fn throttle(&self, direction: Direction, bytes_per_second: Option<u64>) {
        self.shared.config().throttle[direction.index()] = bytes_per_second;
    }

    /// Holds every piece of data flowing in `direction` for `delay` before forwarding it (added
    /// latency: throughput is unchanged). `Duration::ZERO` turns it off. Applies to data read
    /// after the call.
    pub fn delay(&self, direction: Direction, delay: Duration) {
        self.shared.config().delay[direction.index()] = delay;
    }

    /// Closes every open connection now (both sides), whatever it is doing. New connections
    /// are accepted as before.
    pub fn disconnect_all(&self) {
        self.shared
            .disconnect
            .send_modify(|generation| *generation += 1);
    }

    /// Removes every fault: no cut, no corruption, no throttle, no delay. Counters are kept.
    pub fn clear_faults(&self) {
        *self.shared.config() = Config::default();
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            connections: s.connections.load(Ordering::SeqCst),
            open_connections: s.open.load(Ordering::SeqCst),
            bytes_upstream: s.bytes[0].load(Ordering::SeqCst),
            bytes_downstream: s.bytes[1].load(Ordering::SeqCst),
            cuts: s.cuts.load(Ordering::SeqCst),
            corruptions: s.corruptions.load(Ordering::SeqCst),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Config {
    cut: Option<Cut>,
    /// The upstream position of the byte [`FaultProxy::corrupt_byte`] changes.
    corrupt: Option<u64>,
    throttle: [Option<u64>; 2],
    delay: [Duration; 2],
}

#[derive(Debug)]
struct Shared {
    config: Mutex<Config>,
    connections: AtomicU64,
    open: AtomicU64,
    bytes: [AtomicU64; 2],
    cuts: AtomicU64,
    corruptions: AtomicU64,
    disconnect: watch::Sender<u64>,
}

impl Shared {
    fn new() -> Self {
        Self {
            config: Mutex::new(Config::default()),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            bytes: [AtomicU64::new(0), AtomicU64::new(0)],
            cuts: AtomicU64::new(0),
            corruptions: AtomicU64::new(0),
            disconnect: watch::channel(0).0,
        }
    }

    fn config(&self) -> MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connection `conn` has let `total` bytes through in `direction` and just read `len` more:
    /// if a cut applies, consumes it (unless it is for every connection) and returns how many
    /// of the `len` bytes may still go through before the connection is closed.
    fn check_cut(&self, direction: Direction, conn: u64, total: u64, len: u64) -> Option<u64> {
        let mut config = self.config();
        let cut = config.cut?;
        let applies = cut.direction == direction
            && match cut.schedule {
                CutSchedule::Once | CutSchedule::EveryConnection => true,
                CutSchedule::Connection(n) => n == conn,
            };
        if !applies || total + len < cut.after {
            return None;
        }
        if cut.schedule != CutSchedule::EveryConnection {
            config.cut = None;
        }
        Some(cut.after.saturating_sub(total).min(len))
    }

    /// A connection has let `total` bytes through in `direction` and just read `len` more: the
    /// index among those `len` of the byte to corrupt, if any (the fault is then spent).
    fn check_corrupt(&self, direction: Direction, total: u64, len: u64) -> Option<usize> {
        if direction != Direction::Upstream {
            return None;
        }
        let mut config = self.config();
        let at = config.corrupt?;
        let index = at.checked_sub(total).filter(|i| *i < len)?;
        config.corrupt = None;
        self.corruptions.fetch_add(1, Ordering::SeqCst);
        usize::try_from(index).ok()
    }

    fn throttle(&self, direction: Direction) -> Option<u64> {
        self.config().throttle[direction.index()]
    }

    fn delay(&self, direction: Direction) -> Duration {
        self.config().delay[direction.index()]
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let index = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                    connections.spawn(connection::serve(client, upstream, Arc::clone(&shared), index));
                }
                Err(error) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(%error, "FaultProxy: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
