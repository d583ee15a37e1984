//! [`Auth`]: headers that can change during an upload — a token that expires while a 100 GB
//! upload runs. A [`HeaderProvider`] is asked for them before every request and told to refresh
//! them after a 401; a request without a body is then repeated once at once, and the upload
//! loop repeats one with a body (from the server's offset). A second 401 in a row is final.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};

use super::{wrap, Around, Layer};
use crate::transport::{Body, Request, Response, Transport, TransportError, TransportErrorKind};

/// Where changing headers come from.
#[async_trait]
pub trait HeaderProvider: Send + Sync + 'static {
    /// The headers to send now (called before every request: keep it cheap, cache).
    async fn headers(&self) -> Result<HeaderMap, String>;
    /// The server refused the headers (401): get new ones.
    async fn refresh(&self) -> Result<(), String>;
}

/// A [`HeaderProvider`] from a closure: `provide(refresh)` gives the headers; `refresh` is
/// `true` when the last ones were refused. Its answer is cached until then.
pub fn header_provider<F, Fut>(provide: F) -> impl HeaderProvider
where
    F: Fn(bool) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HeaderMap, String>> + Send + 'static,
{
    FnProvider {
        provide,
        cached: tokio::sync::Mutex::new(None),
    }
}

struct FnProvider<F> {
    provide: F,
    cached: tokio::sync::Mutex<Option<HeaderMap>>,
}

#[async_trait]
impl<F, Fut> HeaderProvider for FnProvider<F>
where
    F: Fn(bool) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HeaderMap, String>> + Send + 'static,
{
    async fn headers(&self) -> Result<HeaderMap, String> {
        let mut cached = self.cached.lock().await;
        if let Some(headers) = cached.as_ref() {
            return Ok(headers.clone());
        }
        let headers = (self.provide)(false).await?;
        *cached = Some(headers.clone());
        Ok(headers)
    }

    async fn refresh(&self) -> Result<(), String> {
        let headers = (self.provide)(true).await?;
        *self.cached.lock().await = Some(headers);
        Ok(())
    }
}

/// The layer that applies a [`HeaderProvider`].
#[derive(Clone)]
pub struct Auth {
    provider: Arc<dyn HeaderProvider>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

impl Auth {
    /// The layer over `provider`.
    pub fn new(provider: impl HeaderProvider) -> Self {
        Self {
            provider: Arc::new(provider),
        }
    }
}

impl Layer for Auth {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

fn provider_error(what: &str, message: String) -> TransportError {
    TransportError::new(
        TransportErrorKind::Other,
        format!("{what} the auth headers: {message}"),
    )
}

impl Auth {
    async fn with_headers(&self, mut request: Request) -> Result<Request, TransportError> {
        let headers = self
            .provider
            .headers()
            .await
            .map_err(|e| provider_error("getting", e))?;
        for (name, value) in &headers {
            request.headers.insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

#[async_trait]
impl Around for Auth {
    async fn around(
        &self,
        inner: &dyn Transport,
        request: Request,
    ) -> Result<Response, TransportError> {
        let request = self.with_headers(request).await?;
        let replay = request.body.is_empty().then(|| {
            Request::new(
                request.method.clone(),
                request.url.clone(),
                request.headers.clone(),
                Body::Empty,
            )
        });
        let response = inner.send(request).await?;
        if response.status != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.provider
            .refresh()
            .await
            .map_err(|e| provider_error("refreshing", e))?;
        match replay {
            // No body: repeat it once, now, with the new headers.
            Some(request) => inner.send(self.with_headers(request).await?).await,
            // A body was streamed and is gone: the upload loop repeats the request.
            None => Ok(response),
        }
    }
}
