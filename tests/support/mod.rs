//! Helpers shared by the parity and cross-process resume tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use wiremock::Request;

/// `n` bytes where byte `i` is `i % 251`: no period that lines up with chunk sizes.
pub fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A header of a recorded request, as text.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// A numeric header of a recorded request.
pub fn header_u64(request: &Request, name: &str) -> Option<u64> {
    header(request, name).map(|v| v.parse().expect("numeric header"))
}

/// The tus requests (everything but OPTIONS), as `"METHOD /path"`.
pub fn tus_sequence(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() != "OPTIONS")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// The requests with this (real) method.
pub fn with_method<'a>(requests: &'a [Request], method: &str) -> Vec<&'a Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == method)
        .collect()
}

/// `(Upload-Offset, body length)` of each PATCH, in order.
pub fn patch_shape(requests: &[Request]) -> Vec<(u64, usize)> {
    with_method(requests, "PATCH")
        .into_iter()
        .map(|r| {
            (
                header_u64(r, "upload-offset").expect("PATCH without Upload-Offset"),
                r.body.len(),
            )
        })
        .collect()
}

/// A stream of unknown length that hands out at most `max_read` bytes per read, like a pipe.
pub struct Trickle {
    data: Vec<u8>,
    position: usize,
    max_read: usize,
}

impl Trickle {
    pub fn new(data: impl Into<Vec<u8>>, max_read: usize) -> Self {
        Self {
            data: data.into(),
            position: 0,
            max_read,
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self
            .max_read
            .min(buf.remaining())
            .min(self.data.len() - self.position);
        let start = self.position;
        buf.put_slice(&self.data[start..start + n]);
        self.position += n;
        Poll::Ready(Ok(()))
    }
}
