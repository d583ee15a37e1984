//! What every interop test needs: the servers from `target/interop.env` (or a visible skip),
//! deterministic source files, byte comparison with a server's data directory, and a
//! transport that records what tusky sent.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tusky::transport::{
    Request, ReqwestTransport, Response, Transport, TransportError, TransportOptions,
};
use tusky::{Client, ProgressEvent};

/// Set to `1` in CI: a missing server is then a failure, never a skip.
pub const REQUIRED: &str = "TUSKY_INTEROP_REQUIRED";

/// Reads `names` from the environment. All set: their values. Any missing: with
/// `TUSKY_INTEROP_REQUIRED=1` a panic (the test fails), else a visible skip message on stderr
/// and `None` (the test returns and passes).
pub fn env_or_skip(names: &[&str]) -> Option<Vec<String>> {
    let values: Vec<Option<String>> = names
        .iter()
        .map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Some(values.into_iter().flatten().collect());
    }
    if std::env::var(REQUIRED).as_deref() == Ok("1") {
        panic!(
            "{REQUIRED}=1 but {} not set: start the servers with \
             `scripts/interop-servers.sh start && source target/interop.env`",
            missing.join(", ")
        );
    }
    // Straight to stderr, not `eprintln!`: libtest captures the macros' output of passing
    // tests, and a skip must show in a plain `cargo test`.
    let _ = writeln!(
        io::stderr(),
        "skipping: interop servers not running (scripts/interop-servers.sh start) [{} not set]",
        missing.join(", ")
    );
    None
}

/// The real servers of `scripts/interop-servers.sh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// @tus/server + FileStore, no expiry.
    Node,
    /// The same with `EXPIRE_MS`.
    NodeExpiring,
    /// tuspyserver.
    Py,
}

/// One running server: where to create uploads and where it keeps their bytes.
#[derive(Debug, Clone)]
pub struct Server {
    pub kind: Kind,
    pub endpoint: String,
    pub data_dir: PathBuf,
}

/// The server `kind`, or `None` after a visible skip (see [`env_or_skip`]). Panics when the
/// variables are set but the server does not accept connections: that is never a skip.
pub fn server(kind: Kind) -> Option<Server> {
    let names: &[&str] = match kind {
        Kind::Node => &["TUSKY_INTEROP_NODE_ENDPOINT", "TUSKY_INTEROP_NODE_DATA_DIR"],
        Kind::NodeExpiring => &[
            "TUSKY_INTEROP_NODE_EXPIRING_ENDPOINT",
            "TUSKY_INTEROP_NODE_EXPIRING_DATA_DIR",
            "TUSKY_INTEROP_NODE_EXPIRE_MS",
        ],
        Kind::Py => &["TUSKY_INTEROP_PY_ENDPOINT", "TUSKY_INTEROP_PY_DATA_DIR"],
    };
    let values = env_or_skip(names)?;
    let server = Server {
        kind,
        endpoint: values[0].clone(),
        data_dir: PathBuf::from(&values[1]),
    };
    let addr = server.addr();
    if let Err(error) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!(
            "{} is set to {} but nothing answers on {addr} ({error}): \
             is `scripts/interop-servers.sh start` still running?",
            names[0], server.endpoint
        );
    }
    Some(server)
}

/// `TUSKY_INTEROP_NODE_EXPIRE_MS`, once [`server`]`(Kind::NodeExpiring)` has succeeded.
pub fn expire_ms() -> u64 {
    std::env::var("TUSKY_INTEROP_NODE_EXPIRE_MS")
        .expect("TUSKY_INTEROP_NODE_EXPIRE_MS")
        .parse()
        .expect("TUSKY_INTEROP_NODE_EXPIRE_MS is a number of ms")
}

impl Server {
    /// The server's `host:port`, from its endpoint.
    pub fn addr(&self) -> SocketAddr {
        let url = url::Url::parse(&self.endpoint).expect("the endpoint is a URL");
        let host = url.host_str().expect("the endpoint has a host");
        let port = url
            .port_or_known_default()
            .expect("the endpoint has a port");
        (host, port)
            .to_socket_addrs()
            .expect("the endpoint's host resolves")
            .next()
            .expect("an address")
    }

    pub fn client(&self) -> Client {
        Client::new(&self.endpoint).expect("a client for the endpoint")
    }

