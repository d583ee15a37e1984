//! A batch's progress: every file's events tagged with the file ([`BatchEvent`]), and the
//! totals over all files ([`Totals`]).

use std::sync::{Arc, Mutex, MutexGuard};

use super::{BatchItem, Outcome, OutcomeKind};
use crate::ProgressEvent;

/// Something that happened to one file of a batch, with the batch's totals after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchEvent {
    /// The item's position in the batch (from 0).
    pub index: usize,
    /// The item.
    pub item: Arc<BatchItem>,
    /// What happened.
    pub event: FileEvent,
    /// The totals over every file, after this event.
    pub totals: Totals,
}

/// What happened to one file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FileEvent {
    /// A job took the file: its upload (or the check of its completion record) begins.
    Started {
        /// The file's size, when it could be read.
        size: Option<u64>,
    },
    /// An event of the file's uploader.
    Progress(ProgressEvent),
    /// The file has its result (yielded by [`BatchRun::next`](super::BatchRun::next)).
    Finished(OutcomeKind),
}

/// A batch's progress over every file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// The files in the batch.
    pub files: usize,
    /// The files with a result.
    pub files_finished: usize,
    /// The size of every file whose size could be read.
    pub bytes: u64,
    /// The bytes the server holds, as acknowledged, over every file (a finished or already
    /// uploaded file counts whole; a resumed one from where it resumed).
    pub acknowledged: u64,
    /// The bytes the server acknowledged during this run.
    pub uploaded: u64,
}

/// The progress callback of a batch.
pub(crate) type BatchCallback = Arc<dyn Fn(&BatchEvent) + Send + Sync>;

/// One file's share of the totals.
#[derive(Debug, Clone, Copy, Default)]
struct FileShare {
    /// Acknowledged by the server.
    acknowledged: u64,
    /// Where this run started (what was on the server before).
    base: u64,
}

impl FileShare {
    fn uploaded(self) -> u64 {
        self.acknowledged.saturating_sub(self.base)
    }
}

struct State {
    files: Vec<FileShare>,
    totals: Totals,
}

/// Keeps the totals and reports events to the callback, in the order they happen.
pub(crate) struct Tracker {
    state: Mutex<State>,
    callback: Option<BatchCallback>,
}

impl Tracker {
    pub(crate) fn new(sizes: &[Option<u64>], callback: Option<BatchCallback>) -> Self {
        let totals = Totals {
            files: sizes.len(),
            bytes: sizes.iter().flatten().sum(),
            ..Totals::default()
        };
        Self {
            state: Mutex::new(State {
                files: vec![FileShare::default(); sizes.len()],
                totals,
            }),
            callback,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The totals now.
    pub(crate) fn totals(&self) -> Totals {
        self.lock().totals
    }

    /// A job took file `index`.
    pub(crate) fn started(&self, index: usize, item: &Arc<BatchItem>, size: Option<u64>) {
        self.update(index, item, FileEvent::Started { size }, |_| None);
    }

    /// File `index`'s uploader reported `event`.
    pub(crate) fn progress(&self, index: usize, item: &Arc<BatchItem>, event: &ProgressEvent) {
        let change = |share: FileShare| match event {
            ProgressEvent::Started {
                offset, resumed, ..
            } => Some(FileShare {
                acknowledged: *offset,
                base: if *resumed { *offset } else { 0 },
            }),
            ProgressEvent::Acknowledged { offset, .. } => Some(FileShare {
                acknowledged: *offset,
                ..share
            }),
            ProgressEvent::Finished { total, .. } => Some(FileShare {
                acknowledged: *total,
                ..share
            }),
            ProgressEvent::StartedOver { .. } => Some(FileShare::default()),
            _ => None,
        };
        self.update(index, item, FileEvent::Progress(event.clone()), change);
    }

    /// File `index` ended with `outcome`; `size` is its size.
    pub(crate) fn finished(
        &self,
        index: usize,
        item: &Arc<BatchItem>,
        outcome: &Outcome,
        size: Option<u64>,
    ) {
        let change = |share: FileShare| match outcome {
            Outcome::AlreadyUploaded(_) => size.map(|size| FileShare {
                acknowledged: size,
                base: size,
            }),
            Outcome::Uploaded(summary) | Outcome::StoredButRefused(summary) => Some(FileShare {
                acknowledged: summary.offset,
                ..share
            }),
            _ => None,
        };
        let event = FileEvent::Finished(outcome.kind());
        self.update(index, item, event, change);
    }

    /// Applies `change` to file `index`'s share (a finished event also counts the file) and
    /// reports `event` with the new totals.
    fn update(
        &self,
        index: usize,
        item: &Arc<BatchItem>,
        event: FileEvent,
        change: impl FnOnce(FileShare) -> Option<FileShare>,
    ) {
        let mut state = self.lock();
        let State { files, totals } = &mut *state;
        if let Some(share) = files.get_mut(index) {
            if let Some(new) = change(*share) {
                totals.acknowledged = totals.acknowledged - share.acknowledged + new.acknowledged;
                totals.uploaded = totals.uploaded - share.uploaded() + new.uploaded();
                *share = new;
            }
        }
        if matches!(event, FileEvent::Finished(_)) {
            totals.files_finished += 1;
        }
        if let Some(callback) = &self.callback {
            callback(&BatchEvent {
                index,
                item: Arc::clone(item),
                event,
                totals: *totals,
            });
        }
    }
}
