//! [`FileBody`]: the body of one chunk of a [`PositionalFile`]. Each block is read by one
//! blocking task into a pooled buffer, the next block while the current one is sent; the
//! transport takes the block in [`PIECE`]-sized views of it, not copies. A failed read ends the
//! body with an error and is kept in a [`ReadFailure`] for the uploader.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::buffers::BLOCK;
use super::positional::{joined, PositionalFile};
use super::PIECE;

/// Where a body puts the error that stopped it, for the uploader to report instead of the
/// transport's view of it (a body that ended early).
#[derive(Clone, Default)]
pub(crate) struct ReadFailure(Arc<Mutex<Option<io::Error>>>);

impl ReadFailure {
    fn set(&self, error: io::Error) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    /// The error, if reading failed.
    pub(crate) fn take(&self) -> Option<io::Error> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The bytes `[next, end)` of a file, as a stream of pieces.
pub(crate) struct FileBody {
    file: PositionalFile,
    /// Where the next block to read starts.
    next: u64,
    end: u64,
    /// The block being read.
    reading: Option<JoinHandle<io::Result<Bytes>>>,
    /// What is left of the block being sent.
    current: Bytes,
    /// Bytes handed to the transport.
    sent: Arc<AtomicU64>,
    failure: ReadFailure,
    /// Fired when the last byte has been handed to the transport (a look-ahead waits for it).
    when_sent: Option<oneshot::Sender<()>>,
}

impl FileBody {
    pub(crate) fn new(
        file: PositionalFile,
        at: u64,
        len: u64,
        sent: Arc<AtomicU64>,
        failure: ReadFailure,
        when_sent: Option<oneshot::Sender<()>>,
    ) -> Self {
        let mut body = Self {
            file,
            next: at,
            end: at + len,
            reading: None,
            current: Bytes::new(),
            sent,
            failure,
            when_sent,
        };
        body.read_ahead();
        body
    }

    /// Starts reading the next block, unless one is being read or none is left.
    fn read_ahead(&mut self) {
        if self.reading.is_none() && self.next < self.end {
            let len = (self.end - self.next).min(BLOCK as u64) as usize;
            self.reading = Some(self.file.read_block(self.next, len));
            self.next += len as u64;
        }
    }
}

impl Stream for FileBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if !this.current.is_empty() {
                let piece = this.current.split_to(PIECE.min(this.current.len()));
                this.read_ahead();
                this.sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                if this.current.is_empty() && this.reading.is_none() {
                    if let Some(when_sent) = this.when_sent.take() {
                        let _ = when_sent.send(());
                    }
                }
                return Poll::Ready(Some(Ok(piece)));
            }
            let Some(reading) = this.reading.as_mut() else {
                return Poll::Ready(None);
            };
            let block = joined(ready!(Pin::new(reading).poll(cx)));
            this.reading = None;
            match block {
                Ok(block) => {
                    this.current = block;
                    this.read_ahead();
                }
                Err(error) => {
                    this.next = this.end;
                    let told = io::Error::new(error.kind(), error.to_string());
                    this.failure.set(error);
                    return Poll::Ready(Some(Err(told)));
                }
            }
        }
    }
}
