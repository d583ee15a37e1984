//! Sources of unknown length: a reader that hands out its bytes in pieces of chosen sizes, and
//! a pipe fed by a task.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWriteExt, DuplexStream, ReadBuf};

/// A reader of unknown length whose reads end at chosen places: read `n` hands out at most
/// `pieces[n % pieces.len()]` bytes, as a pipe would.
pub struct Trickle {
    data: Vec<u8>,
    position: usize,
    pieces: Vec<usize>,
    reads: usize,
}

impl Trickle {
    /// At most `max_read` bytes per read.
    pub fn new(data: impl Into<Vec<u8>>, max_read: usize) -> Self {
        Self::with_pieces(data, vec![max_read])
    }

    /// Reads of the sizes in `pieces`, cycled (none may be 0).
    pub fn with_pieces(data: impl Into<Vec<u8>>, pieces: Vec<usize>) -> Self {
        assert!(!pieces.is_empty() && !pieces.contains(&0), "{pieces:?}");
        Self {
            data: data.into(),
            position: 0,
            pieces,
            reads: 0,
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let piece = this.pieces[this.reads % this.pieces.len()];
        this.reads += 1;
        let n = piece
            .min(buf.remaining())
            .min(this.data.len() - this.position);
        buf.put_slice(&this.data[this.position..this.position + n]);
        this.position += n;
        Poll::Ready(Ok(()))
    }
}

/// A pipe (with a buffer of `capacity` bytes) fed with `bytes` by a task, in writes of `piece`
/// bytes; the counter says how many bytes the task has handed to the pipe so far. The task
/// ends, closing the pipe, when everything is written or the reader is gone.
pub fn pipe(bytes: Vec<u8>, capacity: usize, piece: usize) -> (DuplexStream, Arc<AtomicU64>) {
    let (mut writer, reader) = tokio::io::duplex(capacity);
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        for part in bytes.chunks(piece) {
            if writer.write_all(part).await.is_err() {
                return;
            }
            counter.fetch_add(part.len() as u64, Ordering::SeqCst);
        }
    });
    (reader, written)
}
