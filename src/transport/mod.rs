//! How requests reach the server: the [`Transport`] trait and [`ReqwestTransport`].
//!
//! A transport sends one request and returns the status, the headers and a bounded body.
//! Cross-cutting behaviour (tus headers, method override, recording, auth, faults) lives in
//! [`layers`] that wrap another transport.

mod error;
pub mod layers;
mod request;
mod reqwest_transport;

/// How much of a seekable source a streamed request body hands to the connection at a time
/// (also the step of `BytesSent` progress events); a file is read in larger blocks and handed
/// over in views of them.
pub use crate::source::PIECE;
pub use error::{TransportError, TransportErrorKind};
pub use layers::Layer;
pub use request::{Body, BodyStream, Request, Response, MAX_RESPONSE_BODY};
pub use reqwest_transport::{Proxy, ReqwestTransport, TlsOptions, TransportOptions};

use async_trait::async_trait;

/// Sends one HTTP request.
///
/// Object-safe: `Box<dyn Transport>` and `Arc<dyn Transport>` are transports too.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and returns the server's answer, whatever its status. Response bodies
    /// are read up to [`MAX_RESPONSE_BODY`] bytes and the rest is dropped.
    async fn send(&self, request: Request) -> Result<Response, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        (**self).send(request).await
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        (**self).send(request).await
    }
}
