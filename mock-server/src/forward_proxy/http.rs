//! Plain-http forwarding (absolute-form requests) and `CONNECT` dispatch.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{record, tunnel, Log, MAX_HEAD};

/// A parsed request head: what to forward and where.
struct Head {
    method: String,
    url: String,
    authority: String,
    /// The head rewritten for the upstream server (origin-form target, `Connection: close`).
    upstream: Vec<u8>,
    body_len: u64,
}

pub(super) async fn serve(mut client: TcpStream, log: &Log) -> io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    if let Some(authority) = connect_target(&head) {
        return tunnel::connect(client, &authority, rest, log).await;
    }
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
    record(log, &head.method, head.url, first as u64 + copied);
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

/// The `host:port` of a `CONNECT host:port HTTP/1.1` head.
fn connect_target(head: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(head).ok()?;
    let mut request_line = text.split("\r\n").next()?.split(' ');
    match (request_line.next()?, request_line.next()?) {
        ("CONNECT", target) if target.contains(':') => Some(target.to_owned()),
        _ => None,
    }
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
        assert_eq!(
            connect_target(b"CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n").as_deref(),
            Some("host:443")
        );
        assert_eq!(connect_target(b"GET http://h/ HTTP/1.1\r\n\r\n"), None);
        assert!(parse_head(b"GET /origin-form HTTP/1.1\r\n\r\n").is_none());
    }
}
