//! One proxied connection: two pumps (client → upstream, upstream → client), each a reader
//! that decides cuts and stamps delays, and a writer that paces and forwards.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Direction, Shared};

/// Bytes read from a socket at a time.
const READ_SIZE: usize = 64 * 1024;
/// Pieces queued between a reader and its writer (at most `READ_SIZE` bytes each).
const QUEUE: usize = 8;
/// How often a paused flow (throttle 0) looks at its rate again.
const PAUSE_POLL: Duration = Duration::from_millis(10);

enum Piece {
    /// Data to forward once `ready` has passed.
    Data { ready: Instant, bytes: Vec<u8> },
    /// The source closed its side: half-close the destination.
    Eof,
    /// Close the connection (a cut) once `ready` has passed.
    Cut { ready: Instant },
    /// Reading failed: close the connection.
    Failed,
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Eof,
    Closed,
}

/// Decrements the open-connection count however the task ends (aborted included).
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) async fn serve(
    client: TcpStream,
    upstream: std::net::SocketAddr,
    shared: Arc<Shared>,
    index: u64,
) {
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _guard = OpenGuard(Arc::clone(&shared));
    let mut disconnect = shared.disconnect.subscribe();
    let server = tokio::select! {
        connected = TcpStream::connect(upstream) => match connected {
            Ok(server) => server,
            Err(error) => {
                tracing::warn!(%error, %upstream, "FaultProxy: cannot reach the upstream server");
                return;
            }
        },
        _ = disconnect.changed() => return,
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(
        client_read,
        server_write,
        Direction::Upstream,
        &shared,
        index,
    );
    let down = pump(
        server_read,
        client_write,
        Direction::Downstream,
        &shared,
        index,
    );
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        tokio::select! {
            end = &mut up, if !up_done => {
                if end == End::Closed { return; }
                up_done = true;
            }
            end = &mut down, if !down_done => {
                if end == End::Closed { return; }
                down_done = true;
            }
            _ = disconnect.changed() => return,
        }
    }
    // Returning drops all four halves: both sockets close.
}

/// Moves bytes from `source` to `dest` until the source ends (`End::Eof`, `dest` half-closed)
/// or the connection must close (`End::Closed`: a cut or an error).
async fn pump(
    source: OwnedReadHalf,
    dest: OwnedWriteHalf,
    direction: Direction,
    shared: &Arc<Shared>,
    index: u64,
) -> End {
    let (tx, rx) = mpsc::channel(QUEUE);
    let reader = read_side(source, tx, direction, shared, index);
    let writer = write_side(dest, rx, direction, shared);
    tokio::pin!(reader, writer);
    tokio::select! {
        end = &mut writer => end,
        // The reader has queued its last piece: the writer finishes with it.
        () = &mut reader => writer.await,
    }
}

async fn read_side(
    mut source: OwnedReadHalf,
    tx: mpsc::Sender<Piece>,
    direction: Direction,
    shared: &Shared,
    index: u64,
) {
    let mut total = 0u64;
    // A cut after 0 bytes happens before anything is read.
    if shared.check_cut(direction, index, 0, 0).is_some() {
        let _ = tx
            .send(Piece::Cut {
                ready: Instant::now(),
            })
            .await;
        return;
    }
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let len = match source.read(&mut buf).await {
            Ok(0) => {
                let _ = tx.send(Piece::Eof).await;
                return;
            }
            Ok(len) => len,
            Err(_) => {
                let _ = tx.send(Piece::Failed).await;
                return;
            }
        };
        let ready = Instant::now() + shared.delay(direction);
        if let Some(byte) = shared
            .check_corrupt(direction, total, len as u64)
            .and_then(|i| buf.get_mut(i))
        {
            *byte = !*byte;
        }
        match shared.check_cut(direction, index, total, len as u64) {
            None => {
                total += len as u64;
                let bytes = buf[..len].to_vec();
                if tx.send(Piece::Data { ready, bytes }).await.is_err() {
                    return;
                }
            }
            Some(keep) => {
                // `keep` fits in `len`, a usize.
                let keep = usize::try_from(keep).unwrap_or(len);
                if keep > 0 {
                    let bytes = buf[..keep].to_vec();
                    if tx.send(Piece::Data { ready, bytes }).await.is_err() {
                        return;
                    }
                }
                let _ = tx.send(Piece::Cut { ready }).await;
                return;
            }
        }
    }
}

async fn write_side(
    mut dest: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Piece>,
    direction: Direction,
    shared: &Shared,
) -> End {
    let mut pacer = Pacer::default();
    while let Some(piece) = rx.recv().await {
        match piece {
            Piece::Data { ready, bytes } => {
                hold_until(ready).await;
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let len = pacer.wait(shared, direction, rest.len()).await;
                    if dest.write_all(&rest[..len]).await.is_err() {
                        return End::Closed;
                    }
                    shared.bytes[direction.index()].fetch_add(len as u64, Ordering::SeqCst);
                    rest = &rest[len..];
                }
            }
            Piece::Eof => {
                let _ = dest.shutdown().await;
                return End::Eof;
            }
            Piece::Cut { ready } => {
                hold_until(ready).await;
                // FIN after the bytes let through, so the receiver gets exactly those.
                let _ = dest.shutdown().await;
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(?direction, "FaultProxy: connection cut");
                return End::Closed;
            }
            Piece::Failed => return End::Closed,
        }
    }
    End::Closed
}

/// Waits for `ready` unless it has passed (no delay set): a timer fires at the next
/// millisecond tick at the earliest, which would add up to 1 ms to every piece forwarded.
async fn hold_until(ready: Instant) {
    if ready > Instant::now() {
        tokio::time::sleep_until(ready).await;
    }
}

/// How late a paced flow may be and still keep its schedule: a timer wakes up to a
/// millisecond late (more on a busy machine), and a flow that started each slice from its
/// wake-up instead of its due time would run that much below its rate (a 64 KiB slice at
/// 50 MiB/s is due every 1.25 ms, and woke every 2). Later than this, the flow was idle
/// (nothing to send) and starts over from now, with no burst.
const CATCH_UP: Duration = Duration::from_millis(10);

/// Paces one flow: a slice of `len` bytes is written only once `len / rate` seconds have
/// passed since the previous slice was due, so a transfer never beats the rate counted from
/// the flow's start; a slice woken late is followed by the next one at its own due time.
#[derive(Default)]
struct Pacer {
    next_free: Option<Instant>,
}

impl Pacer {
    /// Waits until a slice may be written and returns its length (at most `available`).
    async fn wait(&mut self, shared: &Shared, direction: Direction, available: usize) -> usize {
        loop {
            match shared.throttle(direction) {
                None => {
                    self.next_free = None;
                    return available;
                }
                Some(0) => {
                    self.next_free = None;
                    tokio::time::sleep(PAUSE_POLL).await;
                }
                Some(rate) => {
                    // Slices of about 20 ms of traffic keep the flow smooth.
                    let slice = usize::try_from(rate / 50)
                        .unwrap_or(READ_SIZE)
                        .clamp(1, READ_SIZE)
                        .min(available);
                    let now = Instant::now();
                    let start = match self.next_free {
                        Some(free) if free + CATCH_UP >= now => free,
                        _ => now,
                    };
                    let due = start + Duration::from_secs_f64(slice as f64 / rate as f64);
                    tokio::time::sleep_until(due).await;
                    self.next_free = Some(due);
                    return slice;
                }
            }
        }
    }
}
