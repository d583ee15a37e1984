//! [`LookAhead`]: the digest of the chunk after the one in flight, computed on a blocking thread
//! while that chunk is sent, so that checksums do not add a read of their own between PATCHes.
//!
//! `Upload-Checksum` goes in the headers, before the body, so a chunk's digest must be known
//! before its first byte is sent. The next chunk is where the server's offset will be if it
//! accepts all of this one; when its answer says otherwise (it kept part of the chunk, it
//! refused it, the chunk shrank), the look-ahead is discarded and the right range is digested
//! when it is planned. It holds no chunk in memory: it reads the range one pooled block at a
//! time.
//!
//! It starts when the chunk in flight has been handed to the connection whole, not when that
//! chunk starts: digesting while the body is sent takes CPU from the sending (on a machine
//! whose CPU moves the bytes, most of all on a loopback or a fast link), while after it there
//! is the wait for the server's answer, when the CPU is idle. Measured on 2 cores through a
//! proxy answering 20 ms late, 8 MiB chunks: sha256 cost 11 % of throughput started with the
//! body, 5–6 % started after it (benches/checksum.rs, `checksum_20ms`).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;
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

/// A digest being computed on a blocking thread; dropping it tells the task to stop at its
/// next block (a discarded look-ahead, an upload dropped while it waits for a digest).
struct Running {
    of: DigestOf,
    task: JoinHandle<io::Result<Option<String>>>,
    stop: Arc<AtomicBool>,
}

impl Running {
    fn start(file: &PositionalFile, of: DigestOf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = file.digest(of.at, of.len, of.algorithm, Arc::clone(&stop));
        Self { of, task, stop }
    }

    /// A digest that starts once `go` fires (or its sender is dropped).
    fn start_after(file: &PositionalFile, of: DigestOf, go: oneshot::Receiver<()>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (digesting, stopped) = (file.clone(), Arc::clone(&stop));
        let task = file.spawn(async move {
            // Either way: the body was sent, or it is gone (dropped, failed, never sent).
            let _ = go.await;
            joined(digesting.digest(of.at, of.len, of.algorithm, stopped).await)
        });
        Self { of, task, stop }
    }

