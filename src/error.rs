//! The one public error type, with the context every error carries.

use std::fmt;

use http::StatusCode;
use url::Url;

use crate::protocol::{HeaderError, MetadataError};
use crate::storage::StorageError;
use crate::transport::TransportError;

/// What tusky was doing when an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// OPTIONS: discovering the server's capabilities.
    Discover,
    /// POST: creating an upload.
    Create,
    /// HEAD: reading the server's offset.
    Head,
    /// PATCH: sending bytes.
    Patch,
    /// DELETE: terminating an upload.
    Terminate,
    /// POST with `Upload-Concat: final`: joining partial uploads.
    Concatenate,
    /// Reading the source.
    ReadSource,
    /// Building a client or uploader.
    Configure,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discover => "OPTIONS",
            Self::Create => "POST (create)",
            Self::Head => "HEAD",
            Self::Patch => "PATCH",
            Self::Terminate => "DELETE",
            Self::Concatenate => "POST (concatenate)",
            Self::ReadSource => "reading the source",
            Self::Configure => "configuration",
        })
    }
}

/// Where an error happened: the operation, the URL and the offset, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// What was being done.
    pub operation: Operation,
    /// The URL the request went to.
    pub url: Option<String>,
    /// The upload offset at the time.
    pub offset: Option<u64>,
    /// The request's `X-Request-ID`, when the answer carried one (see
    /// [`RequestId`](crate::transport::layers::RequestId)).
    pub request_id: Option<Box<str>>,
}

impl Context {
    /// A context for `operation` on `url` at `offset`.
    pub fn new(operation: Operation, url: Option<&Url>, offset: Option<u64>) -> Self {
        Self {
            operation,
            url: url.map(Url::to_string),
            offset,
            request_id: None,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(url) = &self.url {
            write!(f, " {url}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

fn body_suffix(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        format!(": {}", body.chars().take(500).collect::<String>())
    }
}

/// Everything that can go wrong in tusky.
///
/// [`Error::status`] and [`Error::body`] give the server's answer when there was one (tuspy's
/// `TusCommunicationError.status_code` and `.response_content`); [`Error::is_retryable`] says
/// whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status that does not mean success here.
    #[error("{context}: the server answered {status}{}", body_suffix(body))]
    Status {
        /// Where.
        context: Context,
        /// The status code.
        status: StatusCode,
        /// The response body, at most 64 KiB, lossily decoded.
        body: String,
        /// How many seconds the server asked to wait before trying again (`Retry-After`), if
        /// it did (kept small: see [`Error::retry_after`]).
        retry_after: Option<u32>,
    },
    /// The request did not get an answer (connection refused or reset, timeout, stall).
    #[error("{context}: {source}")]
    Transport {
        /// Where.
        context: Context,
        /// What the transport said.
        #[source]
        source: TransportError,
    },
    /// The server answered something the protocol does not allow.
    #[error("{context}: protocol error: {reason}")]
    Protocol {
        /// Where.
        context: Context,
        /// What was wrong.
        reason: String,
    },
    /// The server does not speak tus 1.0.0 (it answered 412).
    #[error("{context}: the server does not support tus 1.0.0 (it supports: {server_versions})")]
    UnsupportedVersion {
        /// Where.
        context: Context,
        /// The server's `Tus-Version`.
        server_versions: String,
    },
    /// The upload is larger than the server accepts (`Tus-Max-Size`).
    #[error(
        "{context}: the upload is {size} bytes, over the server's Tus-Max-Size of {max_size} bytes"
    )]
    TooLarge {
        /// Where.
        context: Context,
        /// The upload's size.
        size: u64,
        /// The server's limit.
        max_size: u64,
    },
    /// The server's `Upload-Length` differs from the source's size: a different file.
    #[error(
        "{context}: the server's Upload-Length is {server} bytes but the source has {local} bytes"
    )]
    LengthMismatch {
        /// Where.
        context: Context,
        /// The server's length.
        server: u64,
        /// The local size.
        local: u64,
    },
    /// The file being uploaded changed (it grew, shrank, was edited or replaced) since the
    /// upload started: what reached the server may be a mix of two versions, so tusky stops.
    #[error("{context}: the file changed during the upload: {reason}")]
    SourceChanged {
        /// Where.
        context: Context,
        /// What changed.
        reason: String,
    },
    /// Reading the source failed.
    #[error("{context}: {source}")]
    Source {
        /// Where.
        context: Context,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The URL store failed (on the record under `key`, when it was about one).
    #[error("URL store{}: {source}", key.as_ref().map(|k| format!(", record {k:?}")).unwrap_or_default())]
    Storage {
        /// The record's key, when the failure was about one record.
        key: Option<String>,
        /// What the store said.
        #[source]
        source: StorageError,
    },
    /// Metadata that cannot be sent.
    #[error("invalid metadata: {0}")]
    Metadata(#[from] MetadataError),
    /// A client or uploader was configured in a way that cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Retries were exhausted; `last` is the final attempt's error.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// How many attempts were made in all.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<Error>,
    },
    /// The upload was cancelled; the stored record is kept, so it can resume later.
    #[error("{context}: cancelled")]
    Cancelled {
        /// Where.
        context: Context,
    },
}

impl Error {
    /// The HTTP status the server answered, if the error comes from an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::UnsupportedVersion { .. } => Some(StatusCode::PRECONDITION_FAILED),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The (bounded) response body, if the error comes from an answer.
    pub fn body(&self) -> Option<&str> {
        match self {
            Self::Status { body, .. } => Some(body),
            Self::RetriesExhausted { last, .. } => last.body(),
            _ => None,
        }
    }

    /// Where the error happened, when known.
    pub fn context(&self) -> Option<&Context> {
        match self {
            Self::Status { context, .. }
            | Self::Transport { context, .. }
            | Self::Protocol { context, .. }
            | Self::UnsupportedVersion { context, .. }
            | Self::TooLarge { context, .. }
            | Self::LengthMismatch { context, .. }
            | Self::Source { context, .. }
            | Self::SourceChanged { context, .. }
            | Self::Cancelled { context } => Some(context),
            Self::RetriesExhausted { last, .. } => last.context(),
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After` on a 429 or 503).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Status { retry_after, .. } => {
                retry_after.map(|secs| std::time::Duration::from_secs(u64::from(secs)))
            }
            Self::RetriesExhausted { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// Whether trying the same thing again may succeed: network errors, timeouts, 5xx, 429
    /// (too many requests), 423 (locked), 409 (offset mismatch, after re-reading the offset) and
    /// 460 (checksum mismatch).
    /// Other 4xx, protocol errors and local errors are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.is_transient(),
            Self::Status { status, .. } => {
                status.is_server_error() || matches!(status.as_u16(), 409 | 423 | 429 | 460)
            }
            _ => false,
        }
    }

    pub(crate) fn protocol(context: Context, reason: impl Into<String>) -> Self {
        Self::Protocol {
            context,
            reason: reason.into(),
        }
    }

    pub(crate) fn header(context: Context, error: HeaderError) -> Self {
        Self::Protocol {
            context,
            reason: error.to_string(),
        }
    }
}

impl From<StorageError> for Error {
    /// A store failure that is not about one record (opening the store, say).
    fn from(source: StorageError) -> Self {
        Self::Storage { key: None, source }
    }
}

/// `Result<T, tusky::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
