//! A raw HTTP/1.1 client over TCP, for what reqwest cannot do on cue: send part of a body and
//! stop, go quiet, or send a chosen `Host`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tusky_mock_server::StreamingTusServer;

use crate::support::wait_until;

/// A request whose head is sent and whose body goes out piece by piece.
pub struct RawRequest {
    stream: TcpStream,
    chunked: bool,
}

impl RawRequest {
    /// Sends `METHOD path` to `address` with `Host: host`, these headers and `Tus-Resumable`;
    /// the body is announced with `Content-Length: length`, or chunked when `None`.
    pub async fn start(
        address: SocketAddr,
        method: &str,
        path: &str,
        host: &str,
        headers: &[(&str, &str)],
        length: Option<u64>,
    ) -> Self {
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match length {
            Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
            None => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send the head");
        RawRequest {
            stream,
            chunked: length.is_none(),
        }
    }

    /// A PATCH of an upload at `path`, from `offset`, announcing `length` body bytes.
    pub async fn patch(
        address: SocketAddr,
        path: &str,
        offset: u64,
        length: Option<u64>,
        headers: &[(&str, &str)],
    ) -> Self {
        let offset = offset.to_string();
        let mut all = vec![
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", offset.as_str()),
        ];
        all.extend_from_slice(headers);
        Self::start(
            address,
            "PATCH",
            path,
            &format!("127.0.0.1:{}", address.port()),
            &all,
            length,
        )
        .await
    }

    /// A PATCH of the upload at `url` on `server` from offset 0 announcing all of `data`, of
    /// which `sent` bytes are sent; returns once at least `on_disk` bytes are in the upload's
    /// file (the request is surely in progress then).
    pub async fn patch_in_progress(
        server: &StreamingTusServer,
        url: &str,
        data: &[u8],
        sent: usize,
        on_disk: u64,
    ) -> Self {
        let path = server.upload_path(url).expect("the upload's file");
        let length = Some(data.len() as u64);
        let mut req = Self::patch(server.address(), &path_of(url), 0, length, &[]).await;
        req.send(&data[..sent]).await;
        wait_until("the PATCH writing", Duration::from_secs(10), || {
            let path = path.clone();
            async move { std::fs::metadata(&path).is_ok_and(|m| m.len() >= on_disk) }
        })
        .await;
        req
    }

    /// Sends `bytes` of the body.
    pub async fn send(&mut self, bytes: &[u8]) {
        if self.chunked {
            let size = format!("{:x}\r\n", bytes.len());
            self.stream
                .write_all(size.as_bytes())
                .await
                .expect("chunk size");
            self.stream.write_all(bytes).await.expect("chunk");
            self.stream.write_all(b"\r\n").await.expect("chunk end");
        } else {
            self.stream.write_all(bytes).await.expect("body");
        }
    }

    /// Ends a chunked body, then reads the answer's status.
    pub async fn finish(mut self) -> u16 {
        if self.chunked {
            self.stream
                .write_all(b"0\r\n\r\n")
                .await
                .expect("last chunk");
        }
        self.status().await
    }

    /// Reads the answer's status (the body, if complete, has been sent).
    pub async fn status(&mut self) -> u16 {
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = self.stream.read(&mut buf).await.expect("read the answer");
            assert!(
                n > 0,
                "the connection closed before an answer: {:?}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&answer);
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line")
    }

    /// Closes the connection mid-body, as a client that goes away.
    pub fn cut(self) {
        drop(self.stream);
    }
}

/// The path part of an upload URL.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/".to_owned(), |i| after_scheme[i..].to_owned())
}
