//! [`MethodOverride`]: PATCH and DELETE sent as POST with `X-HTTP-Method-Override`, for
//! proxies and platforms that block them.

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderValue, Method};

use super::{wrap, Around, Layer};
use crate::protocol::names;
use crate::transport::{Request, Response, Transport, TransportError};

/// Sends PATCH and DELETE as POST with `X-HTTP-Method-Override: PATCH|DELETE`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MethodOverride;

impl Layer for MethodOverride {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for MethodOverride {
    async fn around(
        &self,
        inner: &dyn Transport,
        mut request: Request,
    ) -> Result<Response, TransportError> {
        if request.method == Method::PATCH || request.method == Method::DELETE {
            let original = HeaderValue::from_static(if request.method == Method::PATCH {
                "PATCH"
            } else {
                "DELETE"
            });
            request.headers.insert(names::METHOD_OVERRIDE, original);
            request.method = Method::POST;
        }
        inner.send(request).await
    }
}
