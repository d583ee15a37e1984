//! A request body streamed into an upload's data file by one blocking thread, which also
//! does the rest of the request's file work: it opens the file before the first byte, and
//! settles (commits and saves) after the last — one thread hand-off each way per request,
//! besides the body's buffers.
//!
//! Pieces of the body gather in a [`BUFFER`]-byte buffer; each full buffer goes to the
//! thread, which digests and writes it while the next ones fill. At most [`QUEUED`] buffers
//! wait for it, so a request holds at most `(QUEUED + 2) × BUFFER` bytes of its body in
//! memory whatever its size (one filling, the queue, one being written), and reading the
//! network overlaps writing the disk within a request as small as a few buffers. Buffers come
//! from a [`BufferPool`] shared by the requests.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::buffers::BufferPool;
use super::file_jobs::{FileJob, FileJobs};
use super::files::DataFile;
use crate::tus::body::{BodyEnd, BodySink, Interruption, Received};

/// The bytes of a body gathered before they are handed to the writing thread.
pub(crate) const BUFFER: usize = 256 * 1024;

/// Full buffers waiting for the writing thread, at most.
pub(crate) const QUEUED: usize = 2;

/// Idle buffers the server keeps for the next requests: all that four requests at once use.
pub(crate) const POOLED_BUFFERS: usize = 4 * (QUEUED + 2);

/// Where a body goes, on the thread that writes it.
pub(crate) struct Destination<O, S> {
    /// Opens (or creates) the data file, before the first byte is written.
    pub(crate) open: O,
    /// Counts, digests and limits the body.
    pub(crate) sink: BodySink,
    /// After the last byte: what became of the body, applied and saved (the file is `None`
    /// when it could not be opened). Not run when the request is dropped before its body ends
    /// (the server stops): then nothing is saved, as when it is killed, and `settle` is
    /// dropped (with what it holds: the upload's claim) once the thread is done with the file.
    pub(crate) settle: S,
}

/// How a body is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading<'a> {
    /// More bytes than this make the body too long.
    pub(crate) limit: u64,
    /// A body that sends nothing for this long is cut short.
    pub(crate) idle: Duration,
    pub(crate) buffers: &'a Arc<BufferPool>,
    /// The writing thread counts as one of these while it runs.
    pub(crate) jobs: &'a Arc<FileJobs>,
}

/// Reads `body` into the file `to` opens, until it ends, breaks, goes quiet for
/// `reading.idle`, or goes past `reading.limit`; returns what `to.settle` made of it once every
/// byte read is written.
pub(crate) async fn receive<T, O, S>(
    mut body: Incoming,
    to: Destination<O, S>,
    reading: Reading<'_>,
) -> io::Result<T>
where
    T: Send + 'static,
    O: FnOnce() -> io::Result<DataFile> + Send + 'static,
    S: FnOnce(Option<&mut DataFile>, Received) -> T + Send + 'static,
{
    let (pieces, done) = writer(to, Arc::clone(reading.buffers), reading.jobs.start());
    let size = reading.buffers.size();
    let mut filling = reading.buffers.take();
    let mut received: u64 = 0;
    let end = 'body: loop {
        let frame = match tokio::time::timeout(reading.idle, body.frame()).await {
            Err(_) => break BodyEnd::Interrupted(Interruption::TimedOut),
            Ok(None) => break BodyEnd::Complete,
            Ok(Some(Err(_))) => break BodyEnd::Interrupted(Interruption::Disconnected),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        received = received.saturating_add(data.len() as u64);
        if received > reading.limit {
            break BodyEnd::TooLong;
        }
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            let n = (size - filling.len()).min(rest.len());
            filling.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if filling.len() == size {
                let full = std::mem::take(&mut filling);
                if pieces.send(Piece::Bytes(full)).await.is_err() {
                    // The writer stopped on an error: it says which.
                    break 'body BodyEnd::Complete;
                }
                // Taken once the full one is queued: at most one waits to be.
                filling = reading.buffers.take();
            }
        }
    };
    if end != BodyEnd::TooLong && !filling.is_empty() {
        let _ = pieces.send(Piece::Bytes(filling)).await;
    } else {
        reading.buffers.give(filling);
    }
    let _ = pieces.send(Piece::End(end)).await;
    drop(pieces);
    match done.await {
        Ok(Some(settled)) => Ok(settled),
        Ok(None) => Err(io::Error::other(
            "the body's end never reached the writing thread",
        )),
        Err(e) => Err(io::Error::other(format!("the writing thread failed: {e}"))),
    }
}

/// Reads `body` to its end and drops it, so that an answer given without its body (a repeated
/// creation, answered with the upload the first request made) reaches the client: a
/// connection closed with bytes of a request unread is reset, and a reset can take the answer
/// with it. Stops early, leaving the rest (the connection then closes), when the body goes quiet
/// for `idle`, breaks, or goes past `limit` bytes.
pub(crate) async fn discard(mut body: Incoming, limit: u64, idle: Duration) {
    let mut received: u64 = 0;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(idle, body.frame()).await {
        if let Ok(data) = frame.into_data() {
            received = received.saturating_add(data.len() as u64);
            if received > limit {
                return;
            }
        }
    }
}

fn failed(why: String) -> Received {
    Received {
        stored: 0,
        digest: None,
        end: BodyEnd::StoreFailed(why),
    }
}

/// What goes to the writing thread.
enum Piece {
    /// A full buffer (or the last one).
    Bytes(Vec<u8>),
    /// The body ended so.
    End(BodyEnd),
}

/// Starts the blocking thread that opens the file, feeds the buffers through the sink into it,
/// and settles once the body ended or the file failed; `None` when the request was dropped
/// first (the channel closed without an end).
fn writer<T, O, S>(
    to: Destination<O, S>,
    buffers: Arc<BufferPool>,
    job: FileJob,
) -> (mpsc::Sender<Piece>, tokio::task::JoinHandle<Option<T>>)
where
    T: Send + 'static,
    O: FnOnce() -> io::Result<DataFile> + Send + 'static,
    S: FnOnce(Option<&mut DataFile>, Received) -> T + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Piece>(QUEUED);
    let done = tokio::task::spawn_blocking(move || {
        let _job = job;
        let Destination {
            open,
            mut sink,
            settle,
        } = to;
        let mut file = open();
        let mut error = file.as_ref().err().map(ToString::to_string);
        if error.is_some() {
            rx.close();
        }
        let end = loop {
            match rx.blocking_recv() {
                Some(Piece::Bytes(buffer)) => {
                    if let (Ok(file), None) = (&mut file, &error) {
                        if let Err(e) = sink.feed(file, &buffer) {
                            error = Some(e.to_string());
                            // The reader stops at its next buffer.
                            rx.close();
                        }
                    }
                    buffers.give(buffer);
                }
                Some(Piece::End(end)) => break Some(end),
                None => break None,
            }
        };
        let received = match (error, end) {
            (Some(why), _) => failed(why),
            (None, Some(end)) => sink.finish(end),
            // The request was dropped before its body ended.
            (None, None) => return None,
        };
        Some(settle(file.as_mut().ok(), received))
    });
    (tx, done)
}
