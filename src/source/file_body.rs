//! [`FileBody`]: the body of one chunk of a [`PositionalFile`]. Each block is read by one
//! blocking task into a pooled buffer, the next block while the current one is sent; the
//! transport takes the block in [`PIECE`]-sized views of it, not copies. A failed read ends the
//! body with an error and is kept in a [`ReadFailure`] for the uploader. Once it has been taken
//! whole, the next chunk's first block is read ahead (`PositionalFile::prefetch`), for the next
//! body to start with while the server answers this one.

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
    /// Where the source ends: the next chunk's first block, up to there, is read ahead once
    /// this body has been taken.
    limit: u64,
    /// The block being read, and its length.
    reading: Option<(JoinHandle<io::Result<Bytes>>, usize)>,
    /// What is left of the block being sent.
    current: Bytes,
    /// Bytes handed to the transport.
    sent: Arc<AtomicU64>,
    failure: ReadFailure,
    /// Fired when the last byte has been handed to the transport (a look-ahead waits for it).
    when_sent: Option<oneshot::Sender<()>>,
}

impl FileBody {
    /// The bytes `range` of `file`, a source that ends at `limit`.
    pub(crate) fn new(
        file: PositionalFile,
        (range, limit): (std::ops::Range<u64>, u64),
        sent: Arc<AtomicU64>,
        failure: ReadFailure,
        when_sent: Option<oneshot::Sender<()>>,
    ) -> Self {
        let mut body = Self {
            file,
            next: range.start,
            end: range.end,
            limit,
            reading: None,
            current: Bytes::new(),
            sent,
            failure,
            when_sent,
        };
        body.read_first();
        body
    }

    /// Starts reading the first block: perhaps read ahead already, while the chunk before was
    /// answered.
    fn read_first(&mut self) {
        if self.next < self.end {
            let len = (self.end - self.next).min(BLOCK as u64) as usize;
            self.reading = Some((self.file.read_first_block(self.next, len), len));
            self.next += len as u64;
        }
    }

    /// Starts reading the next block, unless one is being read or none is left.
    fn read_ahead(&mut self) {
        if self.reading.is_none() && self.next < self.end {
            let len = (self.end - self.next).min(BLOCK as u64) as usize;
            self.reading = Some((self.file.read_block(self.next, len), len));
            self.next += len as u64;
        }
    }

    /// The whole body has been taken: tells a waiting look-ahead, and reads the next chunk's
    /// first block (if the source goes on) while the server answers this one.
    fn taken_whole(&mut self) {
        if let Some(when_sent) = self.when_sent.take() {
            let _ = when_sent.send(());
        }
        let next_len = (self.limit.saturating_sub(self.end)).min(BLOCK as u64) as usize;
        if next_len > 0 {
            self.file.prefetch(self.end, next_len);
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
                    this.taken_whole();
                }
                return Poll::Ready(Some(Ok(piece)));
            }
            let Some((reading, len)) = this.reading.as_mut() else {
                return Poll::Ready(None);
            };
            let len = *len;
            let block = joined(ready!(Pin::new(reading).poll(cx)));
            this.reading = None;
            match block {
                Ok(mut block) => {
                    // A block read ahead may be longer than this chunk.
                    block.truncate(len);
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
