//! What is uploaded: a file path, a seekable reader, or a stream of unknown length.
//!
//! Seekable sources are streamed straight from the source while the request is in flight, so
//! memory does not grow with the chunk size. A file tusky opened is read at positions on
//! blocking threads, a block at a time into a few reused buffers (`positional`, `file_body`),
//! and the next chunk's checksum is computed while a chunk is sent (`look_ahead`); a caller's
//! reader is read through its own seek and read (`reader`). A stream of unknown length keeps at
//! most one chunk, only until the server acknowledges it, so that it can be resent; the PATCH
//! body is made of slices of that one buffer, never of a copy.

mod buffers;
mod file_body;
mod look_ahead;
mod positional;
mod reader;

use std::io;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};

use crate::file_watch::FileWatch;
use crate::protocol::ChecksumAlgorithm;
use crate::transport::Body;
use file_body::{FileBody, ReadFailure};
#[cfg(test)]
pub(crate) use look_ahead::LookAheadStats;
use look_ahead::{DigestOf, LookAhead};
use positional::PositionalFile;

/// How much of a body a streamed request hands to the connection at a time: a view of a larger
/// block read from a file, or one read of a caller's reader.
pub const PIECE: usize = 128 * 1024;

/// A reader tusky can seek in: files, `std::io::Cursor`, anything `AsyncRead + AsyncSeek`.
pub trait SeekableReader: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin + ?Sized> SeekableReader for T {}

/// A reader of unknown length (stdin, a pipe, a socket).
pub trait StreamReader: AsyncRead + Send + Unpin {}
impl<T: AsyncRead + Send + Unpin + ?Sized> StreamReader for T {}

