//! [`Deadline`]: a request without a body (OPTIONS, HEAD, DELETE, a creation or final POST)
//! gets its whole answer within a deadline, however slowly the server trickles it. Requests
//! with a body are watched by the uploader's stall timeout instead, which allows a slow but
//! moving upload.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{wrap, Around, Layer};
use crate::transport::{Request, Response, Transport, TransportError, TransportErrorKind};

/// Fails a bodiless request that has no complete answer after `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    timeout: Duration,
}

impl Deadline {
    /// Bodiless requests get `timeout` for their whole answer.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl Layer for Deadline {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for Deadline {
    async fn around(
        &self,
        inner: &dyn Transport,
        request: Request,
    ) -> Result<Response, TransportError> {
        if !request.body.is_empty() {
            return inner.send(request).await;
        }
        let method = request.method.clone();
        match tokio::time::timeout(self.timeout, inner.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!("no complete answer to {method} within {:?}", self.timeout),
            )),
        }
    }
}
