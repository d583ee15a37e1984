//! [`Uploader`]: one resumable upload of one source, and its [`UploaderBuilder`].
//!
//! How an upload flows (see also `docs/engine.md`):
//! - [`state`]: an upload is [`UploadState::New`] or a known remote upload (URL, where the URL
//!   came from, an offset that is synced or stale, whether the length is declared, expiry).
//! - [`single`]: the loop of one upload (create, HEAD, PATCH) over that state.
//! - [`parallel`]: a parallel upload owns one single upload per part and joins them.
//! - [`records`]: the stored record, scoped to the server; [`classify`] and [`retry_path`]:
//!   what a failure means and the one way every request is retried.

mod builder;
mod chunk_size;
mod classify;
mod completion;
mod content;
mod exchange;
mod idempotency;
mod options;
mod parallel;
mod parts_record;
mod records;
mod report;
mod requests;
mod retry_path;
mod single;
mod state;
mod watchdog;

use std::time::SystemTime;

use url::Url;

pub use builder::UploaderBuilder;
pub use chunk_size::{ChunkSize, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_AUTO_CHUNK_SIZE};
pub use completion::Completion;
pub(crate) use completion::Stored;
pub(crate) use records::unix_seconds;
pub(crate) use requests::{delete, head};

use classify::{Facts, Repeat};
use options::Options;
use parallel::ParallelUpload;
use records::{Found, Records, Scope};
use single::{Limit, RecordFacts, Recorder, SingleUpload, SourceSlot};
use state::{Offset, RemoteUpload, UploadState, UrlOrigin};

use crate::client::Client;
use crate::error::{Context, Operation};
use crate::fingerprint::{DefaultFingerprint, Fingerprint};
use crate::progress::ProgressEvent;
use crate::protocol::Extension;
use crate::source::{SeekableReader, SourceSpec};
use crate::storage::{NoStorage, Storage};
use crate::transport::{ReqwestTransport, Transport};
use crate::{Error, Result};

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
    /// The server's last answer to a request that sent bytes (PATCH, or a creation POST with
    /// data): its status, headers and (bounded) body — what a server's post-processing said.
    pub final_answer: Option<FinalAnswer>,
}

impl UploadSummary {
    /// Whether every byte is stored but the server's last answer was an error (it failed the
    /// request after storing, and a HEAD found all the bytes): not a plain success.
    pub fn stored_but_refused(&self) -> bool {
        self.final_answer
            .as_ref()
            .is_some_and(|answer| !answer.status.is_success())
    }
}

/// A server's answer, kept for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinalAnswer {
    /// The status.
    pub status: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, lossily decoded, at most [`FINAL_ANSWER_BODY`] bytes.
    pub body: String,
}

/// How much of the last answer's body a summary keeps (4 KiB).
pub const FINAL_ANSWER_BODY: usize = 4096;

