//! [`OriginGuard`]: a request to another origin than the one the user named carries only the
//! tus protocol's own headers (unless the user allows more), and an https upload is never
//! continued over http. The rule itself is `crate::origin`; this layer applies it to every
//! request, whatever URL it goes to (created, stored, or given).

use std::sync::Arc;

use async_trait::async_trait;

use super::{wrap, Around, Layer};
use crate::origin::{relation, Relation};
use crate::transport::{Request, Response, Transport, TransportError, TransportErrorKind};

/// Headers that are the protocol's, never the user's: they go to any origin.
const PROTOCOL_HEADERS: &[&str] = &[
    "tus-resumable",
    "upload-offset",
    "upload-length",
    "upload-defer-length",
    "upload-metadata",
    "upload-checksum",
    "upload-concat",
    "content-type",
    "content-length",
    "x-http-method-override",
];

/// Keeps user headers (auth, cookies, API keys) on the origin the user named.
#[derive(Debug, Clone)]
pub struct OriginGuard {
    home: url::Origin,
    allow_other_origins: bool,
}

impl OriginGuard {
    /// A guard for requests whose home is `home`; with `allow_other_origins`, user headers go
    /// to other origins too (downgrades to http are refused either way).
    pub fn new(home: url::Origin, allow_other_origins: bool) -> Self {
        Self {
            home,
            allow_other_origins,
        }
    }
}

impl Layer for OriginGuard {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        wrap(self, inner)
    }
}

#[async_trait]
impl Around for OriginGuard {
    async fn around(
        &self,
        inner: &dyn Transport,
        mut request: Request,
    ) -> Result<Response, TransportError> {
        match relation(&self.home, &request.url) {
            Relation::Same => {}
            Relation::Downgrade => {
                return Err(TransportError::new(
                    TransportErrorKind::Refused,
                    format!(
                        "refusing to send to {} over http: the upload started over https",
                        request.url.origin().ascii_serialization()
                    ),
                ))
            }
            Relation::Other if self.allow_other_origins => {}
            Relation::Other => {
                let dropped: Vec<String> = request
                    .headers
                    .keys()
                    .filter(|name| !PROTOCOL_HEADERS.contains(&name.as_str()))
                    .map(|name| name.to_string())
                    .collect();
                if !dropped.is_empty() {
                    tracing::warn!(url = %request.url, headers = ?dropped, "not sending user headers to another origin");
                }
                for name in dropped {
                    request.headers.remove(name.as_str());
                }
            }
        }
        inner.send(request).await
    }
}
