//! A synchronous front for callers without an async runtime (tuspy's `Uploader`).
//!
//! Build an uploader with the same builder and options as the async one, then call
//! [`UploaderBuilder::build_blocking`](crate::UploaderBuilder::build_blocking). All blocking
//! uploaders of one [`Client`](crate::Client) (and its clones) run on one runtime with one
//! worker thread, made by the first of them, as `reqwest::blocking` does: the connections
//! they share are always driven, whichever uploader is busy.
//!
//! ```no_run
//! # fn main() -> Result<(), tusky::Error> {
//! let client = tusky::Client::new("https://tus.example/files/")?;
//! let file = std::fs::File::open("video.mp4").map_err(|e| tusky::Error::Config(e.to_string()))?;
//! let mut uploader = client
//!     .uploader()
//!     .reader(tusky::blocking::SyncReader::new(file))
//!     .build_blocking()?;
//! let summary = uploader.upload()?;
//! println!("{}", summary.url);
//! # Ok(()) }
//! ```

use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use url::Url;

use crate::fingerprint::Fingerprint;
use crate::storage::Storage;
use crate::transport::Transport;
use crate::{Error, Result, UploadSummary, UploaderBuilder};

/// The runtime a client's blocking uploaders share; shut down in the background when the
/// last of them (and the client) are gone, so dropping it never blocks or panics.
pub(crate) struct SharedRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl SharedRuntime {
    fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tusky-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("starting the blocking uploaders' runtime: {e}")))?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::Config(
                "the blocking runtime is shut down".to_owned(),
            )),
        }
    }
}

impl Drop for SharedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl<T: Transport> crate::Client<T> {
    /// The runtime of this client's blocking uploaders (made on first use).
    fn blocking_runtime(&self) -> Result<Arc<SharedRuntime>> {
        if let Some(runtime) = self.inner().blocking.get() {
            return Ok(Arc::clone(runtime));
        }
        let made = Arc::new(SharedRuntime::new()?);
        // Two threads may race here: the one that loses uses the winner's runtime.
        Ok(Arc::clone(self.inner().blocking.get_or_init(|| made)))
    }
}

/// A synchronous [`Uploader`](crate::Uploader).
pub struct Uploader<T: Transport, S: Storage, F: Fingerprint> {
    inner: crate::Uploader<T, S, F>,
    runtime: Arc<SharedRuntime>,
}

impl<T: Transport, S: Storage, F: Fingerprint> std::fmt::Debug for Uploader<T, S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Uploader")
            .field(&self.inner)
            .finish()
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> UploaderBuilder<T, S, F> {
    /// Builds a synchronous uploader. Fails if called from inside an async runtime (use the
    /// async uploader there).
    pub fn build_blocking(self) -> Result<Uploader<T, S, F>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Config(
                "the blocking uploader cannot run inside an async runtime; use build() and .await"
                    .to_owned(),
            ));
        }
        let runtime = self.client().blocking_runtime()?;
        Ok(Uploader {
            inner: self.build()?,
            runtime,
        })
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    /// Uploads everything (see [`crate::Uploader::upload`]).
    pub fn upload(&mut self) -> Result<UploadSummary> {
        self.runtime.block_on(self.inner.upload())?
    }

    /// Uploads up to `stop_at` bytes.
    pub fn upload_until(&mut self, stop_at: u64) -> Result<UploadSummary> {
        self.runtime.block_on(self.inner.upload_until(stop_at))?
    }

    /// Sends one chunk and returns the new offset.
    pub fn upload_chunk(&mut self) -> Result<u64> {
        self.runtime.block_on(self.inner.upload_chunk())?
    }

    /// Creates the upload if needed and returns its URL.
    pub fn create(&mut self) -> Result<Url> {
        self.runtime.block_on(self.inner.create())?
    }

    /// Reads the server's offset with HEAD.
    pub fn get_offset(&mut self) -> Result<u64> {
        self.runtime.block_on(self.inner.get_offset())?
    }

    /// Terminates the upload (DELETE) and forgets its stored record.
    pub fn terminate(&mut self) -> Result<()> {
        self.runtime.block_on(self.inner.terminate())?
    }

    /// The last acknowledged offset.
    pub fn offset(&self) -> u64 {
        self.inner.offset()
    }

    /// The upload URL, once known.
    pub fn url(&self) -> Option<&Url> {
        self.inner.url()
    }

    /// The async uploader inside.
    pub fn into_inner(self) -> crate::Uploader<T, S, F> {
        self.inner
    }
}

/// Adapts a `std::io::Read + Seek` (a `std::fs::File`, a `Cursor`) to the async source traits
/// by doing each read and seek inline. Meant for the blocking uploader, whose runtime has
/// nothing else to run; in async code, use `tokio::fs::File` instead.
#[derive(Debug)]
pub struct SyncReader<R> {
    inner: R,
    seek_result: Option<std::io::Result<u64>>,
}

impl<R: Read + Seek> SyncReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            seek_result: None,
        }
    }

    /// Gives back the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read + Unpin> AsyncRead for SyncReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.inner.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: Seek + Unpin> AsyncSeek for SyncReader<R> {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        let result = self.inner.seek(position);
        self.seek_result = Some(result);
        Ok(())
    }

    fn poll_complete(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        match self.seek_result.take() {
            Some(result) => Poll::Ready(result),
            None => Poll::Ready(self.inner.stream_position()),
        }
    }
}
