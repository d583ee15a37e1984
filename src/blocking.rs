//! A synchronous front for callers without an async runtime (tuspy's `Uploader`).
//!
//! Build an uploader with the same builder and options as the async one, then call
//! [`UploaderBuilder::build_blocking`](crate::UploaderBuilder::build_blocking). The blocking
//! uploader runs the async one on a private single-threaded runtime.
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
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use url::Url;

use crate::fingerprint::Fingerprint;
use crate::storage::Storage;
use crate::transport::Transport;
use crate::{Error, Result, UploadSummary, UploaderBuilder};

/// A synchronous [`Uploader`](crate::Uploader).
pub struct Uploader<T: Transport, S: Storage, F: Fingerprint> {
    inner: crate::Uploader<T, S, F>,
    runtime: tokio::runtime::Runtime,
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("starting the blocking uploader's runtime: {e}")))?;
        Ok(Uploader {
            inner: self.build()?,
            runtime,
        })
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    /// Uploads everything (see [`crate::Uploader::upload`]).
    pub fn upload(&mut self) -> Result<UploadSummary> {
        self.runtime.block_on(self.inner.upload())
    }

    /// Uploads up to `stop_at` bytes.
    pub fn upload_until(&mut self, stop_at: u64) -> Result<UploadSummary> {
        self.runtime.block_on(self.inner.upload_until(stop_at))
    }

    /// Sends one chunk and returns the new offset.
    pub fn upload_chunk(&mut self) -> Result<u64> {
        self.runtime.block_on(self.inner.upload_chunk())
    }

    /// Creates the upload if needed and returns its URL.
    pub fn create(&mut self) -> Result<Url> {
        self.runtime.block_on(self.inner.create())
    }

    /// Reads the server's offset with HEAD.
    pub fn get_offset(&mut self) -> Result<u64> {
        self.runtime.block_on(self.inner.get_offset())
    }

    /// Terminates the upload (DELETE) and forgets its stored record.
    pub fn terminate(&mut self) -> Result<()> {
        self.runtime.block_on(self.inner.terminate())
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
