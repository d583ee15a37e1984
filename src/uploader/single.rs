//! [`SingleUpload`]: one upload of one source, as the server sees it. The loop that creates,
//! checks and sends; the uploader runs it for a whole source, a parallel upload once per part.

use async_trait::async_trait;
use url::Url;

use super::chunk_size::{timed_out, ChunkSizer, Outcome, STREAM_MAX_AUTO_CHUNK_SIZE};
use super::classify::{Decision, Facts, Repeat};
use super::options::{Options, Recreate};
use super::retry_path::Attempts;
use super::state::{RemoteUpload, UploadState, UrlOrigin};
use super::UploadSummary;
use crate::client::Client;
use crate::error::{Context, Operation};
use crate::progress::ProgressEvent;
use crate::protocol::ChecksumAlgorithm;
use crate::source::{Source, SourceSpec};
use crate::storage::FileIdentity;
use crate::transport::Transport;
use crate::{Error, Result};

/// How far a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// To the end of the source.
    End,
    /// Up to this offset (tuspy's `stop_at`).
    Until(u64),
    /// This many PATCHes (a creation POST that carried data counts as one).
    Chunks(usize),
    /// Until the upload exists and its offset is read (a gone upload may start over).
    Ready,
    /// Until the offset is read afresh; a gone upload is an error.
    Synced,
}

impl Limit {
    pub(crate) fn stop_at(self) -> Option<u64> {
        match self {
            Self::Until(stop) => Some(stop),
            _ => None,
        }
    }

    fn sends(self) -> bool {
        !matches!(self, Self::Ready | Self::Synced)
    }
}

/// Where the upload's record is kept; a part of a parallel upload keeps none of its own.
#[async_trait]
pub(crate) trait Recorder: Send + Sync {
    /// Writes the record of `remote` (after creation, and when what it holds changes).
    async fn remember(&self, remote: &RemoteUpload, facts: &RecordFacts) -> Result<()>;
    /// Removes the record.
    async fn forget(&self) -> Result<()>;
}

/// What a record says about the source besides the upload: its size, the file's identity,
/// and the digest of the acknowledged bytes (when content is verified).
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordFacts {
    pub size: Option<u64>,
    pub file: Option<FileIdentity>,
    pub prefix: Option<crate::storage::PrefixDigest>,
}

/// The recorder of an upload that keeps no record.
pub(crate) struct NoRecords;

#[async_trait]
impl Recorder for NoRecords {
    async fn remember(&self, _: &RemoteUpload, _: &RecordFacts) -> Result<()> {
        Ok(())
    }
    async fn forget(&self) -> Result<()> {
        Ok(())
    }
}

/// The source: given, opened, or lost (it failed to open and cannot be given back).
pub(crate) enum SourceSlot {
    Given(SourceSpec),
    Open(Source),
    Lost,
}

pub(crate) enum Step {
    Done,
    Sent,
    /// The upload was created, without bytes (no creation-with-upload): the next step sends.
    Created,
}

/// One upload of one source.
pub(crate) struct SingleUpload<T: Transport> {
    pub(crate) client: Client<T>,
    pub(crate) options: Options,
    pub(crate) source: SourceSlot,
    pub(crate) state: UploadState,
    /// The one place that decides how long each chunk is.
    pub(crate) chunk: ChunkSizer,
    /// The PATCH checksum algorithm, decided once (it may need the server's capabilities).
    pub(crate) checksum: std::sync::OnceLock<Option<ChecksumAlgorithm>>,
    /// The digest of the acknowledged bytes, when content is verified (made on first use).
    pub(crate) content: Option<super::content::ContentCheck>,
    /// The server's answer to the last request that sent bytes (kept for the summary).
    pub(crate) last_answer: Option<super::FinalAnswer>,
    /// The `Idempotency-Key` of the creation under way (idempotent creation): kept for its
    /// repeats, dropped once the upload is created or the creation changes shape.
    pub(crate) creation_key: Option<super::idempotency::IdempotencyKey>,
}

