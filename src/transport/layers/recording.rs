//! [`Recording`]: remembers every request that passes (method, URL, headers, body length) and
//! its outcome, for tests and for debugging a conversation with a server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::{wrap, Around, Layer};
use crate::transport::{Request, Response, Transport, TransportError};

/// One request that passed a [`Recording`] layer, and what came back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// The method as sent.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// The headers as sent.
    pub headers: HeaderMap,
    /// The body's declared length.
    pub body_len: u64,
    /// The answer's status, or `None` when the request got no answer.
    pub status: Option<StatusCode>,
    /// The answer's headers (empty without an answer).
    pub response_headers: HeaderMap,
    /// How long the request took.
    pub duration: Duration,
}

impl Recorded {
    /// A request header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The answer's `Upload-Offset`, if it had a numeric one.
    pub fn answered_offset(&self) -> Option<u64> {
        self.response_headers
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }
}

/// A layer that records requests; clones share one log.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Recording {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request so far, in the order they finished.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The requests with `method` (as sent).
    pub fn with_method(&self, method: &Method) -> Vec<Recorded> {
        let mut requests = self.requests();
        requests.retain(|r| r.method == method);
        requests
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        if let Ok(mut log) = self.log.lock() {
            log.clear();
        }
    }
}

impl Layer for Recording {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for Recording {
    async fn around(
        &self,
        inner: &dyn Transport,
        request: Request,
    ) -> Result<Response, TransportError> {
        let (method, url, headers) = (
            request.method.clone(),
            request.url.clone(),
            request.headers.clone(),
        );
        let body_len = request.body.len();
        let started = Instant::now();
        let result = inner.send(request).await;
        let (status, response_headers) = match &result {
            Ok(response) => (Some(response.status), response.headers.clone()),
            Err(_) => (None, HeaderMap::new()),
        };
        if let Ok(mut log) = self.log.lock() {
            log.push(Recorded {
                method,
                url,
                headers,
                body_len,
                status,
                response_headers,
                duration: started.elapsed(),
            });
        }
        result
    }
}
