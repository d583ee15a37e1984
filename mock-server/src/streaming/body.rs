//! A request body streamed into an upload's data file: pieces gather in one reused buffer;
//! each full buffer is digested and written on a blocking thread, so a request holds at most
//! [`BUFFER`] bytes of its body in memory whatever its size.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::files::DataFile;
use crate::tus::body::{BodyEnd, BodySink, Interruption, Received};

/// The bytes of a body gathered before they are digested and written.
pub(crate) const BUFFER: usize = 1024 * 1024;

/// Reads `body` into `file` through `sink` until it ends, breaks, goes quiet for `idle`, or
/// goes past the sink's limit; says what became of it.
pub(crate) async fn receive(
    mut body: Incoming,
    file: DataFile,
    sink: BodySink,
    limit: u64,
    idle: Duration,
) -> Received {
    let mut writer = Writer {
        file,
        sink,
        buffer: Vec::with_capacity(BUFFER),
    };
    let mut received: u64 = 0;
    let end = loop {
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
            let n = (BUFFER - writer.buffer.len()).min(rest.len());
            writer.buffer.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if writer.buffer.len() == BUFFER {
                writer = match writer.flush().await {
                    Ok(w) => w,
                    Err(why) => return failed(why),
                };
            }
        }
    };
    if end == BodyEnd::TooLong {
        return Received {
            stored: 0,
            digest: None,
            end,
        };
    }
    match writer.flush().await {
        Ok(w) => w.sink.finish(end),
        Err(why) => failed(why),
    }
}

fn failed(why: String) -> Received {
    Received {
        stored: 0,
        digest: None,
        end: BodyEnd::StoreFailed(why),
    }
}

/// The file, the sink and the buffer, handed to a blocking thread and back.
struct Writer {
    file: DataFile,
    sink: BodySink,
    buffer: Vec<u8>,
}

impl Writer {
    /// Digests and writes the buffered bytes; the buffer comes back empty.
    async fn flush(self) -> Result<Self, String> {
        if self.buffer.is_empty() {
            return Ok(self);
        }
        let done = tokio::task::spawn_blocking(move || {
            let mut w = self;
            let result = w.sink.feed(&mut w.file, &w.buffer);
            w.buffer.clear();
            result.map(|()| w)
        })
        .await;
        match done {
            Ok(Ok(w)) => Ok(w),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("the writing thread failed: {e}")),
        }
    }
}
