use std::fmt;

/// What kind of failure a [`TransportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, TLS handshake).
    Connect,
    /// The server did not answer in time, or the upload stalled.
    Timeout,
    /// The connection broke while sending or receiving.
    Connection,
    /// The request body (the source) failed while streaming.
    Body,
    /// The server's TLS certificate was refused (unknown issuer, wrong name, expired). Not
    /// transient: retrying cannot help.
    Certificate,
    /// tusky refused to send the request (an https upload continued over http). Not transient.
    Refused,
    /// Anything else.
    Other,
}

/// A request that got no answer. Worth retrying unless it is a
/// [`TransportErrorKind::Certificate`] error: even a [`TransportErrorKind::Body`] error can be
/// a connection that broke while the body was being sent (a failing source is reported as
/// [`crate::Error::Source`] instead).
#[derive(Debug, thiserror::Error)]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Connection => "connection failed",
            TransportErrorKind::Body => "request body failed",
            TransportErrorKind::Certificate => "the server's TLS certificate was refused",
            TransportErrorKind::Refused => "refused",
            TransportErrorKind::Other => "request failed",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl TransportError {
    /// A new error of `kind`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The same error, naming the request's id (from [`RequestId`](super::layers::RequestId)).
    #[must_use]
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.message = format!("{} (request id {id})", self.message);
        self
    }

    /// Whether trying again may help (everything but a refused certificate or request).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self.kind,
            TransportErrorKind::Certificate | TransportErrorKind::Refused
        )
    }
}
