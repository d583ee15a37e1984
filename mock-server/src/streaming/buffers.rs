//! [`BufferPool`]: the buffers bodies are gathered in, kept across requests.
//!
//! A buffer freshly allocated for each request costs a page fault per 4 KiB the first time
//! it is filled (the allocator gives large blocks back to the system when they are freed);
//! a buffer that comes back to the pool is filled again without one.

use std::sync::{Mutex, PoisonError};

/// Buffers of one size; at most `keep` of them wait in the pool.
#[derive(Debug)]
pub(crate) struct BufferPool {
    size: usize,
    keep: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// A pool of `size`-byte buffers keeping at most `keep` of them when idle.
    pub(crate) fn new(size: usize, keep: usize) -> Self {
        BufferPool {
            size,
            keep,
            free: Mutex::new(Vec::new()),
        }
    }

    /// The size of every buffer.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// An empty buffer with room for [`size`](Self::size) bytes.
    pub(crate) fn take(&self) -> Vec<u8> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        reused.unwrap_or_else(|| Vec::with_capacity(self.size))
    }

    /// Gives `buffer` back (dropped when the pool is full or the buffer is not one of its).
    pub(crate) fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() != self.size {
            return;
        }
        buffer.clear();
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < self.keep {
            free.push(buffer);
        }
    }

    /// How many buffers wait in the pool.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_up_to_the_limit() {
        let pool = BufferPool::new(16, 2);
        let mut a = pool.take();
        a.extend_from_slice(b"abc");
        let address = a.as_ptr();
        let (b, c) = (pool.take(), pool.take());
        pool.give(a);
        pool.give(b);
        pool.give(c);
        assert_eq!(pool.idle(), 2, "the third one is dropped");
        pool.give(Vec::with_capacity(3));
        assert_eq!(pool.idle(), 2, "a buffer of another size is not kept");
        let _ = pool.take();
        let again = pool.take();
        assert!(again.is_empty() && again.capacity() == 16);
        assert_eq!(again.as_ptr(), address, "the same memory");
    }
}
