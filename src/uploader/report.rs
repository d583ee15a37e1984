//! Progress reporting shared by single and parallel uploads: `Started` once per upload URL,
//! acknowledged bytes, and the sum over the parts of a parallel upload.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::single::SingleUpload;
use crate::progress::{ProgressCallback, ProgressEvent};
use crate::transport::Transport;

impl<T: Transport> SingleUpload<T> {
    /// Reports `Started` at the current offset (once per upload URL).
    pub(crate) fn report_started(&mut self) {
        self.report_started_at(self.state.offset());
    }

    /// Reports `Started` at `offset` (once per upload URL).
    pub(crate) fn report_started_at(&mut self, offset: u64) {
        let total = self.size();
        let Some(remote) = self.state.remote_mut() else {
            return;
        };
        if remote.started_reported {
            return;
        }
        remote.started_reported = true;
        let event = ProgressEvent::Started {
            url: remote.url.clone(),
            offset,
            total,
            resumed: remote.resumed_from.is_some(),
        };
        self.options.emit(event);
    }

    /// Reports that the server now holds the bytes from `start` to `end`.
    pub(crate) fn acknowledge(&self, start: u64, end: u64) {
        let total = self.size();
        self.options
            .emit(ProgressEvent::Acknowledged { offset: end, total });
        self.options
            .emit(ProgressEvent::ChunkCompleted { start, end });
    }
}

/// The progress callback of part `index` of a parallel upload: what the server holds of each
/// part is summed into the parent's `Acknowledged`; retries and start-overs pass through.
pub(crate) fn part_progress(
    parent: ProgressCallback,
    acknowledged: Arc<Vec<AtomicU64>>,
    index: usize,
    total: Option<u64>,
) -> ProgressCallback {
    Arc::new(move |event: &ProgressEvent| match event {
        // A resumed partial upload starts at what the server already holds: that counts as
        // acknowledged too, or the sum would end short of the size.
        ProgressEvent::Acknowledged { offset, .. } | ProgressEvent::Started { offset, .. }
            if *offset > 0 =>
        {
            if let Some(slot) = acknowledged.get(index) {
                slot.fetch_max(*offset, Ordering::Relaxed);
            }
            let sum = acknowledged.iter().map(|a| a.load(Ordering::Relaxed)).sum();
            parent(&ProgressEvent::Acknowledged { offset: sum, total });
        }
        ProgressEvent::RetryScheduled { .. } | ProgressEvent::StartedOver { .. } => parent(event),
        _ => {}
    })
}
