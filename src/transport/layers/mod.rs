//! Layers: wrappers around a [`Transport`] that add one cross-cutting behaviour each (tower's
//! `Layer` idea). The client builds its transport as a stack of them: tusky's own protocol
//! layers ([`TusHeaders`], [`OriginGuard`], [`Deadline`], [`MethodOverride`]) outside, the user's layers (in the order
//! [`ClientBuilder::layer`](crate::ClientBuilder::layer) added them, the first outermost)
//! inside, the base transport last, so a user's layer sees each request as it goes on the wire.
//!
//! ```
//! use std::sync::Arc;
//! use tusky::transport::layers::Recording;
//!
//! # fn main() -> Result<(), tusky::Error> {
//! let recording = Recording::new();
//! let client = tusky::Client::builder()
//!     .endpoint("https://tus.example/files/")
//!     .layer(recording.clone())
//!     .build()?;
//! assert!(recording.requests().is_empty()); // nothing sent yet
//! # drop(client);
//! # Ok(()) }
//! ```

mod auth;
mod deadline;
mod hooks;
mod method_override;
mod origin_guard;
mod rate_limit;
mod recording;
mod request_id;
mod tus_headers;

use std::sync::Arc;

pub use auth::{header_provider, Auth, HeaderProvider};
pub use deadline::Deadline;
pub use hooks::{Exchange, Hooks};
pub use method_override::MethodOverride;
pub use origin_guard::OriginGuard;
pub use rate_limit::RateLimit;
pub use recording::{Recorded, Recording};
pub use request_id::{RequestId, REQUEST_ID};
pub use tus_headers::TusHeaders;

use super::Transport;

/// Wraps a transport in another.
pub trait Layer: Send + Sync + 'static {
    /// The transport that does this layer's work and then calls `inner`.
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport>;
}

/// A closure is a layer: `|inner| Arc::new(MyTransport { inner })`.
impl<F> Layer for F
where
    F: Fn(Arc<dyn Transport>) -> Arc<dyn Transport> + Send + Sync + 'static,
{
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        self(inner)
    }
}

/// What one of tusky's layers does to a request: `inner` is the transport it wraps. A type
/// that implements it is a [`Layer`] through [`wrap`], with no wrapper struct of its own.
#[async_trait::async_trait]
pub(crate) trait Around: Clone + Send + Sync + 'static {
    async fn around(
        &self,
        inner: &dyn Transport,
        request: super::Request,
    ) -> Result<super::Response, super::TransportError>;
}

/// A layer and the transport it wraps.
struct Wrapped<A> {
    around: A,
    inner: Arc<dyn Transport>,
}

#[async_trait::async_trait]
impl<A: Around> Transport for Wrapped<A> {
    async fn send(
        &self,
        request: super::Request,
    ) -> Result<super::Response, super::TransportError> {
        self.around.around(&*self.inner, request).await
    }
}

/// `around` as the transport around `inner`.
pub(crate) fn wrap<A: Around>(around: &A, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
    Arc::new(Wrapped {
        around: around.clone(),
        inner,
    })
}

/// Stacks `layers` around `base`: the first layer ends up outermost.
pub(crate) fn stack(base: Arc<dyn Transport>, layers: &[Arc<dyn Layer>]) -> Arc<dyn Transport> {
    layers
        .iter()
        .rev()
        .fold(base, |inner, layer| layer.layer(inner))
}
