//! A recorder of progress events, and a progress callback that cancels an upload.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tusky::{CancellationToken, ProgressEvent};

/// Records every progress event of the uploaders it is given to (clones share the record).
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<ProgressEvent>>>);

impl Events {
    /// A callback for `on_progress` that records into this collector.
    pub fn callback(&self) -> impl Fn(&ProgressEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &ProgressEvent| events.lock().unwrap().push(event.clone())
    }

    /// Every event so far, in order.
    pub fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }

    /// The offsets of every `Acknowledged`.
    pub fn acknowledged(&self) -> Vec<u64> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::Acknowledged { offset, .. } => Some(offset),
                _ => None,
            })
            .collect()
    }

    /// `(start, end)` of every `ChunkCompleted`.
    pub fn chunks(&self) -> Vec<(u64, u64)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::ChunkCompleted { start, end } => Some((start, end)),
                _ => None,
            })
            .collect()
    }

    /// `(error text, attempt, delay)` of every `RetryScheduled`.
    pub fn retries(&self) -> Vec<(String, u32, Duration)> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::RetryScheduled {
                    error,
                    attempt,
                    delay,
                } => Some((error, attempt, delay)),
                _ => None,
            })
            .collect()
    }

    /// The reasons of every `StartedOver`.
    pub fn started_over(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::StartedOver { reason } => Some(reason),
                _ => None,
            })
            .collect()
    }
}

/// A token, and a progress callback that cancels it as soon as `at` bytes are acknowledged
/// (give both to one uploader: it stops mid-way, at a point its own progress decides).
pub fn cancel_when_acknowledged(
    at: u64,
) -> (
    CancellationToken,
    impl Fn(&ProgressEvent) + Send + Sync + 'static,
) {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let callback = move |event: &ProgressEvent| {
        if matches!(event, ProgressEvent::Acknowledged { offset, .. } if *offset >= at) {
            cancel.cancel();
        }
    };
    (token, callback)
}
