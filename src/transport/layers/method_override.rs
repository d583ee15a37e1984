//! [`MethodOverride`]: PATCH and DELETE sent as POST with `X-HTTP-Method-Override`, for
//! proxies and platforms that block them.

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderValue, Method};

use super::Layer;
use crate::protocol::names;
use crate::transport::{Request, Response, Transport, TransportError};

/// Sends PATCH and DELETE as POST with `X-HTTP-Method-Override: PATCH|DELETE`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MethodOverride;

impl Layer for MethodOverride {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        Arc::new(Overriding { inner })
    }
}

struct Overriding {
    inner: Arc<dyn Transport>,
}

#[async_trait]
impl Transport for Overriding {
    async fn send(&self, mut request: Request) -> Result<Response, TransportError> {
        if request.method == Method::PATCH || request.method == Method::DELETE {
            let original = HeaderValue::from_static(if request.method == Method::PATCH {
                "PATCH"
            } else {
                "DELETE"
            });
            request.headers.insert(names::METHOD_OVERRIDE, original);
            request.method = Method::POST;
        }
        self.inner.send(request).await
    }
}