    /// The digest, or `None` if the task was stopped before the end.
    async fn finish(&mut self) -> io::Result<Option<String>> {
        joined((&mut self.task).await)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// At most one digest computed ahead.
#[derive(Default)]
pub(crate) struct LookAhead {
    running: Option<Running>,
    /// Holds the running look-ahead back until the next body has been sent: the body takes it
    /// ([`when_sent`](Self::when_sent)) and fires it at its end; dropping it lets the digest
    /// start as well.
    gate: Option<oneshot::Sender<()>>,
    stats: LookAheadStats,
}

impl LookAhead {
    /// Starts digesting `of` (replacing any earlier look-ahead) once the next body has been
    /// sent whole.
    pub(crate) fn start(&mut self, file: &PositionalFile, of: DigestOf) {
        self.discard();
        let (gate, go) = oneshot::channel();
        self.running = Some(Running::start_after(file, of, go));
        self.gate = Some(gate);
        self.stats.started += 1;
    }

    /// What the body being sent fires when its last byte has been taken (the look-ahead's
    /// start), if a look-ahead waits for it.
    pub(crate) fn when_sent(&mut self) -> Option<oneshot::Sender<()>> {
        self.gate.take()
    }

    /// The digest of `of`: the look-ahead's when it is of exactly that range, else (after
    /// discarding it) one computed now.
    pub(crate) async fn digest(
        &mut self,
        file: &PositionalFile,
        of: DigestOf,
    ) -> io::Result<String> {
        // No body fired the gate (none was sent since the look-ahead started): start it now.
        self.gate = None;
        if let Some(mut ahead) = self.running.take() {
            if ahead.of == of {
                if let Some(digest) = ahead.finish().await? {
                    self.stats.used += 1;
                    return Ok(digest);
                }
            } else {
                tracing::debug!(ahead = ?ahead.of, wanted = ?of, "checksum look-ahead discarded");
                self.stats.discarded += 1;
            }
        }
        self.stats.in_place += 1;
        Running::start(file, of)
            .finish()
            .await?
            .ok_or_else(|| io::Error::other("a digest stopped before its end"))
    }

    /// Stops the running look-ahead, if any.
    pub(crate) fn discard(&mut self) {
        self.gate = None;
        if self.running.take().is_some() {
            self.stats.discarded += 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> LookAheadStats {
        self.stats
    }
}

impl Drop for LookAhead {
    fn drop(&mut self) {
        if self.stats.started > 0 {
            tracing::debug!(stats = ?self.stats, "checksum look-ahead");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use super::*;
    use crate::source::buffers::BLOCK;
    use crate::source::{Source, SourceSpec};
    use crate::transport::Body;
    use crate::wait_until::wait_until;

    /// A chunk of more than one block, not a multiple of the block.
    const CHUNK: u64 = BLOCK as u64 + 4099;
    const SHA256: ChecksumAlgorithm = ChecksumAlgorithm::Sha256;

    async fn three_chunk_file() -> (Vec<u8>, tempfile::TempDir, Source) {
        let bytes: Vec<u8> = (0..3 * CHUNK - 5).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.bin");
        std::fs::write(&path, &bytes).unwrap();
        let source = Source::open(SourceSpec::Path(path)).await.unwrap();
        (bytes, dir, source)
    }

    fn header(bytes: &[u8], start: u64, len: u64) -> Option<String> {
        Some(SHA256.header_for(&bytes[start as usize..(start + len) as usize]))
    }

    async fn collect(body: Body) -> Vec<u8> {
        use futures_util::StreamExt;
        match body {
            Body::Stream { stream, .. } => {
                stream.map(|piece| piece.unwrap().to_vec()).concat().await
            }
            other => panic!("a streamed body, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_next_chunk_is_digested_while_a_chunk_is_sent_and_then_used() {
        let (bytes, _dir, mut source) = three_chunk_file().await;
        let digested = source.digested().unwrap();
        let plan = source.plan(0, CHUNK, Some(SHA256)).await.unwrap();
        assert_eq!(plan.checksum, header(&bytes, 0, CHUNK));
        source.look_ahead(CHUNK, CHUNK, SHA256);
        let sent = Arc::new(AtomicU64::new(0));
        let (body, read_error) = source
            .send_range(0, CHUNK, sent, |body| async {
                let body = collect(body).await;
                // The chunk is in flight (its answer not yet given): the next chunk's digest
                // is made now, not after the answer.
                wait_until("the next chunk digested", Duration::from_secs(10), || {
                    let digested = Arc::clone(&digested);
                    async move { digested.load(Ordering::Relaxed) == 2 * CHUNK }
                })
                .await;
                body
            })
            .await;
        assert!(read_error.is_none());
        assert_eq!(body, bytes[..CHUNK as usize]);
        let plan = source.plan(CHUNK, CHUNK, Some(SHA256)).await.unwrap();
        assert_eq!(plan.checksum, header(&bytes, CHUNK, CHUNK));
        assert_eq!(
            digested.load(Ordering::Relaxed),
            2 * CHUNK,
            "not read again"
        );
        let stats = source.look_ahead_stats().unwrap();
        assert_eq!((stats.started, stats.used, stats.in_place), (1, 1, 1));
    }

    /// The next chunk's digest waits for the body in flight to be taken whole: started with
    /// the body, it would take CPU from the sending.
    #[tokio::test]
    async fn the_look_ahead_starts_once_the_body_in_flight_has_been_taken_whole() {
        use futures_util::StreamExt;
        let (bytes, _dir, mut source) = three_chunk_file().await;
        let digested = source.digested().unwrap();
        source.plan(0, CHUNK, Some(SHA256)).await.unwrap();
        source.look_ahead(CHUNK, CHUNK, SHA256);
        let next_digested = || {
            let digested = Arc::clone(&digested);
            async move { digested.load(Ordering::Relaxed) == 2 * CHUNK }
        };
        let sent = Arc::new(AtomicU64::new(0));
        let (taken, read_error) = source
            .send_range(0, CHUNK, sent, |body| async {
                let Body::Stream { mut stream, .. } = body else {
                    panic!("a file's chunk is streamed");
                };
                let mut taken = stream.next().await.unwrap().unwrap().to_vec();
                // One piece of the body taken: the digest (of about a megabyte, a few
                // milliseconds) has not started; it would be done long before this window ends.
                let early = tokio::time::timeout(
                    Duration::from_millis(300),
                    wait_until("digested early", Duration::from_secs(10), next_digested),
                )
                .await;
                assert!(early.is_err(), "the look-ahead started with the body");
                assert_eq!(digested.load(Ordering::Relaxed), CHUNK);
                while let Some(piece) = stream.next().await {
                    taken.extend_from_slice(&piece.unwrap());
                }
                wait_until(
                    "the next chunk digested",
                    Duration::from_secs(10),
                    next_digested,
                )
                .await;
                taken
            })
            .await;
        assert!(read_error.is_none());
        assert_eq!(taken, bytes[..CHUNK as usize]);
        let plan = source.plan(CHUNK, CHUNK, Some(SHA256)).await.unwrap();
        assert_eq!(plan.checksum, header(&bytes, CHUNK, CHUNK));
        assert_eq!(source.look_ahead_stats().unwrap().used, 1);
    }

    /// A look-ahead whose body was never sent (the request failed before it) starts when the
    /// next chunk is planned instead of waiting for ever.
    #[tokio::test]
    async fn a_look_ahead_without_a_body_sent_is_used_when_the_next_chunk_is_planned() {
        let (bytes, _dir, mut source) = three_chunk_file().await;
        source.look_ahead(CHUNK, CHUNK, SHA256);
        let plan = tokio::time::timeout(
            Duration::from_secs(10),
            source.plan(CHUNK, CHUNK, Some(SHA256)),
        )
        .await
        .expect("the plan waited for a body that was never sent")
        .unwrap();
        assert_eq!(plan.checksum, header(&bytes, CHUNK, CHUNK));
        assert_eq!(source.look_ahead_stats().unwrap().used, 1);
    }

    #[tokio::test]
    async fn a_look_ahead_of_another_range_is_discarded_and_the_right_range_digested() {
        let (bytes, _dir, mut source) = three_chunk_file().await;
        // What the next plan asks for instead of the look-ahead's (CHUNK, CHUNK, sha256): the
        // server kept part of the chunk; the chunk was sent again; it shrank; another algorithm.
        let cases = [
            (CHUNK - 1000, CHUNK, SHA256),
            (0, CHUNK, SHA256),
            (CHUNK, CHUNK / 2, SHA256),
            (CHUNK, CHUNK, ChecksumAlgorithm::Sha1),
        ];
        for (n, (offset, len, algorithm)) in cases.into_iter().enumerate() {
            source.look_ahead(CHUNK, CHUNK, SHA256);
            let plan = source.plan(offset, len, Some(algorithm)).await.unwrap();
            let range = &bytes[offset as usize..(offset + len) as usize];
            assert_eq!(plan.checksum, Some(algorithm.header_for(range)), "{n}");
            let stats = source.look_ahead_stats().unwrap();
            assert_eq!((stats.discarded, stats.used), (n as u64 + 1, 0));
        }
        // The last chunk's look-ahead reaches the end of the file and no further.
        source.look_ahead(2 * CHUNK, CHUNK, SHA256);
        let plan = source.plan(2 * CHUNK, CHUNK, Some(SHA256)).await.unwrap();
        assert_eq!(plan.checksum, header(&bytes, 2 * CHUNK, CHUNK - 5));
        assert_eq!(source.look_ahead_stats().unwrap().used, 1);
    }
}
