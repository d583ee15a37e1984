//! [`RequestId`]: a fresh `X-Request-ID` on every request, so a server's logs and tusky's
//! errors can be matched. The answer carries it back (the server's own, when it echoes one),
//! and a failed request's error names it.

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderValue;

use super::{wrap, Around, Layer};
use crate::transport::{Request, Response, Transport, TransportError};

/// The header name.
pub const REQUEST_ID: &str = "x-request-id";

/// Adds a random `X-Request-ID` (32 hex digits) to each request that has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestId;

impl Layer for RequestId {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

fn fresh_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[async_trait]
impl Around for RequestId {
    async fn around(
        &self,
        inner: &dyn Transport,
        mut request: Request,
    ) -> Result<Response, TransportError> {
        let id = match request
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
        {
            Some(id) => id.to_owned(),
            None => fresh_id(),
        };
        if let Ok(value) = HeaderValue::from_str(&id) {
            request.headers.insert(REQUEST_ID, value.clone());
        }
        match inner.send(request).await {
            Ok(mut response) => {
                if !response.headers.contains_key(REQUEST_ID) {
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        response.headers.insert(REQUEST_ID, value);
                    }
                }
                Ok(response)
            }
            Err(error) => Err(error.with_request_id(&id)),
        }
    }
}
