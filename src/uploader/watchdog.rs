//! Sending a body from the source while watching it: a request whose body stops moving for
//! the stall timeout is dropped (and retried by the loop), and bytes handed to the connection
//! are reported as `BytesSent`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};
use url::Url;

use super::single::SingleUpload;
use crate::error::Context;
use crate::progress::{ProgressCallback, ProgressEvent};
use crate::transport::{Response, Transport, TransportError, TransportErrorKind};
use crate::{Error, Result};

impl<T: Transport> SingleUpload<T> {
    /// Sends `len` bytes of the source from `offset` as the body of a `method` request to
    /// `url`, dropping it if it stalls. A failure to read the source wins over the request's
    /// own outcome. With `progress`, `BytesSent` events are reported while it runs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_watched(
        &mut self,
        method: Method,
        url: &Url,
        context: &Context,
        offset: u64,
        len: u64,
        headers: HeaderMap,
        progress: bool,
    ) -> Result<Response> {
        let sent = Arc::new(AtomicU64::new(0));
        let client = self.client.clone();
        let watch = watchdog(
            Arc::clone(&sent),
            offset,
            self.size(),
            self.options.stall_timeout,
            progress.then(|| self.options.progress.clone()).flatten(),
        );
        let exchange = {
            let context = context.clone();
            let url = url.clone();
            self.source_mut()?
                .send_range(offset, len, sent, move |body| async move {
                    client.send(&context, method, &url, headers, body).await
                })
        };
        let (response, read_error) = tokio::select! {
            outcome = exchange => outcome,
            stalled = watch => return Err(Error::Transport { context: context.clone(), source: stalled }),
        };
        if let Some(source) = read_error {
            return Err(Error::Source {
                context: context.clone(),
                source,
            });
        }
        response
    }
}

/// Reports bytes sent while a request is in flight, and returns an error if nothing moves for
/// `stall` (then the request is dropped and retried). Never returns without a stall timeout.
async fn watchdog(
    sent: Arc<AtomicU64>,
    base: u64,
    total: Option<u64>,
    stall: Option<Duration>,
    progress: Option<ProgressCallback>,
) -> TransportError {
    let tick = stall.map_or(Duration::from_millis(200), |s| {
        (s / 4).min(Duration::from_millis(200))
    });
    let mut last = 0;
    let mut last_change = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = sent.load(Ordering::Relaxed);
        if now != last {
            last = now;
            last_change = tokio::time::Instant::now();
            if let Some(callback) = &progress {
                callback(&ProgressEvent::BytesSent {
                    sent: base + now,
                    total,
                });
            }
        } else if let Some(stall) = stall {
            if last_change.elapsed() >= stall {
                return TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("stalled: no progress for {stall:?} after {now} bytes"),
                );
            }
        }
    }
}