/// Where the bytes come from, as given to the builder.
pub(crate) enum SourceSpec {
    Path(PathBuf),
    /// `len` bytes of the file at `path` from `start`: one range of a parallel upload.
    PathRange {
        path: PathBuf,
        start: u64,
        len: u64,
    },
    Reader(Box<dyn SeekableReader>),
    Stream(Box<dyn StreamReader>),
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => write!(f, "Path({})", p.display()),
            Self::PathRange { path, start, len } => {
                write!(f, "PathRange({}, {start}+{len})", path.display())
            }
            Self::Reader(_) => f.write_str("Reader"),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// How a seekable source is read.
pub(crate) enum Reader {
    /// A file tusky opened: positional reads on blocking threads; checksums computed ahead.
    File {
        file: PositionalFile,
        look_ahead: Box<LookAhead>,
    },
    /// A caller's reader: its own seek and read, one range at a time.
    Caller(Box<dyn SeekableReader>),
}

/// An opened source.
pub(crate) enum Source {
    Seekable {
        reader: Reader,
        /// Where the source starts in `reader` (non-zero for a range of a file).
        base: u64,
        size: u64,
        /// The file's identity, when the source is a file.
        watch: Option<FileWatch>,
    },
    Stream {
        reader: Box<dyn StreamReader>,
        /// Bytes read but not yet acknowledged; `pending[0]` is at `pending_offset`. Frozen, so
        /// that a PATCH body can share it instead of copying it.
        pending: Bytes,
        pending_offset: u64,
        eof: bool,
    },
}

/// What to send in one PATCH.
pub(crate) struct ChunkPlan {
    pub len: u64,
    pub checksum: Option<String>,
    /// The total length to declare, if the server does not know it yet: a file's size, or a
    /// stream's once it reaches its end in this chunk.
    pub declare_length: Option<u64>,
}

impl Source {
    pub(crate) async fn open(spec: SourceSpec) -> io::Result<Self> {
        match spec {
            SourceSpec::Path(path) => {
                let (reader, watch) = open_file(&path).await?;
                Ok(Self::Seekable {
                    size: watch.file_size(),
                    reader,
                    base: 0,
                    watch: Some(watch),
                })
            }
            SourceSpec::PathRange { path, start, len } => {
                let (reader, watch) = open_file(&path).await?;
                let file_size = watch.file_size();
                if start.checked_add(len).is_none_or(|end| end > file_size) {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "{} has {file_size} bytes, fewer than the range {start}+{len}",
                            path.display()
                        ),
                    ));
                }
                Ok(Self::Seekable {
                    reader,
                    base: start,
                    size: len,
                    watch: Some(watch),
                })
            }
            SourceSpec::Reader(mut reader) => {
                let size = reader.seek(SeekFrom::End(0)).await?;
                reader.seek(SeekFrom::Start(0)).await?;
                Ok(Self::Seekable {
                    reader: Reader::Caller(reader),
                    base: 0,
                    size,
                    watch: None,
                })
            }
            SourceSpec::Stream(reader) => Ok(Self::Stream {
                reader,
                pending: Bytes::new(),
                pending_offset: 0,
                eof: false,
            }),
        }
    }

    /// Gives back what [`open`](Source::open) took, so that a caller's reader is never closed.
    pub(crate) fn into_spec(self) -> SourceSpec {
        match self {
            Self::Seekable {
                reader: Reader::Caller(reader),
                ..
            } => SourceSpec::Reader(reader),
            Self::Seekable {
                reader: Reader::File { file, look_ahead },
                watch,
                ..
            } => {
                drop(look_ahead);
                match (file.into_file(), watch) {
                    (Ok(file), _) => SourceSpec::Reader(Box::new(tokio::fs::File::from_std(file))),
                    (Err(_), Some(watch)) => SourceSpec::Path(watch.path().to_owned()),
                    (Err(_), None) => SourceSpec::Reader(Box::new(io::Cursor::new(Vec::new()))),
                }
            }
            Self::Stream { reader, .. } => SourceSpec::Stream(reader),
        }
    }

    /// The total size, when known (a stream's once its end was reached).
    pub(crate) fn size(&self) -> Option<u64> {
        match self {
            Self::Seekable { size, .. } => Some(*size),
            Self::Stream {
                pending,
                pending_offset,
                eof,
                ..
            } => eof.then(|| pending_offset + pending.len() as u64),
        }
    }

    /// The file's identity when it was opened (`None` unless the source is a file).
    pub(crate) fn file_identity(&self) -> Option<&crate::storage::FileIdentity> {
        match self {
            Self::Seekable {
                watch: Some(watch), ..
            } => Some(watch.identity()),
            _ => None,
        }
    }

    /// Hands the `len` bytes from `offset` to `each`, piece by piece (seekable sources only:
    /// a stream cannot be read again).
    pub(crate) async fn for_each_piece(
        &mut self,
        offset: u64,
        len: u64,
        each: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        match self {
            Self::Seekable {
                reader: Reader::File { file, .. },
                base,
                ..
            } => file.for_each_block(*base + offset, len, each).await,
            Self::Seekable {
                reader: Reader::Caller(reader),
                base,
                ..
            } => reader::read_range(reader, *base + offset, len, each).await,
            Self::Stream { .. } => Err(io::Error::other("a stream cannot be read again")),
        }
    }

    /// The file being read, as it was when opened (`None` unless the source is a file).
    pub(crate) fn watch(&self) -> Option<&FileWatch> {
        match self {
            Self::Seekable {
                watch: Some(watch), ..
            } => Some(watch),
            _ => None,
        }
    }

    pub(crate) fn is_seekable(&self) -> bool {
        matches!(self, Self::Seekable { .. })
    }

    /// The first `len` bytes (fewer if the source is shorter), for fingerprinting.
    pub(crate) async fn head(&mut self, len: usize) -> io::Result<Option<Vec<u8>>> {
        let Self::Seekable {
            reader, base, size, ..
        } = self
        else {
            return Ok(None);
        };
        let len = (len as u64).min(*size);
        let mut head = Vec::with_capacity(len.min(1 << 20) as usize);
        match reader {
            Reader::File { file, .. } => {
                file.for_each_block(*base, len, |block| head.extend_from_slice(block))
                    .await?;
            }
            Reader::Caller(reader) => {
                reader.seek(SeekFrom::Start(*base)).await?;
                (&mut *reader).take(len).read_to_end(&mut head).await?;
            }
        }
        Ok(Some(head))
    }

    /// Decides the next PATCH from `offset` of at most `max_len` bytes: for a stream, reads up
    /// to `max_len` bytes ahead; with a checksum, digests the range (a file's from the
    /// look-ahead when it computed this range, else by reading the range once more, without
    /// keeping it).
    pub(crate) async fn plan(
        &mut self,
        offset: u64,
        max_len: u64,
        checksum: Option<ChecksumAlgorithm>,
    ) -> io::Result<ChunkPlan> {
        match self {
            Self::Seekable {
                reader, base, size, ..
            } => {
                let len = max_len.min(size.saturating_sub(offset));
                let at = *base + offset;
                let checksum = match (checksum, reader) {
                    (Some(algorithm), Reader::File { file, look_ahead }) => {
                        let of = DigestOf { at, len, algorithm };
                        Some(look_ahead.digest(file, of).await?)
                    }
                    (Some(algorithm), Reader::Caller(reader)) => {
                        Some(reader::digest_range(reader, at, len, algorithm).await?)
                    }
                    (None, _) => None,
                };
                Ok(ChunkPlan {
                    len,
                    checksum,
                    declare_length: Some(*size),
                })
            }
            Self::Stream {
                reader,
                pending,
                pending_offset,
                eof,
            } => {
                let start = offset
                    .checked_sub(*pending_offset)
                    .filter(|s| *s <= pending.len() as u64)
                    .ok_or_else(|| {
                        io::Error::other(format!(
                            "the server's offset {offset} is outside the bytes still held ({}..{}) of a stream that cannot seek",
                            pending_offset,
                            *pending_offset + pending.len() as u64
                        ))
                    })?;
                pending.advance(start as usize);
                *pending_offset = offset;
                let want = usize::try_from(max_len).unwrap_or(usize::MAX);
                // One byte more than the chunk: if it is not there, this chunk ends the stream
                // and its PATCH can declare the length.
                let fill = want.saturating_add(1);
                if pending.len() < fill && !*eof {
                    read_ahead(reader, pending, fill, eof).await?;
                }
                let len = pending.len().min(want) as u64;
                let checksum = checksum.map(|a| a.header_for(&pending[..len as usize]));
                let declare_length = (*eof && len == pending.len() as u64).then_some(offset + len);
                Ok(ChunkPlan {
                    len,
                    checksum,
                    declare_length,
                })
            }
        }
    }

    /// Sends `len` bytes from `offset` through `send`, streaming a seekable source piece by
    /// piece while the request is in flight. `sent` counts the bytes handed over. Returns the
    /// request's result and, if reading the source failed, that error.
    pub(crate) async fn send_range<R, Fut>(
        &mut self,
        offset: u64,
        len: u64,
        sent: Arc<AtomicU64>,
        send: impl FnOnce(Body) -> Fut,
    ) -> (R, Option<io::Error>)
    where
        Fut: std::future::Future<Output = R>,
    {
        match self {
            Self::Stream {
                pending,
                pending_offset,
                ..
            } => {
                let start = (offset - *pending_offset) as usize;
                // A view of the held chunk: the body and the chunk share one buffer.
                let bytes = pending.slice(start..start + len as usize);
                if bytes.is_empty() {
                    return (send(Body::Bytes(bytes)).await, None);
                }
                // Streamed in pieces that count as sent when the transport takes them, so that
                // the stall watchdog sees a slow but moving body move.
                let pieces = (0..bytes.len()).step_by(PIECE).map(move |at| {
                    let piece = bytes.slice(at..bytes.len().min(at + PIECE));
                    sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                    Ok(piece)
                });
                let body = Body::Stream {
                    length: len,
                    stream: Box::pin(futures_util::stream::iter(pieces)),
                };
                (send(body).await, None)
            }
            Self::Seekable { .. } if len == 0 => (send(Body::Empty).await, None),
            Self::Seekable {
                reader: Reader::File { file, look_ahead },
                base,
                size,
                ..
            } => {
                let failure = ReadFailure::default();
                let when_sent = look_ahead.when_sent();
                let at = *base + offset;
                let range = (at..at + len, *base + *size);
                let body = FileBody::new(file.clone(), range, sent, failure.clone(), when_sent);
                let body = Body::Stream {
                    length: len,
                    stream: Box::pin(body),
                };
                (send(body).await, failure.take())
            }
            Self::Seekable {
                reader: Reader::Caller(reader),
                base,
                ..
            } => {
                let (body, pump) = reader::body(reader, *base + offset, len, sent);
                let (result, pumped) = tokio::join!(send(body), pump);
                (result, pumped.err())
            }
        }
    }

    /// Starts computing the digest of the chunk of at most `max_len` bytes from `offset` while
    /// the one before it is sent (a file's only; other sources digest when planned).
    pub(crate) fn look_ahead(&mut self, offset: u64, max_len: u64, algorithm: ChecksumAlgorithm) {
        if let Self::Seekable {
            reader: Reader::File { file, look_ahead },
            base,
            size,
            ..
        } = self
        {
            let len = max_len.min(size.saturating_sub(offset));
            if len == 0 {
                look_ahead.discard();
            } else {
                let at = *base + offset;
                look_ahead.start(file, DigestOf { at, len, algorithm });
            }
        }
    }

    /// How a file's chunk digests were made (`None` for other sources).
    #[cfg(test)]
    pub(crate) fn look_ahead_stats(&self) -> Option<LookAheadStats> {
        match self {
            Self::Seekable {
                reader: Reader::File { look_ahead, .. },
                ..
            } => Some(look_ahead.stats()),
            _ => None,
        }
    }

    /// The count of a file's bytes digested so far, as it grows (`None` for other sources).
    #[cfg(test)]
    pub(crate) fn digested(&self) -> Option<Arc<AtomicU64>> {
        match self {
            Self::Seekable {
                reader: Reader::File { file, .. },
                ..
            } => Some(file.digested()),
            _ => None,
        }
    }
}

