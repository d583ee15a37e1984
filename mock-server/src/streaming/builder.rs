//! [`StreamingTusServerBuilder`]: configuration of a [`StreamingTusServer`].

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use url::Url;

use super::accept::serve;
use super::body::{BUFFER, POOLED_BUFFERS};
use super::buffers::BufferPool;
use super::concatenation;
use super::files::Layout;
use super::handler::App;
use super::host::HostGuard;
use super::registry::Registry;
use super::server::StreamingTusServer;
use crate::tus::config::Protocol;
use crate::tus::extension::Extension;

/// Where the server listens.
#[derive(Debug)]
enum Bind {
    Address(SocketAddr),
    Listener(std::net::TcpListener),
}

/// Configures and starts a [`StreamingTusServer`]; made by [`StreamingTusServer::builder`].
///
/// ```
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use tusky_mock_server::{Extension, StreamingTusServer};
///
/// let dir = tempfile::tempdir()?;
/// let server = StreamingTusServer::builder(dir.path())
///     .port(0) // a free port on 127.0.0.1 (the default)
///     .max_size(64 * 1024 * 1024)
///     .expires_after(Duration::from_secs(24 * 3600))
///     .extensions(&[Extension::Creation, Extension::Checksum, Extension::Expiration])
///     .start()
///     .await?;
/// assert!(server.endpoint().starts_with("http://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.start().await`"]
pub struct StreamingTusServerBuilder {
    dir: PathBuf,
    protocol: Protocol,
    bind: Bind,
    proxy_port: Option<u16>,
    idle_timeout: Duration,
    shutdown_grace: Duration,
}

impl StreamingTusServerBuilder {
    pub(crate) fn new(dir: PathBuf) -> Self {
        let protocol = Protocol {
            max_size: Some(StreamingTusServer::DEFAULT_MAX_SIZE),
            ..Protocol::default()
        };
        StreamingTusServerBuilder {
            dir,
            protocol,
            bind: Bind::Address(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            proxy_port: None,
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Listen on 127.0.0.1 at `port` (default: 0, a free port).
    pub fn port(self, port: u16) -> Self {
        self.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Listen on `address` (default 127.0.0.1 on a free port). On a loopback address only
    /// requests whose `Host` is `localhost`, `127.0.0.1` or `[::1]` (with this port or none)
    /// are answered, the others get 403: a guard against DNS rebinding. On another address
    /// the server answers any `Host` — and anyone who can reach it.
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = Bind::Address(address);
        self
    }

    /// Serve on `listener`, bound by the caller (the `Host` guard follows its address).
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.bind = Bind::Listener(listener);
        self
    }

    /// Also answers requests addressed to a loopback name with `port`: the port of a proxy on
    /// this machine in front of the server (a [`FaultProxy`](crate::FaultProxy)), whose
    /// clients send the proxy's address as `Host`. Upload URLs follow the `Host`, so they
    /// point at the proxy too. Bind the server's [`listener`](Self::listener) first, start the
    /// proxy towards its address, then start the server with the proxy's port. No effect on a
    /// server that answers any `Host` (not bound to a loopback address).
    pub fn proxy_port(mut self, port: u16) -> Self {
        self.proxy_port = Some(port);
        self
    }

    /// The path of the creation endpoint (default `/files/`); upload URLs are
    /// `{base_path}{id}`. A leading and a trailing `/` are added when missing.
    pub fn base_path(mut self, path: &str) -> Self {
        self.protocol.set_base_path(path);
        self
    }

    /// The largest upload accepted, advertised as `Tus-Max-Size` (default
    /// [`StreamingTusServer::DEFAULT_MAX_SIZE`], 1 TiB); larger `Upload-Length`s, and
    /// deferred-length uploads growing past it, get 413.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.protocol.max_size = Some(bytes);
        self
    }

    /// The extensions advertised and enforced (default: all), as
    /// [`TusMockServerBuilder::extensions`](crate::TusMockServerBuilder::extensions).
    pub fn extensions(mut self, extensions: &[Extension]) -> Self {
        self.protocol.set_extensions(extensions);
        self
    }

    /// The checksum algorithms advertised and verified (default
    /// `sha1,sha256,sha512,md5,crc32`), as
    /// [`TusMockServerBuilder::checksum_algorithms`](crate::TusMockServerBuilder::checksum_algorithms).
    pub fn checksum_algorithms(mut self, algorithms: &[&str]) -> Self {
        self.protocol.set_checksum_algorithms(algorithms);
        self
    }

    /// Unfinished uploads expire this long after their creation (default: never): then they
    /// answer 410, and their files are removed at the next start.
    pub fn expires_after(mut self, period: Duration) -> Self {
        self.protocol.expires_after = Some(period);
        self
    }

    /// A request body that sends no byte for this long is cut short (default 60 s): what
    /// arrived is kept, as for a client that went away, and the upload is free again.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long [`StreamingTusServer::shutdown`] lets requests in progress finish before
    /// closing their connections (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Reads back the uploads in the directory (creating it if missing), binds, and serves
    /// in a task on the current Tokio runtime.
    ///
    /// # Errors
    /// The directory cannot be created or read, or the address cannot be bound.
    pub async fn start(self) -> io::Result<StreamingTusServer> {
        let layout = Layout::create(&self.dir)?;
        let uploads = {
            let layout = layout.clone();
            tokio::task::spawn_blocking(move || layout.load(SystemTime::now()))
                .await
                .map_err(io::Error::other)??
        };
        let listener = match self.bind {
            Bind::Address(address) => std::net::TcpListener::bind(address)?,
            Bind::Listener(listener) => listener,
        };
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let endpoint = format!("http://{address}{}", self.protocol.base_path);
        let endpoint_url = Url::parse(&endpoint).map_err(io::Error::other)?;
        let (changes, _) = watch::channel(0);
        let app = Arc::new(App {
            protocol: self.protocol,
            layout,
            registry: Arc::new(Registry::new(uploads)),
            endpoint,
            endpoint_url,
            host_guard: HostGuard::for_address(address, self.proxy_port),
            idle_timeout: self.idle_timeout,
            changes,
            buffers: Arc::new(BufferPool::new(BUFFER, POOLED_BUFFERS)),
            jobs: Arc::default(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        concatenation::resume_all(&app);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            Arc::clone(&app),
            stopped,
            self.shutdown_grace,
        ));
        Ok(StreamingTusServer::new(app, address, stop, task))
    }
}