impl<T: Transport> SingleUpload<T> {
    pub(crate) fn new(
        client: Client<T>,
        options: Options,
        source: SourceSpec,
        url: Option<Url>,
    ) -> Self {
        let state = match url {
            Some(url) => UploadState::Remote(RemoteUpload::found(url, UrlOrigin::Explicit, None)),
            None => UploadState::New,
        };
        Self {
            client,
            chunk: ChunkSizer::new(options.chunk_size),
            options,
            source: SourceSlot::Given(source),
            state,
            checksum: std::sync::OnceLock::new(),
            content: None,
            last_answer: None,
            creation_key: None,
        }
    }

    pub(crate) fn context(&self, operation: Operation) -> Context {
        Context::new(operation, self.state.url(), Some(self.state.offset()))
    }

    pub(crate) async fn open_source(&mut self) -> Result<()> {
        if matches!(self.source, SourceSlot::Open(_)) {
            return Ok(());
        }
        let SourceSlot::Given(spec) = std::mem::replace(&mut self.source, SourceSlot::Lost) else {
            return Err(Error::Config(
                "the source could not be opened earlier".to_owned(),
            ));
        };
        let source = Source::open(spec).await.map_err(|source| Error::Source {
            context: Context::new(Operation::ReadSource, None, None),
            source,
        })?;
        self.source = SourceSlot::Open(source);
        Ok(())
    }

    pub(crate) fn source_mut(&mut self) -> Result<&mut Source> {
        match &mut self.source {
            SourceSlot::Open(source) => Ok(source),
            _ => Err(Error::Config("the source is not open".to_owned())),
        }
    }

    /// What the record says about the source now.
    pub(crate) fn record_facts(&self) -> RecordFacts {
        RecordFacts {
            size: self.size(),
            file: self.file_identity(),
            prefix: self.content.as_ref().map(|c| c.digest()),
        }
    }

    /// With content verification, hashes the acknowledged bytes up to `offset` (reading them
    /// from the source again) and writes the record with the new digest.
    pub(crate) async fn verify_progress(
        &mut self,
        offset: u64,
        records: &dyn Recorder,
    ) -> Result<()> {
        if !self.options.verify_content {
            return Ok(());
        }
        let SourceSlot::Open(source) = &mut self.source else {
            return Ok(());
        };
        if !source.is_seekable() {
            return Ok(());
        }
        let check = self.content.get_or_insert_with(Default::default);
        check
            .advance(source, offset)
            .await
            .map_err(|source| Error::Source {
                context: Context::new(Operation::ReadSource, self.state.url(), Some(offset)),
                source,
            })?;
        let facts = self.record_facts();
        match self.state.remote() {
            Some(remote) => records.remember(remote, &facts).await,
            None => Ok(()),
        }
    }

    /// The file's identity when it was opened (`None` unless the source is an open file).
    pub(crate) fn file_identity(&self) -> Option<FileIdentity> {
        match &self.source {
            SourceSlot::Open(source) => source.file_identity().cloned(),
            _ => None,
        }
    }

