//! [`Uploader`]: one resumable upload, and its [`UploaderBuilder`].

mod builder;
mod exchange;
mod parallel;
mod recovery;
mod resume;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;
use url::Url;

pub use builder::{UploaderBuilder, DEFAULT_CHUNK_SIZE};
use recovery::{recovery, Recovery, UrlOrigin};

use crate::client::Client;
use crate::error::{Context, Operation};
use crate::fingerprint::{DefaultFingerprint, Fingerprint};
use crate::progress::{CancellationToken, ProgressCallback, ProgressEvent};
use crate::protocol::ChecksumAlgorithm;
use crate::retry::RetryPolicy;
use crate::source::{SeekableReader, Source, SourceSpec};
use crate::storage::{MemoryStorage, Storage};
use crate::transport::{ReqwestTransport, Transport};
use crate::{Error, Result};

/// How `Upload-Checksum` is chosen.
#[derive(Debug, Clone)]
pub(crate) enum ChecksumMode {
    Off,
    Always(ChecksumAlgorithm),
    Negotiate(Vec<ChecksumAlgorithm>),
}

/// The uploader's settings, fixed at build time.
#[derive(Clone)]
pub(crate) struct Settings {
    pub chunk_size: u64,
    pub metadata: Option<String>,
    pub headers: HeaderMap,
    pub checksum: ChecksumMode,
    pub retry: Arc<dyn RetryPolicy>,
    pub progress: Option<ProgressCallback>,
    pub cancel: CancellationToken,
    pub stall_timeout: Option<Duration>,
    pub resume: bool,
    pub remove_record_on_success: bool,
    pub recreate_if_gone: Option<bool>,
    pub creation_with_upload: bool,
    /// Partial uploads to split a file into (concatenation); 1 = a single upload.
    pub parallel: usize,
    /// This uploader is one partial upload of a parallel upload (`Upload-Concat: partial`).
    pub concat_partial: bool,
}

/// What a finished [`Uploader::upload`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSummary {
    /// The upload URL.
    pub url: Url,
    /// The server's offset at the end (the source's size after a full upload).
    pub offset: u64,
    /// The offset an earlier upload was continued from, if this run resumed one.
    pub resumed_from: Option<u64>,
    /// Bytes the server acknowledged during this run.
    pub bytes_uploaded: u64,
}

/// One resumable upload of one source.
///
/// Generic over the [`Transport`], the URL [`Storage`] and the [`Fingerprint`], with defaults,
/// so the simple case needs no annotations:
///
/// ```no_run
/// # async fn run() -> Result<(), tusky::Error> {
/// let client = tusky::Client::new("https://tus.example/files/")?;
/// let mut uploader = client.uploader().path("video.mp4").metadata("filename", "video.mp4").build()?;
/// let summary = uploader.upload().await?;
/// println!("uploaded to {}", summary.url);
/// # Ok(()) }
/// ```
pub struct Uploader<
    T: Transport = ReqwestTransport,
    S: Storage = MemoryStorage,
    F: Fingerprint = DefaultFingerprint,
> {
    client: Client<T>,
    settings: Settings,
    storage: Option<S>,
    fingerprint: F,
    spec: Option<SourceSpec>,
    /// The file's path, when the source is one (parallel uploads reopen it per range).
    path: Option<std::path::PathBuf>,
    source: Option<Source>,
    source_name: Option<String>,
    url: Option<Url>,
    origin: Option<UrlOrigin>,
    key: Option<String>,
    offset: u64,
    synced: bool,
    length_declared: bool,
    resumed_from: Option<u64>,
    chunk_size: u64,
    checksum: Option<Option<ChecksumAlgorithm>>,
    expires: Option<SystemTime>,
    started_emitted: bool,
    /// Where the current `upload_until` stops (bounds the data a creation POST carries).
    stop_at: Option<u64>,
    /// The partial uploads of a parallel upload, once created (until the final POST, they
    /// are what exists on the server).
    partial_urls: Vec<Url>,
}

impl<T: Transport, S: Storage, F: Fingerprint> std::fmt::Debug for Uploader<T, S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("url", &self.url.as_ref().map(Url::as_str))
            .field("offset", &self.offset)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Client<T> {
    /// A builder for an uploader that uses this client's endpoint, headers and transport.
    pub fn uploader(&self) -> UploaderBuilder<T, MemoryStorage, DefaultFingerprint> {
        UploaderBuilder::new(self.clone())
    }
}

