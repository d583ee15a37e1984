//! [`TusHeaders`]: `Tus-Resumable` on every request but OPTIONS, and the client's default
//! headers (which can change while uploads run) on every request that does not set its own.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue, Method};

use super::{wrap, Around, Layer};
use crate::protocol::{names, TUS_VERSION};
use crate::transport::{Request, Response, Transport, TransportError};

/// Adds `Tus-Resumable: 1.0.0` (except on OPTIONS) and the default headers in `defaults`.
#[derive(Debug, Clone, Default)]
pub struct TusHeaders {
    defaults: Arc<RwLock<HeaderMap>>,
}

impl TusHeaders {
    /// The layer over shared, changeable default headers.
    pub fn new(defaults: Arc<RwLock<HeaderMap>>) -> Self {
        Self { defaults }
    }
}

impl Layer for TusHeaders {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for TusHeaders {
    async fn around(
        &self,
        inner: &dyn Transport,
        mut request: Request,
    ) -> Result<Response, TransportError> {
        let defaults = self
            .defaults
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        for (name, value) in &defaults {
            if !request.headers.contains_key(name) {
                request.headers.insert(name.clone(), value.clone());
            }
        }
        if request.method != Method::OPTIONS {
            request
                .headers
                .insert(names::TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
        }
        inner.send(request).await
    }
}
