//! [`ForwardProxy`]: a small HTTP forward proxy on 127.0.0.1 that records every request that
//! passes through it, for testing that a client really uses a proxy (and that it does not when
//! told so).
//!
//! It takes plain-http requests in absolute form (`PATCH http://host:port/path HTTP/1.1`) with
//! a `Content-Length` body (or none), forwards each on its own upstream connection with
//! `Connection: close`, and relays the answer. Anything else (CONNECT, chunked bodies) gets
//! `501`.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The most a request head may hold.
const MAX_HEAD: usize = 64 * 1024;
/// How long one proxied exchange may take in all.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(60);

/// One request that went through a [`ForwardProxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// The method.
    pub method: String,
    /// The absolute URL the client asked for.
    pub url: String,
    /// How many body bytes were forwarded.
    pub body_bytes: u64,
}

/// An HTTP forward proxy on 127.0.0.1 that records what passes through it.
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
                    let _ = tokio::time::timeout(EXCHANGE_DEADLINE, serve(client, log)).await;
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

/// A parsed request head: what to forward and where.
struct Head {
    method: String,
    url: String,
    authority: String,
    /// The head rewritten for the upstream server (origin-form target, `Connection: close`).
    upstream: Vec<u8>,
    body_len: u64,
}

async fn serve(mut client: TcpStream, log: Arc<Mutex<Vec<ProxiedRequest>>>) -> io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let Some(head) = parse_head(&head) else {
        let refusal =
            b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return client.write_all(refusal).await;
    };
    let mut upstream = TcpStream::connect(head.authority.as_str()).await?;
    upstream.write_all(&head.upstream).await?;
    let first = rest
        .len()
        .min(usize::try_from(head.body_len).unwrap_or(usize::MAX));
    upstream.write_all(&rest[..first]).await?;
    let remaining = head.body_len - first as u64;
    let copied = tokio::io::copy(&mut (&mut client).take(remaining), &mut upstream).await?;
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ProxiedRequest {
            method: head.method,
            url: head.url,
            body_bytes: first as u64 + copied,
        });
    tokio::io::copy(&mut upstream, &mut client).await?;
    client.shutdown().await
}

/// Reads up to the end of the request head; returns the head and what came after it.
async fn read_head(client: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut piece = [0u8; 8192];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok((buffer, rest));
        }
        if buffer.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let n = client.read(&mut piece).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&piece[..n]);
    }
}

fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, url, version) = (
        request_line.next()?,
        request_line.next()?,
        request_line.next()?,
    );
    let after_scheme = url.strip_prefix("http://")?;
    let path_start = after_scheme.find('/').unwrap_or(after_scheme.len());
    let authority = &after_scheme[..path_start];
    let path = match &after_scheme[path_start..] {
        "" => "/",
        path => path,
    };
    let mut upstream = format!("{method} {path} {version}\r\n");
    let mut body_len = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive" => continue,
            "transfer-encoding" => return None,
            "content-length" => body_len = value.trim().parse().ok()?,
            _ => {}
        }
        upstream.push_str(line);
        upstream.push_str("\r\n");
    }
    upstream.push_str("Connection: close\r\n\r\n");
    Some(Head {
        method: method.to_owned(),
        url: url.to_owned(),
        authority: authority.to_owned(),
        upstream: upstream.into_bytes(),
        body_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_requests_are_rewritten_for_the_origin() {
        let head = b"PATCH http://127.0.0.1:9/files/a HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 5\r\nProxy-Connection: keep-alive\r\n\r\n";
        let parsed = parse_head(head).unwrap();
        assert_eq!(parsed.authority, "127.0.0.1:9");
        assert_eq!(parsed.body_len, 5);
        assert_eq!(
            String::from_utf8(parsed.upstream).unwrap(),
            "PATCH /files/a HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
        );
        assert!(parse_head(b"CONNECT host:443 HTTP/1.1\r\n\r\n").is_none());
        assert!(parse_head(b"GET /origin-form HTTP/1.1\r\n\r\n").is_none());
    }
}
