//! Progress events and cancellation.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use tokio_util::sync::CancellationToken;

/// Something that happened during an upload, reported to the progress callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The upload has a URL and starts (or resumes) at `offset`.
    Started {
        /// The upload URL.
        url: Url,
        /// Where sending starts.
        offset: u64,
        /// The total size, when known.
        total: Option<u64>,
        /// Whether an earlier upload is being continued (offset from the server).
        resumed: bool,
    },
    /// Bytes were handed to the connection; `sent` is the position in the source reached so far.
    BytesSent {
        /// Position reached.
        sent: u64,
        /// The total size, when known.
        total: Option<u64>,
    },
    /// The server acknowledged bytes up to `offset`. Never goes backwards for one upload URL.
    Acknowledged {
        /// The server's offset.
        offset: u64,
        /// The total size, when known.
        total: Option<u64>,
    },
    /// A PATCH completed, moving the offset from `start` to `end`.
    ChunkCompleted {
        /// Offset before.
        start: u64,
        /// Offset after.
        end: u64,
    },
    /// A failure will be retried after `delay`.
    RetryScheduled {
        /// The failure, as text.
        error: String,
        /// Failures in a row without progress.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// The old upload was unusable (gone, expired, different length); a new one is created.
    StartedOver {
        /// Why.
        reason: String,
    },
    /// The upload is complete.
    Finished {
        /// The upload URL.
        url: Url,
        /// Its size.
        total: u64,
    },
}

/// A progress callback: called on the uploading task, so keep it quick.
pub type ProgressCallback = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;
