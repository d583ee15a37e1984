//! [`BatchRun`]: a started batch. At most `jobs` files upload at once, each on its own task;
//! results come out as files finish.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::config::{store_or_none, Completions, Configure, Start};
use super::progress::Tracker;
use super::{BatchItem, BatchResult, BatchSummary, Outcome, Totals};
use crate::fingerprint::DefaultFingerprint;
use crate::storage::{Storage, StorageError};
use crate::transport::{ReqwestTransport, Transport};
use crate::uploader::{Completion, Stored};
use crate::{CancellationToken, Client, Error, ProgressEvent, Result, UploadSummary, Uploader};

/// The uploader of one file of a batch.
type FileUploader<T> = Uploader<T, Arc<dyn Storage>, DefaultFingerprint>;

/// What every file's task shares.
pub(crate) struct Shared<T: Transport> {
    pub client: Client<T>,
    pub configure: Arc<Configure<T>>,
    pub storage: Option<Arc<dyn Storage>>,
    pub completions: Completions,
    pub start: Start,
    pub cancel: CancellationToken,
    pub tracker: Tracker,
}

/// A file waiting for a job.
struct Queued {
    index: usize,
    item: Arc<BatchItem>,
    size: Option<u64>,
}

/// A started [`Batch`](super::Batch): await [`next`](BatchRun::next) until it returns `None`
/// (or [`finish`](BatchRun::finish)); files are taken up as jobs free, so the uploads advance
/// while the run is driven. Dropping it aborts the uploads in flight (as dropping an upload
/// does); cancel the batch's token and drain it to stop cleanly.
pub struct BatchRun<T: Transport = ReqwestTransport> {
    shared: Arc<Shared<T>>,
    queue: std::vec::IntoIter<Queued>,
    running: JoinSet<BatchResult>,
    jobs: usize,
    summary: BatchSummary,
}

impl<T: Transport> std::fmt::Debug for BatchRun<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRun")
            .field("queued", &self.queue.len())
            .field("running", &self.running.len())
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> BatchRun<T> {
    pub(crate) fn new(
        shared: Shared<T>,
        items: Vec<BatchItem>,
        sizes: Vec<Option<u64>>,
        jobs: usize,
    ) -> Self {
        let summary = BatchSummary::new(items.len());
        let queue: Vec<Queued> = items
            .into_iter()
            .zip(sizes)
            .enumerate()
            .map(|(index, (item, size))| Queued {
                index,
                item: Arc::new(item),
                size,
            })
            .collect();
        Self {
            shared: Arc::new(shared),
            queue: queue.into_iter(),
            running: JoinSet::new(),
            jobs,
            summary,
        }
    }

    /// The next file to finish (in the order they finish), or `None` when every file has its
    /// result. Starts waiting files while fewer than `jobs` are in flight.
    pub async fn next(&mut self) -> Option<BatchResult> {
        loop {
            while self.running.len() < self.jobs {
                let Some(queued) = self.queue.next() else {
                    break;
                };
                self.running
                    .spawn(run_one(Arc::clone(&self.shared), queued));
            }
            match self.running.join_next().await? {
                Ok(result) => {
                    self.summary.add(&result);
                    return Some(result);
                }
                // A file's task panicked: a bug in tusky, not something to hide.
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                // Aborted: only by dropping the run, which then cannot be awaited.
                Err(_) => continue,
            }
        }
    }

    /// Drives the run to the end and returns its summary.
    pub async fn finish(mut self) -> BatchSummary {
        while self.next().await.is_some() {}
        self.summary
    }

    /// How many files ended how, so far.
    pub fn summary(&self) -> &BatchSummary {
        &self.summary
    }

    /// The totals over every file now.
    pub fn totals(&self) -> Totals {
        self.shared.tracker.totals()
    }
}

/// One file, from its job's start to its result.
async fn run_one<T: Transport>(shared: Arc<Shared<T>>, queued: Queued) -> BatchResult {
    let Queued { index, item, size } = queued;
    let outcome = if shared.cancel.is_cancelled() {
        Outcome::Cancelled {
            url: None,
            offset: 0,
        }
    } else {
        shared.tracker.started(index, &item, size);
        upload_one(&shared, index, &item).await
    };
    shared.tracker.finished(index, &item, &outcome, size);
    BatchResult {
        index,
        item,
        size,
        outcome,
    }
}