/// How many successful PATCHes in a row may leave the offset where it was before the upload
/// is abandoned as a protocol error.
const MAX_UNACKNOWLEDGED_PATCHES: u32 = 32;

enum Step {
    Done,
    Sent,
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    fn new(
        client: Client<T>,
        settings: Settings,
        storage: Option<S>,
        fingerprint: F,
        spec: SourceSpec,
        source_name: Option<String>,
        url: Option<Url>,
    ) -> Self {
        let origin = url.as_ref().map(|_| UrlOrigin::Explicit);
        let chunk_size = settings.chunk_size;
        let path = match &spec {
            SourceSpec::Path(path) => Some(path.clone()),
            _ => None,
        };
        Self {
            client,
            settings,
            storage,
            fingerprint,
            spec: Some(spec),
            path,
            source: None,
            source_name,
            url,
            origin,
            key: None,
            offset: 0,
            synced: false,
            length_declared: false,
            resumed_from: None,
            chunk_size,
            checksum: None,
            expires: None,
            started_emitted: false,
            stop_at: None,
            partial_urls: Vec::new(),
        }
    }

    /// The offset the server acknowledged last (0 before anything was sent).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The upload URL, once known (given, found in the storage, or created).
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    /// The source's size, once the source is open and its size known.
    pub fn size(&self) -> Option<u64> {
        self.source.as_ref().and_then(Source::size)
    }

    /// The chunk size in use (it shrinks when the server answers 413 to a PATCH).
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// When the server said the upload expires, if it did.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// The storage key of this source, once computed (`None` without resume).
    pub fn fingerprint_key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Gives back the reader passed to [`UploaderBuilder::reader`] (or the opened file), so that
    /// tusky never closes a caller's stream.
    pub fn into_reader(mut self) -> Option<Box<dyn SeekableReader>> {
        let spec = match self.source.take() {
            Some(source) => source.into_spec(),
            None => self.spec.take()?,
        };
        match spec {
            SourceSpec::Reader(reader) => Some(reader),
            _ => None,
        }
    }

    /// Uploads everything, resuming where the server is, and returns the summary.
    pub async fn upload(&mut self) -> Result<UploadSummary> {
        self.run(None, None).await
    }

    /// Uploads up to `stop_at` bytes (tuspy's `upload(stop_at=...)`) and stops there.
    pub async fn upload_until(&mut self, stop_at: u64) -> Result<UploadSummary> {
        self.run(Some(stop_at), None).await
    }

    /// Sends one chunk (creating the upload first if needed) and returns the new offset.
    pub async fn upload_chunk(&mut self) -> Result<u64> {
        self.run(None, Some(1)).await.map(|summary| summary.offset)
    }