    /// Fails if the file changed since it was opened (grew, shrank, edited, replaced).
    pub(crate) async fn check_unchanged(&mut self, operation: Operation) -> Result<()> {
        let SourceSlot::Open(source) = &self.source else {
            return Ok(());
        };
        let Some(watch) = source.watch().cloned() else {
            return Ok(());
        };
        match watch.changed().await {
            Some(reason) => Err(Error::SourceChanged {
                context: self.context(operation),
                reason,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn size(&self) -> Option<u64> {
        match &self.source {
            SourceSlot::Open(source) => source.size(),
            _ => None,
        }
    }

    fn cancelled(&self) -> Error {
        Error::Cancelled {
            context: self.context(Operation::Patch),
        }
    }

    /// Runs the upload loop as far as `limit` says.
    pub(crate) async fn run(
        &mut self,
        limit: Limit,
        records: &dyn Recorder,
    ) -> Result<UploadSummary> {
        self.open_source().await?;
        let start_offset = self.state.synced_offset();
        let mut attempts = Attempts::new();
        let mut chunks = 0usize;
        loop {
            if self.options.cancel.is_cancelled() {
                return Err(self.cancelled());
            }
            let before = self.state.offset();
            let cancel = self.options.cancel.clone();
            let result = if self.state.remote().is_none() {
                // A creation is not dropped half-way: dropped once the server made the upload,
                // it would leave an upload nobody has the URL of. It ends (its request has
                // deadlines) and is recorded; the cancellation is seen right after.
                self.step(limit, records).await
            } else {
                tokio::select! {
                    result = self.step(limit, records) => result,
                    () = cancel.cancelled() => Err(self.cancelled()),
                }
            };
            match result {
                Ok(Step::Done) => break,
                Ok(Step::Created) => {}
                Ok(Step::Sent) => {
                    if self.state.offset() > before {
                        attempts.progressed();
                    } else {
                        attempts.kept_nothing(self.context(Operation::Patch))?;
                    }
                    chunks += 1;
                    if matches!(limit, Limit::Chunks(max) if chunks >= max) {
                        break;
                    }
                }
                Err(error @ Error::Cancelled { .. }) => return Err(error),
                Err(error) => self.recover(error, limit, &mut attempts, records).await?,
            }
        }
        self.finish(limit, start_offset, records).await
    }

    /// Reads the offset once (HEAD), without retrying and without reporting a failure: the
    /// offset stays stale, and the next run's loop deals with whatever went wrong.
    pub(crate) async fn probe(&mut self) {
        if self.open_source().await.is_ok() {
            if let Err(error) = self.sync(&NoRecords).await {
                tracing::debug!(%error, "probing a stored upload failed; the upload loop retries");
            }
        }
    }

    /// What is known about this upload when a request fails.
    fn facts(&self, limit: Limit) -> Facts {
        let origin = self.state.remote().map(|r| r.origin);
        let recreate = match self.options.recreate {
            Recreate::Always => true,
            Recreate::Never => false,
            Recreate::UnlessExplicit => origin != Some(UrlOrigin::Explicit),
        };
        Facts {
            origin,
            may_recreate: recreate && limit != Limit::Synced && self.can_start_over(),
            checksummed: matches!(self.checksum.get(), Some(Some(_))),
            creation_body: self.state.remote().is_none() && self.options.creation_with_upload,
            refreshes_auth: self.client.inner().refreshes_auth,
            // The key is held only while a creation is under way (idempotent creation).
            repeat: Repeat::creation(self.creation_key.as_ref()),
        }
    }

    fn can_start_over(&self) -> bool {
        let replayable = match &self.source {
            SourceSlot::Open(Source::Seekable { .. }) => true,
            SourceSlot::Open(source) => source.size().is_none() && self.state.offset() == 0,
            _ => true,
        };
        self.client.endpoint().is_some() && replayable
    }

    /// Carries out what the retry path decides about `error`.
    async fn recover(
        &mut self,
        error: Error,
        limit: Limit,
        attempts: &mut Attempts,
        records: &dyn Recorder,
    ) -> Result<()> {
        let operation = error.context().map_or(Operation::Patch, |c| c.operation);
        match attempts.decide(&error, &self.facts(limit)) {
            Decision::Fail => return Err(error),
            Decision::CreateWithoutBody => {
                tracing::warn!(%error, "creating again without the first chunk in the POST");
                self.options.creation_with_upload = false;
                // Another request: another key (a server may keep the 413 as the key's answer).
                self.creation_key = None;
                return Ok(());
            }
            Decision::StartOver(reason) => {
                tracing::warn!(%reason, url = ?self.state.url().map(Url::as_str), "starting the upload over");
                records.forget().await?;
                self.state.start_over();
                self.options.emit(ProgressEvent::StartedOver { reason });
                return Ok(());
            }
            Decision::ShrinkChunk => {
                if !self.chunk.answered(Outcome::TooLarge) {
                    return Err(error);
                }
            }
            Decision::Retry => {
                if operation == Operation::Patch && timed_out(&error) {
                    self.chunk.answered(Outcome::TimedOut);
                }
            }
        }
        attempts.wait(&self.options, error, operation).await?;
        self.state.mark_stale();
        Ok(())
    }

    /// One step: make sure there is an upload and a known offset, then send one chunk.
    async fn step(&mut self, limit: Limit, records: &dyn Recorder) -> Result<Step> {
        // Another part of this upload may have been told to slow down: wait with it.
        let pause = std::sync::Arc::clone(&self.options.pause);
        pause.wait_out(&self.options).await?;
        self.bound_chunks().await?;
        if self.state.remote().is_none() {
            self.create(limit.stop_at(), records).await?;
            // With bytes, the creation POST carried the first chunk (creation-with-upload).
            let sent = self.state.offset() > 0 && limit.sends();
            return Ok(if sent { Step::Sent } else { Step::Created });
        }
        if self.state.synced_offset().is_none() {
            self.sync(records).await?;
        }
        if !limit.sends() {
            return Ok(Step::Done);
        }
        self.report_started();
        let stop_at = limit.stop_at();
        let size = self.size();
        let end = match (stop_at, size) {
            (Some(stop), Some(size)) => Some(stop.min(size)),
            (Some(stop), None) => Some(stop),
            (None, size) => size,
        };
        let offset = self.state.offset();
        // Not complete while the server does not know the length (an upload with a deferred
        // length, even of a file): the next PATCH declares it.
        let length_declared = self.state.remote().is_some_and(|r| r.length_declared);
        if end.is_some_and(|end| offset >= end) && (stop_at.is_some() || length_declared) {
            return Ok(Step::Done);
        }
        let seekable = matches!(self.source, SourceSlot::Open(Source::Seekable { .. }));
        let remaining = match end {
            Some(end) if seekable || stop_at.is_some() => Some(end - offset),
            _ => None,
        };
        let max_len = self.chunk.next_len(remaining);
        // The whole turn of one chunk (read, send, answer, record) is what its size amortizes.
        let started = tokio::time::Instant::now();
        self.patch(max_len, records).await?;
        self.chunk.answered(Outcome::Accepted(started.elapsed()));
        Ok(Step::Sent)
    }

    /// Tells an automatic chunk size its bounds: the server's `Tus-Max-Size` and, for a
    /// stream, what it may hold in memory. The server's capabilities are read when the upload
    /// is about to be created (the POST reads them anyway, and may carry the first chunk),
    /// else only when already known.
    async fn bound_chunks(&mut self) -> Result<()> {
        if !self.chunk.is_auto() {
            return Ok(());
        }
        if matches!(self.source, SourceSlot::Open(Source::Stream { .. })) {
            self.chunk.limit(STREAM_MAX_AUTO_CHUNK_SIZE);
        }
        let Some(endpoint) = self.client.endpoint().cloned() else {
            return Ok(());
        };
        let capabilities = if self.state.remote().is_none() {
            Some(self.client.capabilities_of(&endpoint).await?)
        } else {
            self.client.cached_capabilities(&endpoint)
        };
        if let Some(max_size) = capabilities.and_then(|c| c.max_size) {
            self.chunk.limit(max_size);
        }
        Ok(())
    }

    /// After the loop: a complete upload is reported finished (and its record removed).
    async fn finish(
        &mut self,
        limit: Limit,
        start_offset: Option<u64>,
        records: &dyn Recorder,
    ) -> Result<UploadSummary> {
        let size = self.size();
        let remote = self
            .state
            .remote()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))?;
        let (url, offset, resumed_from) = (
            remote.url.clone(),
            remote.offset.value(),
            remote.resumed_from,
        );
        let complete = size.is_some_and(|size| offset >= size) && remote.length_declared;
        if complete && limit.sends() {
            // The last chunk was read from the file as it was: make sure it still is.
            self.check_unchanged(Operation::Patch).await?;
            if self.options.remove_record_on_success {
                records.forget().await?;
            }
            self.options.emit(ProgressEvent::Finished {
                url: url.clone(),
                total: offset,
            });
        }
        Ok(UploadSummary {
            url,
            offset,
            resumed_from,
            bytes_uploaded: offset.saturating_sub(start_offset.or(resumed_from).unwrap_or(0)),
            final_answer: self.last_answer.clone(),
        })
    }
}
