//! [`LookAhead`]: the digest of the chunk after the one in flight, computed on a blocking thread
//! while that chunk is sent, so that checksums do not add a read of their own between PATCHes.
//!
//! `Upload-Checksum` goes in the headers, before the body, so a chunk's digest must be known
//! before its first byte is sent. The next chunk is where the server's offset will be if it
//! accepts all of this one; when its answer says otherwise (it kept part of the chunk, it
//! refused it, the chunk shrank), the look-ahead is discarded and the right range is digested
//! when it is planned. It holds no chunk in memory: it reads the range one pooled block at a
//! time.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::positional::{joined, PositionalFile};
use crate::protocol::ChecksumAlgorithm;

/// One range's digest: which bytes, with which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DigestOf {
    /// Where the range starts in the file.
    pub at: u64,
    pub len: u64,
    pub algorithm: ChecksumAlgorithm,
}

/// How the digests of a source's chunks were made (for tests and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LookAheadStats {
    /// Look-aheads started.
    pub started: u64,
    /// Chunks whose digest was the look-ahead's.
    pub used: u64,
    /// Look-aheads thrown away: the next chunk was another range.
    pub discarded: u64,
    /// Digests computed when the chunk was planned (the first chunk, and after a discard).
    pub in_place: u64,
}

struct Running {
    of: DigestOf,
    task: JoinHandle<io::Result<Option<String>>>,
    stop: Arc<AtomicBool>,
}

/// At most one digest computed ahead.
#[derive(Default)]
pub(crate) struct LookAhead {
    running: Option<Running>,
    stats: LookAheadStats,
}

impl LookAhead {
    /// Starts digesting `of` (replacing any earlier look-ahead).
    pub(crate) fn start(&mut self, file: &PositionalFile, of: DigestOf) {
        self.discard();
        let stop = Arc::new(AtomicBool::new(false));
        let task = file.digest(of.at, of.len, of.algorithm, Arc::clone(&stop));
        self.running = Some(Running { of, task, stop });
        self.stats.started += 1;
    }

    /// The digest of `of`: the look-ahead's when it is of exactly that range, else (after
    /// discarding it) one computed now.
    pub(crate) async fn digest(
        &mut self,
        file: &PositionalFile,
        of: DigestOf,
    ) -> io::Result<String> {
        match self.running.take() {
            Some(running) if running.of == of => {
                if let Some(digest) = joined(running.task.await)? {
                    self.stats.used += 1;
                    return Ok(digest);
                }
            }
            Some(running) => {
                tracing::debug!(ahead = ?running.of, wanted = ?of, "checksum look-ahead discarded");
                self.running = Some(running);
                self.discard();
            }
            None => {}
        }
        self.stats.in_place += 1;
        let whole = Arc::new(AtomicBool::new(false));
        joined(file.digest(of.at, of.len, of.algorithm, whole).await)?
            .ok_or_else(|| io::Error::other("a digest stopped before its end"))
    }

    /// Stops the running look-ahead, if any (its task ends at its next block).
    pub(crate) fn discard(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.store(true, Ordering::Relaxed);
            self.stats.discarded += 1;
        }
    }

    pub(crate) fn stats(&self) -> LookAheadStats {
        self.stats
    }
}

impl Drop for LookAhead {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.stop.store(true, Ordering::Relaxed);
        }
    }
}