    /// Where the server keeps the bytes of the upload at `url`: `<DATA_DIR>/<id>`, the id
    /// being the URL's last path segment (both servers, see tests/interop/README.md).
    pub fn data_file(&self, url: &str) -> PathBuf {
        let url = url::Url::parse(url).expect("an upload URL");
        let id = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("{url} has no upload id"));
        self.data_dir.join(id)
    }

    /// Asserts that the server's data file for `url` holds exactly the bytes of `source`.
    pub fn assert_holds_file(&self, url: &str, source: &Path) {
        let stored = self.data_file(url);
        assert_same_bytes(
            &mut open(&stored),
            &mut open(source),
            &format!(
                "{:?} {} vs {}",
                self.kind,
                stored.display(),
                source.display()
            ),
        );
    }

    /// Asserts that the server's data file for `url` holds exactly `bytes`.
    pub fn assert_holds(&self, url: &str, bytes: &[u8]) {
        let stored = self.data_file(url);
        assert_same_bytes(
            &mut open(&stored),
            &mut io::Cursor::new(bytes),
            &format!("{:?} {} vs the source", self.kind, stored.display()),
        );
    }
}

fn open(path: &Path) -> std::fs::File {
    std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// Compares two byte streams block by block (never holding either whole) and panics with the
/// first differing offset and both lengths.
pub fn assert_same_bytes(stored: &mut impl Read, expected: &mut impl Read, what: &str) {
    const BLOCK: usize = 1024 * 1024;
    let (mut a, mut b) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    let mut offset = 0u64;
    loop {
        let got = read_block(stored, &mut a);
        let want = read_block(expected, &mut b);
        if let Some(i) = a[..got].iter().zip(&b[..want]).position(|(x, y)| x != y) {
            panic!("{what}: bytes differ at offset {}", offset + i as u64);
        }
        if got != want {
            let (longer, extra) = if got > want {
                (
                    "the server's file",
                    count_rest(stored) + (got - want) as u64,
                )
            } else {
                ("the source", count_rest(expected) + (want - got) as u64)
            };
            panic!(
                "{what}: the first {} bytes agree, then {longer} has {extra} more",
                offset + got.min(want) as u64
            );
        }
        if got == 0 {
            return;
        }
        offset += got as u64;
    }
}

fn read_block(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading: {e}"),
        }
    }
    filled
}

fn count_rest(reader: &mut impl Read) -> u64 {
    io::copy(reader, &mut io::sink()).unwrap_or(0)
}

/// Deterministic pseudo-random bytes (splitmix64 of the position's block), so a repeated,
/// shifted or zeroed block shows in a comparison.
pub struct Noise {
    state: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes from `seed`, in memory.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    Noise::new(seed).fill(&mut bytes);
    bytes
}

/// Writes `len` pseudo-random bytes from `seed` to `dir/name` in 1 MiB blocks; returns the path.
pub fn noise_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut file = io::BufWriter::new(std::fs::File::create(&path).expect("create a source file"));
    let mut noise = Noise::new(seed);
    let mut block = vec![0u8; 1024 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        noise.fill(&mut block[..n]);
        file.write_all(&block[..n]).expect("write a source file");
        left -= n as u64;
    }
    file.flush().expect("flush a source file");
    path
}

/// One request tusky sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub body_len: u64,
    /// `Upload-Concat` of the request.
    pub concat: Option<String>,
    /// `None` when the transport failed.
    pub status: Option<u16>,
    pub location: Option<String>,
    /// `Upload-Offset` of the answer.
    pub offset: Option<u64>,
}

/// A transport that records every exchange, over the default reqwest transport.
#[derive(Clone)]
pub struct Recording {
    inner: ReqwestTransport,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl Recording {
    pub fn new() -> Self {
        Self {
            inner: ReqwestTransport::new(TransportOptions::default()).expect("a transport"),
            log: Arc::default(),
        }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }

    /// A client for `endpoint` whose requests this transport records.
    pub fn client(&self, endpoint: &str) -> Client<Recording> {
        Client::builder()
            .endpoint(endpoint)
            .build_with_transport(self.clone())
            .expect("a client")
    }
}

#[async_trait]
impl Transport for Recording {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let text = |v: &http::HeaderValue| v.to_str().unwrap_or_default().to_owned();
        let mut exchange = Exchange {
            method: request.method.to_string(),
            url: request.url.to_string(),
            body_len: request.body.len(),
            concat: request.headers.get("upload-concat").map(text),
            status: None,
            location: None,
            offset: None,
        };
        let result = self.inner.send(request).await;
        if let Ok(response) = &result {
            exchange.status = Some(response.status.as_u16());
            exchange.location = response.headers.get("location").map(text);
            exchange.offset = response
                .headers
                .get("upload-offset")
                .and_then(|v| v.to_str().ok()?.parse().ok());
        }
        self.log.lock().unwrap().push(exchange);
        result
    }
}

/// Progress events collected by a callback.
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

    /// The reasons of every `StartedOver`.
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

/// The status of a failed request, if it was an HTTP status.
pub fn status_of(error: &tusky::Error) -> Option<u16> {
    match error {
        tusky::Error::Status { status, .. } => Some(status.as_u16()),
        _ => None,
    }
}