impl FinalAnswer {
    pub(crate) fn of(response: &crate::transport::Response) -> Self {
        let mut body = response.body_text();
        if body.len() > FINAL_ANSWER_BODY {
            let mut cut = FINAL_ANSWER_BODY;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        Self {
            status: response.status,
            headers: response.headers.clone(),
            body,
        }
    }
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
    S: Storage = NoStorage,
    F: Fingerprint = DefaultFingerprint,
> {
    upload: SingleUpload<T>,
    records: Records<S, F>,
    /// The file, when the source is one (a parallel upload reads its ranges).
    path: Option<std::path::PathBuf>,
    /// The partial uploads of a parallel upload stopped before its final POST (what exists on
    /// the server, for [`Uploader::terminate`]).
    unjoined_parts: Vec<Url>,
}

impl<T: Transport, S: Storage, F: Fingerprint> std::fmt::Debug for Uploader<T, S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("url", &self.url().map(Url::as_str))
            .field("offset", &self.offset())
            .field("chunk_size", &self.upload.chunk.size())
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Client<T> {
    /// A builder for an uploader that uses this client's endpoint, headers and transport.
    pub fn uploader(&self) -> UploaderBuilder<T, NoStorage, DefaultFingerprint> {
        UploaderBuilder::new(self.clone())
    }
}

#[async_trait::async_trait]
impl<S: Storage, F: Fingerprint> Recorder for Records<S, F> {
    async fn remember(&self, remote: &RemoteUpload, facts: &RecordFacts) -> Result<()> {
        Records::remember(self, remote, facts).await
    }
    async fn forget(&self) -> Result<()> {
        Records::forget(self).await
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    fn new(
        client: Client<T>,
        options: Options,
        storage: Option<S>,
        fingerprint: F,
        spec: SourceSpec,
        source_name: Option<String>,
        url: Option<Url>,
    ) -> Self {
        let path = match &spec {
            SourceSpec::Path(path) => Some(path.clone()),
            _ => None,
        };
        Self {
            upload: SingleUpload::new(client, options, spec, url),
            records: Records::new(storage, fingerprint, source_name),
            path,
            unjoined_parts: Vec::new(),
        }
    }

    /// The offset the server acknowledged last (0 before anything was sent).
    pub fn offset(&self) -> u64 {
        self.upload.state.offset()
    }

    /// The upload URL, once known (given, found in the storage, or created).
    pub fn url(&self) -> Option<&Url> {
        self.upload.state.url()
    }

    /// The source's size, once the source is open and its size known.
    pub fn size(&self) -> Option<u64> {
        self.upload.size()
    }

    /// The chunk size in use: the size the next PATCH gets when enough bytes remain. It
    /// shrinks when the server answers 413 to a PATCH; with [`ChunkSize::Auto`] it follows
    /// the tuner.
    pub fn chunk_size(&self) -> u64 {
        self.upload.chunk.size()
    }

    /// When the server said the upload expires, if it did.
    pub fn expires(&self) -> Option<SystemTime> {
        self.upload.state.remote().and_then(|r| r.expires)
    }

    /// The storage key of this source's record, once computed (`None` without resume):
    /// `<fingerprint> @ <endpoint>` (plus ` @ file <device>:<inode>` for a file), or the bare
    /// fingerprint in a tuspy store. [`key_fingerprint`](crate::storage::key_fingerprint)
    /// gives the fingerprint back.
    pub fn fingerprint_key(&self) -> Option<&str> {
        self.records.key()
    }

    /// Gives back the reader passed to [`UploaderBuilder::reader`] (or the opened file), so that
    /// tusky never closes a caller's stream.
    pub fn into_reader(self) -> Option<Box<dyn SeekableReader>> {
        let spec = match self.upload.source {
            SourceSlot::Open(source) => source.into_spec(),
            SourceSlot::Given(spec) => spec,
            SourceSlot::Lost => return None,
        };
        match spec {
            SourceSpec::Reader(reader) => Some(reader),
            _ => None,
        }
    }

    /// Uploads everything, resuming where the server is, and returns the summary.
    pub async fn upload(&mut self) -> Result<UploadSummary> {
        self.run(Limit::End).await
    }

    /// Uploads up to `stop_at` bytes (tuspy's `upload(stop_at=...)`) and stops there.
    pub async fn upload_until(&mut self, stop_at: u64) -> Result<UploadSummary> {
        self.run(Limit::Until(stop_at)).await
    }

    /// Sends one chunk (creating the upload first if needed) and returns the new offset.
    pub async fn upload_chunk(&mut self) -> Result<u64> {
        self.run(Limit::Chunks(1))
            .await
            .map(|summary| summary.offset)
    }

    /// Creates the upload (POST) now, if it has no URL yet, and returns its URL.
    pub async fn create(&mut self) -> Result<Url> {
        self.run(Limit::Ready).await.map(|summary| summary.url)
    }

    /// Reads the server's offset with HEAD (tuspy's `get_offset()`).
    pub async fn get_offset(&mut self) -> Result<u64> {
        self.upload.state.mark_stale();
        self.run(Limit::Synced).await.map(|summary| summary.offset)
    }

    /// Terminates the upload on the server (DELETE) and removes its stored record. A parallel
    /// upload stopped before its final POST has its partial uploads deleted instead.
    pub async fn terminate(&mut self) -> Result<()> {
        if let Some(url) = self.url().cloned() {
            self.delete(&url).await?;
        } else if !self.unjoined_parts.is_empty() {
            for url in self.unjoined_parts.clone() {
                match self.delete(&url).await {
                    // One that is already gone needs no deleting.
                    Err(error) if requests::is_gone(&error) => {}
                    result => result?,
                }
            }
            self.unjoined_parts.clear();
        } else {
            return Err(Error::Config(
                "the upload has no URL to terminate".to_owned(),
            ));
        }
        self.records.forget().await
    }

    /// DELETE through the retry path.
    async fn delete(&mut self, url: &Url) -> Result<()> {
        let context = Context::new(Operation::Terminate, Some(url), Some(self.offset()));
        let client = self.upload.client.clone();
        let options = self.upload.options.clone();
        let facts = Facts::request(Repeat::Safe);
        retry_path::with_retries(&options, facts, Operation::Terminate, || {
            delete(&client, &context, url, options.headers.clone())
        })
        .await
    }

    /// Opens the source and computes its record key.
    async fn prepare(&mut self) -> Result<()> {
        self.upload.open_source().await?;
        let scope = Scope::new(self.upload.client.endpoint(), self.upload.state.url());
        let source = self.upload.source_mut()?;
        self.records.prepare(source, scope).await
    }

    async fn run(&mut self, limit: Limit) -> Result<UploadSummary> {
        if self.upload.options.cancel.is_cancelled() {
            return Err(Error::Cancelled {
                context: self.upload.context(Operation::Create),
            });
        }
        self.prepare().await?;
        if matches!(self.upload.state, UploadState::New) {
            let found = self.records.lookup(self.upload.size()).await?;
            if let Some(summary) = self.continue_found(found, limit).await? {
                return Ok(summary);
            }
        }
        self.upload.run(limit, &self.records).await
    }

    /// Takes up what the store holds for this source (and starts a parallel upload where one
    /// applies); `Some` when that finished the run.
    async fn continue_found(
        &mut self,
        found: Option<Found>,
        limit: Limit,
    ) -> Result<Option<UploadSummary>> {
        let parallel = self.parallel_plan(limit).await?;
        let found = match found {
            Some(found) => {
                let found = self.unless_changed(found).await?;
                Some(self.unless_content_changed(found).await?)
            }
            None => None,
        };
        match found {
            None => {}
            Some(Found::Unusable(reason)) => self
                .upload
                .options
                .emit(ProgressEvent::StartedOver { reason }),
            Some(Found::Upload { url, expires, .. }) => {
                tracing::info!(%url, "found a stored upload; resuming");
                self.upload.state =
                    UploadState::Remote(RemoteUpload::found(url, UrlOrigin::Stored, expires));
                if parallel.is_none() || self.stored_upload_usable().await? {
                    return Ok(None);
                }
            }
            Some(Found::Parallel { parts, .. }) if parallel.is_some() => {
                return self.run_parallel(Some(parts)).await.map(Some);
            }
            Some(Found::Parallel { parts, .. }) => {
                let reason = format!(
                    "the stored record is an unfinished parallel upload of {} parts; resume it with parallel(n) (a single upload starts now)",
                    parts.partials.len()
                );
                tracing::warn!(%reason, "not resuming");
                self.records.forget().await?;
                self.upload
                    .options
                    .emit(ProgressEvent::StartedOver { reason });
            }
        }
        match parallel {
            Some(()) => self.run_parallel(None).await.map(Some),
            None => Ok(None),
        }
    }

    /// A found record of this file taken when the file was different (edited, replaced) is
    /// forgotten and reported as unusable: resuming would put new bytes after old ones.
    async fn unless_changed(&mut self, found: Found) -> Result<Found> {
        let then = match &found {
            Found::Upload { file, .. } | Found::Parallel { file, .. } => file.as_ref(),
            Found::Unusable(_) => None,
        };
        let now = self.upload.file_identity();
        let Some(difference) = then
            .zip(now.as_ref())
            .and_then(|(then, now)| then.difference(now))
        else {
            return Ok(found);
        };
        let reason = format!("the file changed since the upload started: {difference}");
        tracing::warn!(%reason, "not resuming");
        self.records.forget().await?;
        Ok(Found::Unusable(reason))
    }

    /// With content verification, a found upload whose recorded digest the file's first bytes
    /// no longer match is forgotten and reported as unusable; one that matches carries the
    /// digest on.
    async fn unless_content_changed(&mut self, found: Found) -> Result<Found> {
        let Found::Upload {
            prefix: Some(prefix),
            ..
        } = &found
        else {
            return Ok(found);
        };
        if !self.upload.options.verify_content {
            return Ok(found);
        }
        let prefix = prefix.clone();
        let source = self.upload.source_mut()?;
        let checked = content::ContentCheck::verify(source, &prefix)
            .await
            .map_err(|source| Error::Source {
                context: Context::new(Operation::ReadSource, None, Some(prefix.len)),
                source,
            });
        match checked {
            Ok(Some(check)) => {
                self.upload.content = Some(check);
                Ok(found)
            }
            // Shorter than the digest's prefix, or different bytes.
            Ok(None) | Err(_) => {
                let reason = format!(
                    "the file's first {} bytes are not the ones uploaded (content check)",
                    prefix.len
                );
                tracing::warn!(%reason, "not resuming");
                self.records.forget().await?;
                Ok(Found::Unusable(reason))
            }
        }
    }

    /// For a parallel uploader that found a stored upload (an unfinished single upload of the
    /// file, or a finished parallel upload's final upload kept on success): whether to go on
    /// with it. One the server no longer has, or of another length, is forgotten (then a new
    /// parallel upload starts); any other failure is an error.
    async fn stored_upload_usable(&mut self) -> Result<bool> {
        match self.upload.run(Limit::Synced, &self.records).await {
            Ok(_) => Ok(true),
            Err(error)
                if requests::is_gone(&error) || matches!(error, Error::LengthMismatch { .. }) =>
            {
                tracing::info!(%error, "the stored upload is not usable; starting a parallel upload");
                self.records.forget().await?;
                self.upload.state.start_over();
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// `Some` when this run should be a parallel upload: asked for, a whole run of a file of
    /// known size, an endpoint whose server concatenates, and a file big enough to split.
    async fn parallel_plan(&mut self, limit: Limit) -> Result<Option<()>> {
        let parts = self.upload.options.parallel;
        if parts <= 1 || limit != Limit::End {
            return Ok(None);
        }
        let client = self.upload.client.clone();
        let (Some(_), Some(size), Some(endpoint)) = (&self.path, self.size(), client.endpoint())
        else {
            tracing::info!("parallel upload needs a file path, a known size and an endpoint; uploading in one stream");
            return Ok(None);
        };
        let capabilities = client.capabilities_of(endpoint).await?;
        if !capabilities.supports(Extension::Concatenation) {
            tracing::info!(%endpoint, "the server does not advertise concatenation; uploading in one stream");
            return Ok(None);
        }
        // Each partial is under the limit, but the final upload is the whole file: check it
        // before anything is created or sent.
        if let Some(max_size) = capabilities.max_size.filter(|max| size > *max) {
            return Err(Error::TooLarge {
                context: Context::new(Operation::Create, Some(endpoint), Some(0)),
                size,
                max_size,
            });
        }
        if size < parts as u64 || parallel::part_count(size, parts, self.upload.options.parts) < 2 {
            tracing::info!(
                size,
                "the file is too small to split; uploading in one stream"
            );
            return Ok(None);
        }
        Ok(Some(()))
    }

    /// Runs a parallel upload (of `stored` parts, or new ones) and takes its final upload as
    /// this uploader's upload.
    async fn run_parallel(
        &mut self,
        stored: Option<records::StoredParts>,
    ) -> Result<UploadSummary> {
        let (Some(path), Some(size), Some(endpoint)) = (
            self.path.clone(),
            self.size(),
            self.upload.client.endpoint().cloned(),
        ) else {
            return Err(Error::Config(
                "a parallel upload needs a file path, its size and an endpoint".to_owned(),
            ));
        };
        let mut parallel = ParallelUpload::new(
            &self.upload.client,
            &self.upload.options,
            (&path, size, &endpoint),
            stored,
        );
        let file = self.upload.file_identity();
        let joined = match parallel.run(&self.records, file.as_ref()).await {
            Ok(joined) => joined,
            Err(error) => {
                self.unjoined_parts = parallel.part_urls();
                return Err(error);
            }
        };
        self.unjoined_parts.clear();
        let remote = RemoteUpload {
            offset: Offset::Synced(size),
            length_declared: true,
            started_reported: true,
            resumed_from: joined.resumed_from,
            ..RemoteUpload::found(joined.url.clone(), UrlOrigin::Created, None)
        };
        if self.upload.options.remove_record_on_success {
            self.records.forget().await?;
        } else {
            // A kept record points at the final upload, so a later run finds it complete.
            let facts = RecordFacts {
                size: Some(size),
                file: self.upload.file_identity(),
                prefix: None,
            };
            self.records.remember(&remote, &facts).await?;
        }
        self.upload.state = UploadState::Remote(remote);
        self.upload.options.emit(ProgressEvent::Finished {
            url: joined.url.clone(),
            total: size,
        });
        let resumed = joined.resumed_from.unwrap_or(0);
        Ok(UploadSummary {
            url: joined.url,
            offset: size,
            resumed_from: joined.resumed_from,
            bytes_uploaded: size - resumed.min(size),
            final_answer: joined.final_answer,
        })
    }
}
