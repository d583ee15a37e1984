//! [`ForwardProxy`]: a small proxy on 127.0.0.1 that records every request or tunnel that
//! passes through it, for testing that a client really uses a proxy (and that it does not when
//! told so). One port speaks three ways, told apart by the first byte a client sends:
//!
//! - plain-http requests in absolute form (`PATCH http://host:port/path HTTP/1.1`) with a
//!   `Content-Length` body (or none), each forwarded on its own upstream connection with
//!   `Connection: close` (`http.rs`); chunked bodies get `501`;
//! - `CONNECT host:port` (how clients reach `https://` servers through an `http://` proxy):
//!   `200`, then bytes both ways (`tunnel.rs`);
//! - SOCKS5 (`socks5://` and `socks5h://` proxy URLs), no authentication, `CONNECT` command
//!   only (`tunnel.rs`).

mod http;
mod tunnel;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The most a request head may hold.
const MAX_HEAD: usize = 64 * 1024;
/// How long one proxied exchange may take in all.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(60);

/// One request (or tunnel) that went through a [`ForwardProxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// The method: the HTTP method of a forwarded request, `CONNECT` for an HTTP tunnel,
    /// `SOCKS5` for a SOCKS5 tunnel.
    pub method: String,
    /// The absolute URL the client asked for; for a tunnel, the `host:port` it reached (the
    /// host as the client named it: a SOCKS5 client that resolves names itself sends an IP).
    pub url: String,
    /// How many body bytes were forwarded. A tunnel is logged when it opens, with 0; when it
    /// closes (clients keep connections open for reuse until dropped), every byte it carried
    /// upstream.
    pub body_bytes: u64,
}

/// A forward proxy on 127.0.0.1 (HTTP, HTTP `CONNECT` and SOCKS5 on one port) that records
/// what passes through it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let proxy = tusky_mock_server::ForwardProxy::start().await.unwrap();
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// assert!(proxy.requests().is_empty());
/// # }
/// ```
#[derive(Debug)]
pub struct ForwardProxy {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<ProxiedRequest>>>,
    task: JoinHandle<()>,
}

impl ForwardProxy {
    /// Starts the proxy on a free port of 127.0.0.1.
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(EXCHANGE_DEADLINE, serve(client, &log)).await;
                });
            }
        });
        Ok(Self {
            address,
            requests,
            task,
        })
    }

    /// The proxy's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The same proxy as a SOCKS5 URL, `socks5://127.0.0.1:PORT` (the client resolves host
    /// names; `socks5h://` leaves that to the proxy, which this one also takes).
    pub fn socks5_url(&self) -> String {
        format!("socks5://{}", self.address)
    }

    /// Every request forwarded so far, in the order they arrived.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The log of a proxy's requests.
type Log = Mutex<Vec<ProxiedRequest>>;

/// Appends a request to the log and returns its index (for [`set_body_bytes`]).
fn record(log: &Log, method: &str, url: String, body_bytes: u64) -> usize {
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    log.push(ProxiedRequest {
        method: method.to_owned(),
        url,
        body_bytes,
    });
    log.len() - 1
}

/// Sets the byte count of entry `index` (a tunnel, once it has closed).
fn set_body_bytes(log: &Log, index: usize, body_bytes: u64) {
    if let Some(entry) = log.lock().unwrap_or_else(|p| p.into_inner()).get_mut(index) {
        entry.body_bytes = body_bytes;
    }
}

/// Serves one client connection: SOCKS5 when its first byte is 5 (the version), else HTTP.
async fn serve(client: TcpStream, log: &Log) -> std::io::Result<()> {
    let mut first = [0u8; 1];
    if client.peek(&mut first).await? == 0 {
        return Ok(());
    }
    if first[0] == tunnel::SOCKS_VERSION {
        tunnel::socks5(client, log).await
    } else {
        http::serve(client, log).await
    }
}