/// Opens the file at `path` for positional reads, and takes its identity.
async fn open_file(path: &Path) -> io::Result<(Reader, FileWatch)> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", path.display())))?;
    let watch = FileWatch::of(&file, path).await?;
    let file = PositionalFile::new(file.into_std().await)?;
    let reader = Reader::File {
        file,
        look_ahead: Box::default(),
    };
    Ok((reader, watch))
}

/// Reads from `reader` until `pending` holds `fill` bytes or the stream ends (`eof`).
///
/// The held bytes become a mutable buffer again without a copy when nothing else refers to
/// them (the last PATCH body is gone by the time the next chunk is planned), so at most one
/// chunk's buffer exists. On a read error `pending` keeps what it held and what was read.
async fn read_ahead(
    reader: &mut Box<dyn StreamReader>,
    pending: &mut Bytes,
    fill: usize,
    eof: &mut bool,
) -> io::Result<()> {
    let mut buffer = BytesMut::from(std::mem::take(pending));
    let mut result = Ok(());
    while buffer.len() < fill && !*eof {
        buffer.reserve((fill - buffer.len()).min(PIECE));
        let room = fill - buffer.len();
        match (&mut *reader).take(room as u64).read_buf(&mut buffer).await {
            Ok(0) => *eof = true,
            Ok(_) => {}
            Err(err) => {
                result = Err(err);
                break;
            }
        }
    }
    *pending = buffer.freeze();
    result
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// Sends `[offset, offset + len)` of `source`, taking the body whole; returns its bytes.
    async fn sent_bytes(source: &mut Source, offset: u64, len: u64) -> Vec<u8> {
        let sent = Arc::new(AtomicU64::new(0));
        let (pieces, read_error) = source
            .send_range(offset, len, sent, |body| async move {
                match body {
                    Body::Stream { stream, .. } => stream.collect::<Vec<_>>().await,
                    _ => panic!("a non-empty chunk is streamed"),
                }
            })
            .await;
        assert!(read_error.is_none());
        pieces
            .into_iter()
            .flat_map(|p| p.unwrap().to_vec())
            .collect()
    }

    /// Once a file's body has been taken whole, the next chunk's first block is read while the
    /// answer is awaited; the next body starts with it when it starts there (truncated to a
    /// shorter chunk), and reads afresh when it starts elsewhere (a resend, a partial answer).
    #[tokio::test]
    async fn the_next_chunks_first_block_is_read_while_the_answer_is_awaited() {
        const BLOCK: u64 = buffers::BLOCK as u64;
        let bytes: Vec<u8> = (0..3 * BLOCK + 777).map(|i| (i * 13 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.bin");
        std::fs::write(&path, &bytes).unwrap();
        let mut source = Source::open(SourceSpec::Path(path)).await.unwrap();
        let hits = |source: &Source| match source {
            Source::Seekable {
                reader: Reader::File { file, .. },
                ..
            } => file.prefetch_hits(),
            _ => panic!("a file source"),
        };
        let range = |at: u64, len: u64| bytes[at as usize..(at + len) as usize].to_vec();
        let chunk = BLOCK + 4099;
        assert_eq!(sent_bytes(&mut source, 0, chunk).await, range(0, chunk));
        assert_eq!(hits(&source), 0);
        // The next chunk, shorter than the block read ahead.
        assert_eq!(
            sent_bytes(&mut source, chunk, 1000).await,
            range(chunk, 1000)
        );
        assert_eq!(hits(&source), 1);
        // The same chunk again (a resend): not where the read-ahead block starts.
        assert_eq!(
            sent_bytes(&mut source, chunk, 1000).await,
            range(chunk, 1000)
        );
        assert_eq!(hits(&source), 1);
        // The rest, to the end of the file.
        let at = chunk + 1000;
        let rest = bytes.len() as u64 - at;
        assert_eq!(sent_bytes(&mut source, at, rest).await, range(at, rest));
        assert_eq!(hits(&source), 2);
    }

    #[tokio::test]
    async fn a_stream_sends_the_chunk_it_holds_without_copying_it() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let reader = std::io::Cursor::new(data.clone());
        let mut source = Source::open(SourceSpec::Stream(Box::new(reader)))
            .await
            .unwrap();
        for (offset, want_len) in [(0u64, 200_000u64), (200_000, 100_000)] {
            let plan = source.plan(offset, 200_000, None).await.unwrap();
            assert_eq!(plan.len, want_len);
            let Source::Stream { pending, .. } = &source else {
                panic!("a stream source");
            };
            let held = pending.as_ptr();
            let sent = Arc::new(AtomicU64::new(0));
            let (pieces, read_error) = source
                .send_range(offset, plan.len, sent, |body| async move {
                    match body {
                        Body::Stream { stream, .. } => stream.collect::<Vec<_>>().await,
                        _ => panic!("a non-empty chunk is streamed"),
                    }
                })
                .await;
            assert!(read_error.is_none());
            let pieces: Vec<Bytes> = pieces.into_iter().map(Result::unwrap).collect();
            // The body is the held chunk itself, not a second copy of it.
            assert_eq!(pieces[0].as_ptr(), held);
            let body: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
            let range = offset as usize..(offset + want_len) as usize;
            assert_eq!(body, data[range]);
        }
    }
}
