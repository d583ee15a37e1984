//! [`Options`]: everything an uploader is configured with, apart from its storage and
//! fingerprint. Not generic, so the builder moves it whole when those two change type.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use super::chunk_size::ChunkSize;
use crate::progress::{CancellationToken, ProgressCallback, ProgressEvent};
use crate::protocol::ChecksumAlgorithm;
use crate::retry::{ExponentialBackoff, RetryPolicy};

/// How `Upload-Checksum` is chosen.
#[derive(Debug, Clone)]
pub(crate) enum ChecksumMode {
    Off,
    Always(ChecksumAlgorithm),
    Negotiate(Vec<ChecksumAlgorithm>),
}

/// When a file's chunk digests (`Upload-Checksum`) are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestTiming {
    /// The next chunk's while the current one is sent (the look-ahead): the default.
    Ahead,
    /// Each chunk's when it is planned, in a read of its own before its request: only for
    /// benchmarks, to measure what the look-ahead saves.
    WhenPlanned,
}

/// What an upload is, to the server: a whole upload, or one partial upload of a parallel
/// upload (`Upload-Concat: partial`, no metadata, never stored on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Whole,
    Part,
}

/// Whether a gone upload may be created again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recreate {
    /// Yes for stored and created URLs, no for an explicit one (the default).
    UnlessExplicit,
    Always,
    Never,
}

/// The uploader's settings, fixed at build time.
#[derive(Clone)]
pub(crate) struct Options {
    pub chunk_size: ChunkSize,
    /// The encoded `Upload-Metadata` value.
    pub metadata: Option<String>,
    /// The uploader's own headers (beside the client's).
    pub headers: HeaderMap,
    pub checksum: ChecksumMode,
    pub digest_timing: DigestTiming,
    pub retry: Arc<dyn RetryPolicy>,
    pub progress: Option<ProgressCallback>,
    pub cancel: CancellationToken,
    pub stall_timeout: Option<Duration>,
    pub remove_record_on_success: bool,
    pub recreate: Recreate,
    pub creation_with_upload: bool,
    /// Whether creation POSTs and the final POST carry an `Idempotency-Key`.
    pub idempotent_creation: bool,
    /// Partial uploads sent at once (concatenation); 1 = a single upload.
    pub parallel: usize,
    /// How many partial uploads the file is split into (at least `parallel`'s worth of work).
    pub parts: super::parallel::PartCount,
    pub role: Role,
    /// Whether the acknowledged bytes' digest is kept and checked before resuming.
    pub verify_content: bool,
    /// The pause a server's `Retry-After` sets, shared by the parts of a parallel upload.
    pub pause: Arc<super::retry_path::Pause>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            chunk_size: ChunkSize::default(),
            metadata: None,
            headers: HeaderMap::new(),
            checksum: ChecksumMode::Off,
            digest_timing: DigestTiming::Ahead,
            retry: Arc::new(ExponentialBackoff::default()),
            progress: None,
            cancel: CancellationToken::new(),
            stall_timeout: Some(Duration::from_secs(60)),
            remove_record_on_success: true,
            recreate: Recreate::UnlessExplicit,
            creation_with_upload: true,
            idempotent_creation: false,
            parallel: 1,
            parts: super::parallel::PartCount::Auto,
            role: Role::Whole,
            verify_content: false,
            pause: Arc::default(),
        }
    }
}

impl Options {
    /// Reports `event` to the progress callback, if there is one.
    pub(crate) fn emit(&self, event: ProgressEvent) {
        if let Some(callback) = &self.progress {
            callback(&event);
        }
    }
}
