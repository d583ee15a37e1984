//! What every interop test needs: the servers from `target/interop.env` (or a visible skip)
//! and byte comparison with a server's data directory.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tusky::Client;

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
    /// rustus, built with its `hashers` feature: the one that verifies `Upload-Checksum`.
    Rustus,
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
        Kind::Rustus => &[
            "TUSKY_INTEROP_RUSTUS_ENDPOINT",
            "TUSKY_INTEROP_RUSTUS_DATA_DIR",
        ],
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
    /// being the URL's last path segment (every server, see tests/interop/README.md).
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

/// The status of a failed request, if it was an HTTP status.
pub fn status_of(error: &tusky::Error) -> Option<u16> {
    match error {
        tusky::Error::Status { status, .. } => Some(status.as_u16()),
        _ => None,
    }
}
