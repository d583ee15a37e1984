//! [`Hooks`]: code of the user's that runs before each request (and may change its headers)
//! and after each answer (to observe status, headers and timing) — auth, tracing, request ids,
//! metrics — without writing a transport.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::{wrap, Around, Layer};
use crate::transport::{Request, Response, Transport, TransportError};

/// What [`Hooks`] tell the after-answer hook about one exchange.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Exchange {
    /// The method as sent.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// The request's headers as sent.
    pub request_headers: HeaderMap,
    /// The answer's status, `None` when there was no answer.
    pub status: Option<StatusCode>,
    /// The answer's headers (empty without an answer).
    pub response_headers: HeaderMap,
    /// How long the exchange took.
    pub duration: Duration,
}

type Before = Arc<dyn Fn(&mut Request) + Send + Sync>;
type After = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// Runs `before` on each request before it is sent and `after` on each exchange once it ends.
#[derive(Clone, Default)]
pub struct Hooks {
    before: Option<Before>,
    after: Option<After>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("before", &self.before.is_some())
            .field("after", &self.after.is_some())
            .finish()
    }
}

impl Hooks {
    /// No hooks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `hook` on each request before it is sent (it may change the headers).
    #[must_use]
    pub fn before(mut self, hook: impl Fn(&mut Request) + Send + Sync + 'static) -> Self {
        self.before = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` after each exchange, answered or not.
    #[must_use]
    pub fn after(mut self, hook: impl Fn(&Exchange) + Send + Sync + 'static) -> Self {
        self.after = Some(Arc::new(hook));
        self
    }
}

impl Layer for Hooks {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for Hooks {
    async fn around(
        &self,
        inner: &dyn Transport,
        mut request: Request,
    ) -> Result<Response, TransportError> {
        if let Some(before) = &self.before {
            before(&mut request);
        }
        let Some(after) = &self.after else {
            return inner.send(request).await;
        };
        let (method, url, request_headers) = (
            request.method.clone(),
            request.url.clone(),
            request.headers.clone(),
        );
        let started = Instant::now();
        let result = inner.send(request).await;
        let (status, response_headers) = match &result {
            Ok(response) => (Some(response.status), response.headers.clone()),
            Err(_) => (None, HeaderMap::new()),
        };
        after(&Exchange {
            method,
            url,
            request_headers,
            status,
            response_headers,
            duration: started.elapsed(),
        });
        result
    }
}
