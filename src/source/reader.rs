//! Reading a caller's seekable reader (`UploaderBuilder::reader`): one range at a time, through
//! its own seek and read, in [`PIECE`]-sized pieces. A body is pumped from it over a small
//! channel while the request is in flight.

use std::io;
use std::io::SeekFrom;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::{SeekableReader, PIECE};
use crate::protocol::ChecksumAlgorithm;
use crate::transport::Body;

/// A body of the `len` bytes from `offset` of `reader`, and the pump that fills it piece by
/// piece: run it alongside the request. `sent` counts the pieces handed to the body.
pub(super) fn body<'a>(
    reader: &'a mut Box<dyn SeekableReader>,
    offset: u64,
    len: u64,
    sent: Arc<AtomicU64>,
) -> (Body, impl std::future::Future<Output = io::Result<()>> + 'a) {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(2);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let body = Body::Stream {
        length: len,
        stream: Box::pin(stream),
    };
    (body, pump(reader, offset, len, tx, sent))
}

async fn pump(
    reader: &mut Box<dyn SeekableReader>,
    offset: u64,
    len: u64,
    tx: mpsc::Sender<io::Result<Bytes>>,
    sent: Arc<AtomicU64>,
) -> io::Result<()> {
    let result = async {
        reader.seek(SeekFrom::Start(offset)).await?;
        let mut remaining = len;
        while remaining > 0 {
            let want = remaining.min(PIECE as u64) as usize;
            let mut piece = BytesMut::with_capacity(want);
            while piece.len() < want {
                let n = (&mut *reader)
                    .take((want - piece.len()) as u64)
                    .read_buf(&mut piece)
                    .await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the source ended at {} bytes, before the expected {}",
                            offset + len - remaining + piece.len() as u64,
                            offset + len
                        ),
                    ));
                }
            }
            remaining -= piece.len() as u64;
            let n = piece.len() as u64;
            if tx.send(Ok(piece.freeze())).await.is_err() {
                // The request ended (answered or failed) before taking everything.
                return Ok(());
            }
            sent.fetch_add(n, Ordering::Relaxed);
        }
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string()))).await;
    }
    result
}

pub(super) async fn digest_range(
    reader: &mut Box<dyn SeekableReader>,
    offset: u64,
    len: u64,
    algorithm: ChecksumAlgorithm,
) -> io::Result<String> {
    let mut digest = algorithm.digest();
    read_range(reader, offset, len, |piece| digest.update(piece)).await?;
    Ok(digest.header_value())
}

/// Reads `len` bytes of `reader` from `offset`, handing them to `each` piece by piece (at most
/// [`PIECE`] bytes held).
pub(super) async fn read_range(
    reader: &mut Box<dyn SeekableReader>,
    offset: u64,
    len: u64,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    reader.seek(SeekFrom::Start(offset)).await?;
    let mut buf = vec![0u8; PIECE.min(len as usize).max(1)];
    let mut remaining = len;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let n = reader.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the source ended at {} bytes, before {}",
                    offset + len - remaining,
                    offset + len
                ),
            ));
        }
        each(&buf[..n]);
        remaining -= n as u64;
    }
    Ok(())
}
