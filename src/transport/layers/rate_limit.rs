//! [`RateLimit`]: request bodies paced by one token bucket, shared by every request that goes
//! through the layer (all uploads of a client, all parts of a parallel upload).
//!
//! The bucket refills at the limit and holds a small burst. A body is released to the
//! connection in slices: each slice takes its bytes from the bucket and waits, before it goes
//! out, until the bucket has paid for it. Only one piece of a body is held at a time (a piece
//! is cut into slices without copying), so pacing never buffers an upload.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::Instant;

use super::Layer;
use crate::transport::{Body, BodyStream, Request, Response, Transport, TransportError};

/// The most the bucket holds, whatever the limit: 1 MiB.
const MAX_BURST: u64 = 1024 * 1024;
/// The largest slice a body is released in: 64 KiB.
const MAX_SLICE: u64 = 64 * 1024;
/// The smallest slice (for very low limits): 256 bytes.
const MIN_SLICE: u64 = 256;

/// A token bucket over bytes, on a clock the caller reads: pure, so it can be tested with
/// made-up instants. Tokens may go below zero: a reservation that overdraws the bucket is a
/// debt that the caller waits out, so concurrent callers queue fairly.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling at `rate` bytes per second, holding at most `burst` bytes.
    pub(crate) fn new(rate: u64, burst: u64, now: Instant) -> Self {
        Self {
            rate: rate.max(1) as f64,
            burst: burst as f64,
            tokens: burst as f64,
            last: now,
        }
    }

    /// Takes `bytes` from the bucket at `now`; returns how long to wait before sending them.
    pub(crate) fn reserve(&mut self, bytes: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Limits the bytes per second of request bodies, for every request through it together.
///
/// Clones share the bucket. The bucket holds 1/8 s of traffic (at least one slice, at most
/// 1 MiB), and bodies go out in slices of 1/32 s of traffic (256 bytes to 64 KiB), so the
/// rate is smooth. Only request bodies are counted; headers and answers are not.
/// [`ClientBuilder::limit_rate`](crate::ClientBuilder::limit_rate) adds one to a client.
///
/// ```
/// use tusky::transport::layers::RateLimit;
///
/// # fn main() -> Result<(), tusky::Error> {
/// let limit = RateLimit::new(2 * 1024 * 1024); // 2 MiB/s for both clients together
/// let a = tusky::Client::builder().endpoint("https://a.example/files/").layer(limit.clone()).build()?;
/// let b = tusky::Client::builder().endpoint("https://b.example/files/").layer(limit.clone()).build()?;
/// assert_eq!(limit.bytes_per_second(), 2 * 1024 * 1024);
/// # drop((a, b));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    rate: u64,
    slice: usize,
    burst: u64,
    bucket: Mutex<TokenBucket>,
}

impl RateLimit {
    /// A limit of `bytes_per_second` (at least 1).
    pub fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second.max(1);
        let slice = (rate / 32).clamp(MIN_SLICE, MAX_SLICE);
        let burst = (rate / 8).clamp(slice, MAX_BURST.max(slice));
        Self {
            shared: Arc::new(Shared {
                rate,
                slice: usize::try_from(slice).unwrap_or(usize::MAX),
                burst,
                bucket: Mutex::new(TokenBucket::new(rate, burst, Instant::now())),
            }),
        }
    }

    /// The limit, in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.shared.rate
    }

    /// How many bytes may go out at once after a pause (the bucket's size).
    pub fn burst(&self) -> u64 {
        self.shared.burst
    }

    /// `body` paced by this limit (an in-memory body becomes a stream of slices).
    pub fn pace(&self, body: Body) -> Body {
        match body {
            Body::Empty => Body::Empty,
            Body::Bytes(bytes) => {
                let length = bytes.len() as u64;
                let stream: BodyStream =
                    Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
                Body::Stream {
                    length,
                    stream: paced(stream, Arc::clone(&self.shared)),
                }
            }
            Body::Stream { length, stream } => Body::Stream {
                length,
                stream: paced(stream, Arc::clone(&self.shared)),
            },
        }
    }
}

impl Shared {
    fn wait_for(&self, bytes: usize) -> Duration {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        bucket.reserve(bytes as u64, Instant::now())
    }
}

/// The pieces of `inner`, cut into slices, each released when the bucket has paid for it.
fn paced(inner: BodyStream, shared: Arc<Shared>) -> BodyStream {
    let state = (inner, Bytes::new(), shared);
    Box::pin(futures_util::stream::unfold(
        state,
        |(mut inner, mut piece, shared)| async move {
            while piece.is_empty() {
                match inner.next().await? {
                    Ok(next) => piece = next,
                    Err(error) => return Some((Err(error), (inner, piece, shared))),
                }
            }
            let slice = piece.split_to(piece.len().min(shared.slice));
            let wait = shared.wait_for(slice.len());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Some((Ok(slice), (inner, piece, shared)))
        },
    ))
}

