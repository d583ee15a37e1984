//! [`BufferPool`]: the few block buffers a file source reads into, reused from one block to the
//! next, so that reading a file allocates (and zeroes) memory only at the start.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// How much of a file one positional read takes (the size of a pooled buffer).
pub(crate) const BLOCK: usize = 1024 * 1024;

/// How many free buffers a pool keeps: one being read, one being sent, one the connection may
/// still hold, one for the next chunk's digest. More are allocated if ever needed, and dropped
/// when given back.
const KEEP: usize = 4;

/// Block buffers of one source, shared by its body streams and its digests.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Box<[u8]>>>,
}

impl BufferPool {
    /// A buffer of [`BLOCK`] bytes: a free one, or a new one.
    pub(crate) fn take(&self) -> Box<[u8]> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        reused.unwrap_or_else(|| vec![0; BLOCK].into_boxed_slice())
    }

    /// Keeps `buffer` for the next [`take`](Self::take), unless enough are kept already.
    pub(crate) fn give_back(&self, buffer: Box<[u8]>) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < KEEP && buffer.len() == BLOCK {
            free.push(buffer);
        }
    }

    /// The first `len` bytes of `buffer` (taken from `pool`) as `Bytes`, without a copy; the
    /// buffer goes back to the pool when the last piece of them is dropped.
    pub(crate) fn lend(pool: &Arc<Self>, buffer: Box<[u8]>, len: usize) -> Bytes {
        Bytes::from_owner(Lent {
            len: len.min(buffer.len()),
            buffer,
            pool: Arc::clone(pool),
        })
    }
}

/// A pooled buffer on loan to a `Bytes`.
struct Lent {
    buffer: Box<[u8]>,
    len: usize,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_buffer_comes_back_when_its_last_piece_is_dropped() {
        let pool = Arc::new(BufferPool::default());
        let mut buffer = pool.take();
        buffer[..3].copy_from_slice(b"abc");
        let address = buffer.as_ptr();
        let bytes = BufferPool::lend(&pool, buffer, 3);
        let piece = bytes.slice(1..);
        assert_eq!(&piece[..], b"bc");
        assert_eq!(bytes.as_ptr(), address, "no copy");
        drop(bytes);
        assert!(
            pool.free.lock().unwrap().is_empty(),
            "a piece still holds it"
        );
        drop(piece);
        let again = pool.take();
        assert_eq!(again.as_ptr(), address, "the same buffer again");
    }

    #[test]
    fn the_pool_keeps_only_a_few() {
        let pool = Arc::new(BufferPool::default());
        let buffers: Vec<_> = (0..KEEP + 2).map(|_| pool.take()).collect();
        for buffer in buffers {
            pool.give_back(buffer);
        }
        assert_eq!(pool.free.lock().unwrap().len(), KEEP);
    }
}
