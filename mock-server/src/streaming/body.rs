//! A request body streamed into an upload's data file: pieces gather in a buffer; each full
//! buffer goes to a blocking thread that digests and writes it while the next one fills. Two
//! buffers of [`BUFFER`] bytes take turns, so a request holds at most `2 × BUFFER` bytes of
//! its body in memory whatever its size, and reading the network overlaps writing the disk.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::files::DataFile;
use crate::tus::body::{BodyEnd, BodySink, Interruption, Received};

/// The bytes of a body gathered before they are digested and written.
pub(crate) const BUFFER: usize = 1024 * 1024;

/// Reads `body` into `file` through `sink` until it ends, breaks, goes quiet for `idle`, or
/// goes past `limit`; says what became of it once every byte read is written.
pub(crate) async fn receive(
    mut body: Incoming,
    file: DataFile,
    sink: BodySink,
    limit: u64,
    idle: Duration,
) -> Received {
    let (mut to_write, written) = writer(file, sink);
    let mut filling = Vec::with_capacity(BUFFER);
    let mut received: u64 = 0;
    let end = 'body: loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => break BodyEnd::Interrupted(Interruption::TimedOut),
            Ok(None) => break BodyEnd::Complete,
            Ok(Some(Err(_))) => break BodyEnd::Interrupted(Interruption::Disconnected),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        received = received.saturating_add(data.len() as u64);
        if received > limit {
            break BodyEnd::TooLong;
        }
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            let n = (BUFFER - filling.len()).min(rest.len());
            filling.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if filling.len() == BUFFER {
                match to_write.swap(std::mem::take(&mut filling)).await {
                    Some(empty) => filling = empty,
                    // The writer stopped on an error: it says which below.
                    None => break 'body BodyEnd::Complete,
                }
            }
        }
    };
    if end == BodyEnd::TooLong {
        to_write.close();
        let _ = written.await;
        return Received {
            stored: 0,
            digest: None,
            end,
        };
    }
    if !filling.is_empty() {
        let _ = to_write.swap(filling).await;
    }
    to_write.close();
    match written.await {
        Ok((sink, None)) => sink.finish(end),
        Ok((_, Some(why))) => failed(why),
        Err(e) => failed(format!("the writing thread failed: {e}")),
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

/// The async side of the writer: full buffers go out, empty ones come back.
struct ToWrite {
    full: mpsc::Sender<Vec<u8>>,
    empty: mpsc::Receiver<Vec<u8>>,
}

impl ToWrite {
    /// Hands `full` to the writer and takes an empty buffer back (`None`: the writer stopped).
    async fn swap(&mut self, full: Vec<u8>) -> Option<Vec<u8>> {
        self.full.send(full).await.ok()?;
        self.empty.recv().await
    }

    /// No more buffers: the writer finishes what it has and returns.
    fn close(self) {}
}

type Written = tokio::task::JoinHandle<(BodySink, Option<String>)>;

/// Starts the blocking thread that feeds full buffers through `sink` into `file`; it returns
/// the sink and the first error once the buffers stop coming (or at that error).
fn writer(file: DataFile, sink: BodySink) -> (ToWrite, Written) {
    let (full_tx, mut full_rx) = mpsc::channel::<Vec<u8>>(1);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>(2);
    // The second buffer: the reader fills one while the writer writes the other.
    let _ = empty_tx.try_send(Vec::with_capacity(BUFFER));
    let written = tokio::task::spawn_blocking(move || {
        let (mut file, mut sink) = (file, sink);
        while let Some(mut buffer) = full_rx.blocking_recv() {
            if let Err(e) = sink.feed(&mut file, &buffer) {
                return (sink, Some(e.to_string()));
            }
            buffer.clear();
            let _ = empty_tx.blocking_send(buffer);
        }
        (sink, None)
    });
    let to_write = ToWrite {
        full: full_tx,
        empty: empty_rx,
    };
    (to_write, written)
}