async fn upload_one<T: Transport>(
    shared: &Arc<Shared<T>>,
    index: usize,
    item: &Arc<BatchItem>,
) -> Outcome {
    let mut uploader = match uploader_for(shared, index, item) {
        Ok(uploader) => uploader,
        Err(error) => return failure(shared, error, None),
    };
    match before_upload(shared, index, item, &mut uploader).await {
        Ok(Some(completion)) => return Outcome::AlreadyUploaded(completion),
        Ok(None) => {}
        Err(error) => return failure(shared, error, Some(&uploader)),
    }
    match uploader.upload().await {
        Ok(summary) => match after_upload(shared, &mut uploader, &summary).await {
            Ok(()) if summary.stored_but_refused() => Outcome::StoredButRefused(summary),
            Ok(()) => Outcome::Uploaded(summary),
            Err(error) => failure(shared, error, Some(&uploader)),
        },
        Err(error) => failure(shared, error, Some(&uploader)),
    }
}

/// The uploader of `item`: the shared settings, then the file, its metadata, the store,
/// cancellation and progress.
fn uploader_for<T: Transport>(
    shared: &Arc<Shared<T>>,
    index: usize,
    item: &Arc<BatchItem>,
) -> Result<FileUploader<T>> {
    let name = std::fs::canonicalize(item.path()).unwrap_or_else(|_| item.path().to_owned());
    let mut builder = (shared.configure)(shared.client.uploader())
        .path(item.path())
        .source_name(name.display().to_string());
    for (key, value) in item.upload_metadata() {
        builder = builder.metadata(key, value);
    }
    let (storage, resume) = store_or_none(shared.storage.as_ref());
    let keeps_completions = matches!(shared.completions, Completions::Keep(_));
    let progress = Arc::clone(shared);
    let tagged = Arc::clone(item);
    builder
        .storage(storage)
        .resume(resume)
        // A completion record replaces the upload's record; until it is written, the kept
        // record still says where the finished upload is.
        .remove_record_on_success(!keeps_completions)
        .cancellation_token(shared.cancel.clone())
        .on_progress(move |event| progress.tracker.progress(index, &tagged, event))
        .build()
}

/// What the store holds for the file, before its upload: a completion that holds (`Some`:
/// nothing to upload); else the record to resume, or none (forgotten when the batch is
/// fresh, or when a completion no longer holds).
async fn before_upload<T: Transport>(
    shared: &Shared<T>,
    index: usize,
    item: &Arc<BatchItem>,
    uploader: &mut FileUploader<T>,
) -> Result<Option<Completion>> {
    if shared.storage.is_none() {
        return Ok(None);
    }
    match (shared.start, shared.completions) {
        (Start::Fresh, _) => uploader.forget_record().await.map(|()| None),
        (Start::Resume, Completions::Off) => Ok(None),
        (Start::Resume, Completions::Keep(_)) => match uploader.stored_completion().await? {
            Stored::Complete(completion) => Ok(Some(completion)),
            Stored::Unfinished => Ok(None),
            Stored::Stale(reason) => {
                tracing::info!(file = %item.path().display(), %reason, "uploading again");
                uploader.forget_record().await?;
                let event = ProgressEvent::StartedOver { reason };
                shared.tracker.progress(index, item, &event);
                Ok(None)
            }
        },
    }
}

/// After a finished upload: record its completion, or (when the server refused it after
/// storing) forget it, so that running the batch again uploads it again.
async fn after_upload<T: Transport>(
    shared: &Shared<T>,
    uploader: &mut FileUploader<T>,
    summary: &UploadSummary,
) -> Result<()> {
    match shared.completions {
        Completions::Keep(_) if summary.stored_but_refused() => uploader.forget_record().await,
        Completions::Keep(keep) => uploader.record_completion(summary, keep).await,
        Completions::Off => Ok(()),
    }
}

/// The outcome of a file whose upload (or a step around it) ended with `error`.
fn failure<T: Transport>(
    shared: &Shared<T>,
    error: Error,
    uploader: Option<&FileUploader<T>>,
) -> Outcome {
    let url = uploader.and_then(|u| u.url().cloned());
    let offset = uploader.map_or(0, |u| u.offset());
    if is_cancellation(&error) || shared.cancel.is_cancelled() {
        Outcome::Cancelled { url, offset }
    } else {
        Outcome::Failed { error, url, offset }
    }
}

/// Whether `error` is a stop asked for (by the token, or a store that gave way to it).
fn is_cancellation(error: &Error) -> bool {
    match error {
        Error::Cancelled { .. }
        | Error::Storage {
            source: StorageError::Cancelled,
            ..
        } => true,
        Error::RetriesExhausted { last, .. } => is_cancellation(last),
        _ => false,
    }
}
