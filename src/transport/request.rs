use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

/// How much of a response body a transport keeps (64 KiB): enough for any error message.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// A stream of body pieces.
pub type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A request body.
pub enum Body {
    /// No body.
    Empty,
    /// A body held in memory.
    Bytes(Bytes),
    /// A streamed body of exactly `length` bytes; it is never held whole in memory.
    Stream {
        /// How many bytes the stream yields in all (sent as `Content-Length`).
        length: u64,
        /// The pieces.
        stream: BodyStream,
    },
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Empty => 0,
            Self::Bytes(bytes) => bytes.len() as u64,
            Self::Stream { length, .. } => *length,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Body::Empty"),
            Self::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Self::Stream { length, .. } => write!(f, "Body::Stream({length} bytes)"),
        }
    }
}

/// One HTTP request.
#[derive(Debug)]
#[non_exhaustive]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// The headers (the client's default headers and `Tus-Resumable` are already in).
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
}

/// The server's answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most [`MAX_RESPONSE_BODY`] bytes.
    pub body: Bytes,
}

impl Request {
    /// A request (what a layer that makes its own requests needs).
    pub fn new(method: Method, url: Url, headers: HeaderMap, body: Body) -> Self {
        Self {
            method,
            url,
            headers,
            body,
        }
    }
}

impl Response {
    /// An answer (what a custom transport returns); `body` is cut to [`MAX_RESPONSE_BODY`].
    pub fn new(status: StatusCode, headers: HeaderMap, mut body: Bytes) -> Self {
        body.truncate(MAX_RESPONSE_BODY);
        Self {
            status,
            headers,
            body,
        }
    }

    /// A header's raw value.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name).map(|v| v.as_bytes())
    }

    /// The body as text, lossily decoded.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