impl Layer for RateLimit {
    fn layer(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        Arc::new(RateLimited {
            limit: self.clone(),
            inner,
        })
    }
}

struct RateLimited {
    limit: RateLimit,
    inner: Arc<dyn Transport>,
}

#[async_trait]
impl Transport for RateLimited {
    async fn send(&self, mut request: Request) -> Result<Response, TransportError> {
        let body = std::mem::replace(&mut request.body, Body::Empty);
        request.body = self.limit.pace(body);
        self.inner.send(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_pays_its_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 100, start);
        assert_eq!(bucket.reserve(100, start), Duration::ZERO);
        assert_eq!(bucket.reserve(500, start), Duration::from_millis(500));
        // A second caller at the same moment queues behind the first one's debt.
        assert_eq!(bucket.reserve(500, start), Duration::from_millis(1000));
        // Two seconds later the debt (1000) is paid and the bucket refilled to its burst only.
        let later = start + Duration::from_secs(2);
        assert_eq!(bucket.reserve(100, later), Duration::ZERO);
        assert_eq!(bucket.reserve(100, later), Duration::from_millis(100));
    }

    #[test]
    fn an_idle_bucket_holds_no_more_than_its_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 200, start);
        let much_later = start + Duration::from_secs(3600);
        assert_eq!(bucket.reserve(200, much_later), Duration::ZERO);
        assert_eq!(bucket.reserve(1000, much_later), Duration::from_secs(1));
        // An instant from before the last one counts as no time at all.
        assert_eq!(bucket.reserve(0, start), Duration::from_secs(1));
    }

    #[test]
    fn slices_and_burst_follow_the_limit() {
        let slow = RateLimit::new(1000);
        assert_eq!((slow.shared.slice, slow.burst()), (256, 256));
        let fast = RateLimit::new(100 * 1024 * 1024);
        assert_eq!((fast.shared.slice, fast.burst()), (64 * 1024, 1024 * 1024));
        assert_eq!(RateLimit::new(0).bytes_per_second(), 1);
    }

    /// Drains `body`, returning its bytes and when (after `start`) each slice came out.
    async fn drain(body: Body, start: Instant) -> (Vec<u8>, Vec<(Duration, usize)>) {
        let Body::Stream { mut stream, .. } = body else {
            panic!("a paced body is a stream");
        };
        let (mut bytes, mut times) = (Vec::new(), Vec::new());
        while let Some(slice) = stream.next().await {
            let slice = slice.unwrap();
            times.push((start.elapsed(), slice.len()));
            bytes.extend_from_slice(&slice);
        }
        (bytes, times)
    }

    #[tokio::test(start_paused = true)]
    async fn bodies_are_released_in_slices_at_the_rate() {
        let limit = RateLimit::new(32 * 1024); // slices of 1 KiB, burst 4 KiB
        let data: Vec<u8> = (0..40 * 1024).map(|i| (i % 251) as u8).collect();
        let pieces: Vec<std::io::Result<Bytes>> = data
            .chunks(10 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = Body::Stream {
            length: data.len() as u64,
            stream: Box::pin(futures_util::stream::iter(pieces)),
        };
        let start = Instant::now();
        let (bytes, times) = drain(limit.pace(body), start).await;
        assert_eq!(bytes, data);
        assert!(times.iter().all(|&(_, len)| len <= 1024));
        // (40 KiB - 4 KiB burst) / 32 KiB/s = 1.125 s, on tokio's paused clock.
        let elapsed = times.last().unwrap().0;
        assert!(
            elapsed >= Duration::from_millis(1124) && elapsed <= Duration::from_millis(1130),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn two_bodies_share_one_bucket() {
        let limit = RateLimit::new(32 * 1024);
        let body = || Body::Bytes(Bytes::from(vec![7u8; 20 * 1024]));
        let start = Instant::now();
        let (a, b) = tokio::join!(
            drain(limit.pace(body()), start),
            drain(limit.pace(body()), start)
        );
        assert_eq!((a.0.len(), b.0.len()), (20 * 1024, 20 * 1024));
        let last = a.1.last().unwrap().0.max(b.1.last().unwrap().0);
        // Alone each would take 0.5 s; together they share 32 KiB/s: (40 - 4) / 32 = 1.125 s.
        assert!(last >= Duration::from_millis(1124), "{last:?}");
    }
}
