//! [`PositionalFile`]: a file tusky opened, read at explicit positions on blocking threads, in
//! [`BLOCK`]-sized reads into pooled buffers. A chunk's body and the next chunk's digest can read
//! it at the same time: neither moves a shared cursor.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::buffers::{BufferPool, BLOCK};
use crate::protocol::ChecksumAlgorithm;

/// An open file, shared by the tasks that read it.
#[derive(Clone)]
pub(crate) struct PositionalFile {
    file: Arc<File>,
    pool: Arc<BufferPool>,
    /// The runtime the source was opened on: its blocking threads do the reads, whoever polls
    /// the body (a transport may poll it on a task of its own).
    runtime: Handle,
    /// Bytes digested so far (what tests watch to see a digest made while a chunk is sent).
    digested: Arc<AtomicU64>,
    /// The first block of the next chunk, read while the server answers the current one.
    prefetched: Arc<Mutex<Option<Prefetched>>>,
    /// How many bodies started with a prefetched block (what tests watch).
    prefetch_hits: Arc<AtomicU64>,
}

/// A block read ahead of its body: `len` bytes at `at`.
struct Prefetched {
    at: u64,
    len: usize,
    read: JoinHandle<io::Result<Bytes>>,
}

impl PositionalFile {
    /// Reads `file` from the blocking threads of the current runtime.
    pub(crate) fn new(file: File) -> io::Result<Self> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        Ok(Self {
            file: Arc::new(file),
            pool: Arc::default(),
            runtime,
            digested: Arc::default(),
            prefetched: Arc::default(),
            prefetch_hits: Arc::default(),
        })
    }

    /// Starts reading the `len` bytes at `at` (at most [`BLOCK`]) for a body that is to come:
    /// the next chunk's first block, read while the server answers the current chunk, so that
    /// the next PATCH does not wait for it. Replaces any earlier one.
    pub(crate) fn prefetch(&self, at: u64, len: usize) {
        let read = self.read_block(at, len);
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = Some(Prefetched { at, len, read });
    }

    /// The read of the `len` bytes at `at`: the prefetched one when it starts there and holds
    /// at least that much (the caller keeps the first `len` bytes), else a new one.
    pub(crate) fn read_first_block(&self, at: u64, len: usize) -> JoinHandle<io::Result<Bytes>> {
        let prefetched = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match prefetched {
            Some(p) if p.at == at && p.len >= len => {
                self.prefetch_hits.fetch_add(1, Ordering::Relaxed);
                p.read
            }
            _ => self.read_block(at, len),
        }
    }

    /// The file, for a caller that wants it back (a second handle if a task still reads it).
    pub(crate) fn into_file(self) -> io::Result<File> {
        Arc::try_unwrap(self.file).or_else(|shared| shared.try_clone())
    }

    /// Reads `len` (at most [`BLOCK`]) bytes at `at` on a blocking thread, into a pooled buffer.
    pub(crate) fn read_block(&self, at: u64, len: usize) -> JoinHandle<io::Result<Bytes>> {
        let this = self.clone();
        self.runtime.spawn_blocking(move || {
            let mut buffer = this.pool.take();
            let len = len.min(buffer.len());
            match read_exact_at(&this.file, &mut buffer[..len], at) {
                Ok(()) => Ok(BufferPool::lend(&this.pool, buffer, len)),
                Err(error) => {
                    this.pool.give_back(buffer);
                    Err(error)
                }
            }
        })
    }

    /// Digests the `len` bytes at `at` on a blocking thread, one pooled buffer at a time.
    /// `Ok(None)` when `stop` was set before the end.
    pub(crate) fn digest(
        &self,
        at: u64,
        len: u64,
        algorithm: ChecksumAlgorithm,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<io::Result<Option<String>>> {
        let this = self.clone();
        self.runtime.spawn_blocking(move || {
            let mut digest = algorithm.digest();
            let mut buffer = this.pool.take();
            let mut result = Ok(());
            let mut done = 0;
            while done < len && !stop.load(Ordering::Relaxed) {
                let n = (len - done).min(buffer.len() as u64) as usize;
                result = read_exact_at(&this.file, &mut buffer[..n], at + done);
                if result.is_err() {
                    break;
                }
                digest.update(&buffer[..n]);
                this.digested.fetch_add(n as u64, Ordering::Relaxed);
                done += n as u64;
            }
            this.pool.give_back(buffer);
            result.map(|()| (done == len).then(|| digest.header_value()))
        })
    }

    /// Runs `task` on the runtime the source was opened on (whoever polls the caller).
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        task: impl std::future::Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        self.runtime.spawn(task)
    }

    /// How many bodies started with a prefetched block.
    #[cfg(test)]
    pub(crate) fn prefetch_hits(&self) -> u64 {
        self.prefetch_hits.load(Ordering::Relaxed)
    }

    /// The count of bytes digested, as it grows.
    #[cfg(test)]
    pub(crate) fn digested(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.digested)
    }

    /// The `len` bytes at `at`, read block by block and handed to `each` (on this task).
    pub(crate) async fn for_each_block(
        &self,
        at: u64,
        len: u64,
        mut each: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        let mut done = 0;
        while done < len {
            let n = (len - done).min(BLOCK as u64) as usize;
            let block = joined(self.read_block(at + done, n).await)?;
            each(&block);
            done += n as u64;
        }
        Ok(())
    }
}

/// The result of a blocking read task (a task that panicked or was cancelled is an I/O error).
pub(crate) fn joined<T>(outcome: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    outcome.unwrap_or_else(|e| Err(io::Error::other(format!("reading the file failed: {e}"))))
}

/// Fills `buf` from `file` at `offset`; a file that ends first is an `UnexpectedEof` that says
/// where.
fn read_exact_at(file: &File, mut buf: &mut [u8], offset: u64) -> io::Result<()> {
    let end = offset + buf.len() as u64;
    let mut at = offset;
    while !buf.is_empty() {
        match read_at(file, buf, at) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                    "the source ended early: nothing to read at byte {at} (expected up to {end})"
                ),
                ))
            }
            Ok(n) => {
                buf = &mut buf[n..];
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // Moves the file's cursor too, which nothing else uses.
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Elsewhere: a seek and a read, one at a time for the whole process.
#[cfg(not(any(unix, windows)))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}