    /// Creates the upload (POST) now, if it has no URL yet, and returns its URL.
    pub async fn create(&mut self) -> Result<Url> {
        self.open_source().await?;
        self.ensure_url().await?;
        self.url
            .clone()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))
    }

    /// Reads the server's offset with HEAD (tuspy's `get_offset()`).
    pub async fn get_offset(&mut self) -> Result<u64> {
        self.open_source().await?;
        self.ensure_url().await?;
        self.sync_offset().await?;
        Ok(self.offset)
    }

    /// Terminates the upload on the server (DELETE) and removes its stored record. A parallel
    /// upload stopped before its final POST has its partial uploads deleted instead.
    pub async fn terminate(&mut self) -> Result<()> {
        if let Some(url) = self.url.clone() {
            self.terminate_url(&url).await?;
        } else if !self.partial_urls.is_empty() {
            // A parallel upload stopped before its final POST: delete its partial uploads
            // (one that is already gone needs no deleting).
            for url in self.partial_urls.clone() {
                match self.terminate_url(&url).await {
                    Err(error)
                        if error.status().is_some_and(|s| {
                            s == http::StatusCode::NOT_FOUND || s == http::StatusCode::GONE
                        }) => {}
                    result => result?,
                }
            }
            self.partial_urls.clear();
        } else {
            return Err(Error::Config(
                "the upload has no URL to terminate".to_owned(),
            ));
        }
        self.forget().await?;
        Ok(())
    }

    fn emit(&self, event: ProgressEvent) {
        if let Some(callback) = &self.settings.progress {
            callback(&event);
        }
    }

    fn context(&self, operation: Operation) -> Context {
        Context::new(operation, self.url.as_ref(), Some(self.offset))
    }

    async fn open_source(&mut self) -> Result<()> {
        if self.source.is_some() {
            return Ok(());
        }
        let Some(spec) = self.spec.take() else {
            return Err(Error::Config("the source is gone".to_owned()));
        };
        let source = Source::open(spec).await.map_err(|source| Error::Source {
            context: Context::new(Operation::ReadSource, None, None),
            source,
        })?;
        self.source = Some(source);
        Ok(())
    }

    fn source_mut(&mut self) -> Result<&mut Source> {
        self.source
            .as_mut()
            .ok_or_else(|| Error::Config("the source is not open".to_owned()))
    }

    /// Runs the upload loop until `stop_at` (or the end), or for `max_chunks` PATCHes.
    async fn run(
        &mut self,
        stop_at: Option<u64>,
        max_chunks: Option<usize>,
    ) -> Result<UploadSummary> {
        self.open_source().await?;
        self.stop_at = stop_at;
        if self.settings.parallel > 1
            && stop_at.is_none()
            && max_chunks.is_none()
            && self.url.is_none()
        {
            if let Some(summary) = self.run_parallel().await? {
                return Ok(summary);
            }
        }
        let start_offset = if self.synced { Some(self.offset) } else { None };
        let mut failures = 0u32;
        let mut since_progress = Instant::now();
        let mut chunks = 0usize;
        let mut start_overs = 0u32;
        let mut unacknowledged = 0u32;
        loop {
            if self.settings.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    context: self.context(Operation::Patch),
                });
            }
            let before = self.offset;
            let cancel = self.settings.cancel.clone();
            let result = tokio::select! {
                result = self.step(stop_at) => result,
                _ = cancel.cancelled() => Err(Error::Cancelled { context: self.context(Operation::Patch) }),
            };
            match result {
                Ok(Step::Done) => break,
                Ok(Step::Sent) => {
                    if self.offset > before {
                        failures = 0;
                        since_progress = Instant::now();
                        unacknowledged = 0;
                    } else {
                        // A 2xx that kept nothing is legal once in a while (a busy server), but
                        // a server that never keeps anything would make this loop spin forever.
                        unacknowledged += 1;
                        if unacknowledged > MAX_UNACKNOWLEDGED_PATCHES {
                            return Err(Error::protocol(
                                self.context(Operation::Patch),
                                format!("the server kept none of the bytes of {unacknowledged} PATCHes in a row"),
                            ));
                        }
                    }
                    chunks += 1;
                    if max_chunks.is_some_and(|max| chunks >= max) {
                        break;
                    }
                }
                Err(error) => {
                    if matches!(error, Error::Cancelled { .. }) {
                        return Err(error);
                    }
                    if self.refused_creation_body(&error) {
                        // A 413 to a creation POST that carried the first chunk: often a proxy's
                        // body limit. Create without a body once; a second 413 is final.
                        tracing::warn!(%error, "creating again without the first chunk in the POST");
                        self.settings.creation_with_upload = false;
                        continue;
                    }
                    let recreate = self
                        .settings
                        .recreate_if_gone
                        .unwrap_or(self.origin != Some(UrlOrigin::Explicit))
                        && self.can_start_over();
                    let checksummed = matches!(self.checksum, Some(Some(_)));
                    match recovery(&error, self.origin, recreate, checksummed) {
                        Recovery::Fail => return Err(error),
                        Recovery::StartOver(reason) => {
                            start_overs += 1;
                            if start_overs > 2 {
                                return Err(error);
                            }
                            tracing::warn!(%reason, url = ?self.url.as_ref().map(Url::as_str), "starting the upload over");
                            self.forget().await?;
                            self.url = None;
                            self.origin = None;
                            self.offset = 0;
                            self.synced = false;
                            self.resumed_from = None;
                            self.started_emitted = false;
                            self.emit(ProgressEvent::StartedOver { reason });
                            continue;
                        }
                        Recovery::ShrinkChunk => {
                            let smaller = (self.chunk_size / 2).max(1);
                            if smaller == self.chunk_size {
                                return Err(error);
                            }
                            tracing::warn!(
                                from = self.chunk_size,
                                to = smaller,
                                "server answered 413; shrinking chunks"
                            );
                            self.chunk_size = smaller;
                        }
                        Recovery::Resync => {}
                    }
                    failures += 1;
                    self.wait_to_retry(failures, since_progress.elapsed(), error, Operation::Patch)
                        .await?;
                    if self.url.is_some() {
                        self.synced = false;
                    }
                }
            }
        }
        let url = self
            .url
            .clone()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))?;
        let finished = self
            .source
            .as_ref()
            .and_then(Source::size)
            .is_some_and(|size| self.offset >= size)
            && self.length_declared;
        if finished {
            if self.settings.remove_record_on_success {
                self.forget().await?;
            }
            self.emit(ProgressEvent::Finished {
                url: url.clone(),
                total: self.offset,
            });
        }
        Ok(UploadSummary {
            url,
            offset: self.offset,
            resumed_from: self.resumed_from,
            bytes_uploaded: self
                .offset
                .saturating_sub(start_offset.or(self.resumed_from).unwrap_or(0)),
        })
    }

    /// Asks the retry policy about the `failures`-th failure in a row: gives up with `error`
    /// (or [`Error::RetriesExhausted`] after more than one attempt), or reports
    /// [`ProgressEvent::RetryScheduled`] and waits the delay, unless cancelled meanwhile.
    pub(super) async fn wait_to_retry(
        &mut self,
        failures: u32,
        elapsed: Duration,
        error: Error,
        operation: Operation,
    ) -> Result<()> {
        let Some(delay) = self.settings.retry.next_delay(failures, elapsed, &error) else {
            return Err(if failures > 1 {
                Error::RetriesExhausted {
                    attempts: failures,
                    last: Box::new(error),
                }
            } else {
                error
            });
        };
        tracing::info!(%error, attempt = failures, ?delay, %operation, "retrying");
        self.emit(ProgressEvent::RetryScheduled {
            error: error.to_string(),
            attempt: failures,
            delay,
        });
        let cancel = self.settings.cancel.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = cancel.cancelled() => Err(Error::Cancelled { context: self.context(operation) }),
        }
    }

    /// Whether `error` is a 413 to a creation POST that may have carried data.
    fn refused_creation_body(&self, error: &Error) -> bool {
        self.url.is_none()
            && self.settings.creation_with_upload
            && matches!(error, Error::Status { status, context, .. }
                if *status == http::StatusCode::PAYLOAD_TOO_LARGE
                    && context.operation == Operation::Create)
    }

    fn can_start_over(&self) -> bool {
        let endpoint = self.client.endpoint().is_some();
        let replayable = match &self.source {
            Some(Source::Seekable { .. }) => true,
            Some(source) => source.size().is_none() && self.offset == 0,
            None => true,
        };
        endpoint && replayable
    }

    /// One step: make sure there is a URL and a known offset, then send one chunk.
    async fn step(&mut self, stop_at: Option<u64>) -> Result<Step> {
        if self.url.is_none() {
            self.ensure_url().await?;
            if self.offset > 0 {
                // The creation POST carried the first chunk (creation-with-upload).
                return Ok(Step::Sent);
            }
        }
        if !self.synced {
            self.sync_offset().await?;
        }
        self.emit_started();
        let size = self.source.as_ref().and_then(Source::size);
        let seekable = self.source.as_ref().is_some_and(Source::is_seekable);
        let end = match (stop_at, size) {
            (Some(stop), Some(size)) => Some(stop.min(size)),
            (Some(stop), None) => Some(stop),
            (None, size) => size,
        };
        // Not complete while the server does not know the length (an upload with a deferred
        // length, even of a file): the next PATCH declares it.
        let complete = |offset: u64| {
            end.is_some_and(|end| offset >= end) && (stop_at.is_some() || self.length_declared)
        };
        if complete(self.offset) {
            return Ok(Step::Done);
        }
        let max_len = match end {
            Some(end) if seekable || stop_at.is_some() => self.chunk_size.min(end - self.offset),
            _ => self.chunk_size,
        };
        self.patch(max_len).await?;
        Ok(Step::Sent)
    }

    fn emit_started(&mut self) {
        self.emit_started_at(self.offset);
    }

    /// Emits `Started` (once per upload URL) at `offset`.
    fn emit_started_at(&mut self, offset: u64) {
        if self.started_emitted {
            return;
        }
        if let Some(url) = self.url.clone() {
            self.started_emitted = true;
            let total = self.size();
            self.emit(ProgressEvent::Started {
                url,
                offset,
                total,
                resumed: self.resumed_from.is_some(),
            });
        }
    }
}
