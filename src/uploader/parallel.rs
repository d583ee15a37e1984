//! Parallel uploads with the concatenation extension: a file is split into ranges, each range
//! is a partial upload (resumable on its own; their URLs are kept in the stored record), and a
//! final `Upload-Concat: final;...` POST joins them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::future::try_join_all;
use http::{HeaderValue, Method, StatusCode};
use url::Url;

use super::recovery::{recovery, Recovery, UrlOrigin};
use super::{Settings, UploadSummary, Uploader};
use crate::error::{Context, Operation};
use crate::fingerprint::{Fingerprint, HeadBytesFingerprint};
use crate::progress::ProgressEvent;
use crate::protocol::{self, names, Extension};
use crate::source::SourceSpec;
use crate::storage::{MemoryStorage, Storage, UploadRecord};
use crate::transport::{Body, Transport};
use crate::{Error, Result};

/// Splits `size` bytes into `parts` ranges `(start, len)` of near-equal length.
pub(crate) fn split_ranges(size: u64, parts: usize) -> Vec<(u64, u64)> {
    let parts = (parts as u64).clamp(1, size.max(1));
    let base = size / parts;
    let extra = size % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + u64::from(i < extra);
            let range = (start, len);
            start += len;
            range
        })
        .collect()
}

type Partial<T> = Uploader<T, MemoryStorage, HeadBytesFingerprint>;

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    /// Runs a parallel upload, or returns `None` when it does not apply (then the caller
    /// uploads in one stream).
    pub(super) async fn run_parallel(&mut self) -> Result<Option<UploadSummary>> {
        if self.settings.cancel.is_cancelled() {
            return Err(Error::Cancelled {
                context: self.context(Operation::Create),
            });
        }
        let (Some(path), Some(size), Some(endpoint)) = (
            self.path.clone(),
            self.size(),
            self.client.endpoint().cloned(),
        ) else {
            tracing::info!("parallel upload needs a file path, a known size and an endpoint; uploading in one stream");
            return Ok(None);
        };
        let capabilities = self.client.capabilities_of(&endpoint).await?;
        if !capabilities.supports(Extension::Concatenation) {
            tracing::info!(%endpoint, "the server does not advertise concatenation; uploading in one stream");
            return Ok(None);
        }
        // Each partial is under the limit, but the final upload is the whole file: check it
        // before anything is created or sent.
        if let Some(max_size) = capabilities.max_size.filter(|max| size > *max) {
            return Err(Error::TooLarge {
                context: Context::new(Operation::Create, Some(&endpoint), Some(0)),
                size,
                max_size,
            });
        }
        if size < self.settings.parallel as u64 {
            tracing::info!(
                size,
                "the file is too small to split; uploading in one stream"
            );
            return Ok(None);
        }
        // The same key a single upload of this file would use.
        let key = self.storage_key().await?;
        let stored = match (&key, self.storage.as_ref()) {
            (Some(key), Some(storage)) => storage.get(key).await?,
            _ => None,
        };
        // A finished parallel upload whose record was kept points at its final upload (and has
        // no partial uploads left to resume): done if the server holds all of it.
        if let Some(record) = stored
            .as_ref()
            .filter(|r| !r.url.is_empty() && r.size == Some(size))
        {
            if let Some(summary) = self.finished_final(record, size).await? {
                return Ok(Some(summary));
            }
        }
        let now = super::resume::unix_seconds(std::time::SystemTime::now());
        // An unfinished single upload of this file: continue it (in one stream) rather than
        // overwrite its record and send every byte again.
        if stored.as_ref().is_some_and(|r| {
            !r.url.is_empty()
                && r.partial_urls.is_empty()
                && r.expires_unix.is_none_or(|expires| expires > now)
        }) {
            tracing::info!(
                "the stored record is an unfinished single upload; continuing it in one stream"
            );
            return Ok(None);
        }
        let stored = stored.filter(|record| {
            let usable = !record.partial_urls.is_empty()
                && record.size == Some(size)
                && record.expires_unix.is_none_or(|expires| expires > now);
            if !usable {
                tracing::info!(url = %record.url, "the stored record is not a usable parallel upload; starting over");
            }
            usable
        });
        let part_count = stored
            .as_ref()
            .map_or(self.settings.parallel, |r| r.partial_urls.len());
        let ranges = split_ranges(size, part_count);
        let acknowledged: Arc<Vec<AtomicU64>> =
            Arc::new(ranges.iter().map(|_| AtomicU64::new(0)).collect());
        let mut partials: Vec<Partial<T>> = Vec::with_capacity(ranges.len());
        for (index, (start, len)) in ranges.iter().copied().enumerate() {
            let url = stored
                .as_ref()
                .and_then(|r| r.partial_urls.get(index))
                .and_then(|u| Url::parse(u).ok());
            partials.push(self.partial(&path, start, len, url, index, Arc::clone(&acknowledged)));
        }
        let resumed = stored.is_some();
        // A resumed upload starts where the server is: ask each stored partial (a failure here
        // is left to that partial's own loop, which retries or starts it over).
        let mut resumed_offset = 0;
        if resumed {
            for (index, partial) in partials.iter_mut().enumerate() {
                if partial.url().is_some() {
                    if let Ok(offset) = partial.get_offset().await {
                        resumed_offset += offset;
                        if let Some(slot) = acknowledged.get(index) {
                            slot.fetch_max(offset, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        // Before the partial uploads are created: their creation POSTs may carry (and report
        // as acknowledged) their first bytes.
        self.emit(ProgressEvent::Started {
            url: endpoint.clone(),
            offset: resumed_offset,
            total: Some(size),
            resumed,
        });
        for partial in &mut partials {
            partial.create_with_retries().await?;
        }
        let partial_urls: Vec<String> = partials
            .iter()
            .filter_map(|p| p.url().map(Url::to_string))
            .collect();
        // The record expires with the first partial upload to expire (servers send
        // Upload-Expires on creation); a later run then starts over instead of resuming.
        let expires_unix = partials
            .iter()
            .filter_map(|p| p.expires())
            .map(super::resume::unix_seconds)
            .min()
            .or(stored.as_ref().and_then(|r| r.expires_unix));
        self.save_parallel_record(&key, size, &partial_urls, &endpoint, expires_unix)
            .await?;
        self.partial_urls = partials.iter().filter_map(|p| p.url().cloned()).collect();
        let outcome = try_join_all(partials.iter_mut().map(|partial| partial.upload())).await;
        let summaries = match outcome {
            Ok(summaries) => summaries,
            Err(error) => {
                // A partial upload that started over (its old URL was gone) has a new URL:
                // keep the record in step, so that a later run resumes it, not the dead one.
                let current: Vec<String> = partials
                    .iter()
                    .filter_map(|p| p.url().map(Url::to_string))
                    .collect();
                if current.len() == partial_urls.len() && current != partial_urls {
                    self.save_parallel_record(&key, size, &current, &endpoint, expires_unix)
                        .await?;
                }
                self.partial_urls = partials.iter().filter_map(|p| p.url().cloned()).collect();
                return Err(error);
            }
        };
        let resumed_from: u64 = summaries.iter().filter_map(|s| s.resumed_from).sum();
        let partial_urls: Vec<Url> = summaries.into_iter().map(|s| s.url).collect();
        let url = self.concatenate(&endpoint, &partial_urls).await?;
        self.url = Some(url.clone());
        self.origin = Some(UrlOrigin::Created);
        self.offset = size;
        self.synced = true;
        if self.settings.remove_record_on_success {
            self.forget().await?;
        } else {
            // Kept records point at the final upload, so a later run finds it complete.
            self.record().await?;
        }
        self.emit(ProgressEvent::Finished {
            url: url.clone(),
            total: size,
        });
        Ok(Some(UploadSummary {
            url,
            offset: size,
            resumed_from: resumed.then_some(resumed_from),
            bytes_uploaded: size - resumed_from.min(size),
        }))
    }

    /// A stored final upload that is already complete, with the file's `size`: nothing left
    /// to do.
    async fn finished_final(
        &mut self,
        record: &UploadRecord,
        size: u64,
    ) -> Result<Option<UploadSummary>> {
        if record.url.is_empty() {
            return Ok(None);
        }
        let Ok(status) = self
            .client
            .upload_status_with(&record.url, self.settings.headers.clone())
            .await
        else {
            return Ok(None);
        };
        if !status.is_complete() || status.length != Some(size) {
            return Ok(None);
        }
        self.url = Some(status.url.clone());
        self.offset = status.offset;
        self.synced = true;
        if self.settings.remove_record_on_success {
            self.forget().await?;
        }
        Ok(Some(UploadSummary {
            url: status.url,
            offset: status.offset,
            resumed_from: Some(status.offset),
            bytes_uploaded: 0,
        }))
    }

    /// [`create`](Uploader::create) under the retry policy: a partial upload's creation POST
    /// is retried after a retryable failure (a dropped connection, a 5xx), like the POST of a
    /// single upload, instead of failing the whole parallel upload.
    async fn create_with_retries(&mut self) -> Result<()> {
        let started = std::time::Instant::now();
        let mut failures = 0u32;
        loop {
            let error = match self.create().await {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            failures += 1;
            // Only the creation POST is sent here: no upload to lose, no PATCH checksum.
            if recovery(&error, None, false, false) != Recovery::Resync {
                return Err(error);
            }
            self.wait_to_retry(failures, started.elapsed(), error, Operation::Create)
                .await?;
        }
    }

    fn partial(
        &self,
        path: &std::path::Path,
        start: u64,
        len: u64,
        url: Option<Url>,
        index: usize,
        acknowledged: Arc<Vec<AtomicU64>>,
    ) -> Partial<T> {
        let mut settings: Settings = self.settings.clone();
        settings.parallel = 1;
        settings.concat_partial = true;
        settings.metadata = None;
        settings.resume = false;
        settings.recreate_if_gone = Some(true);
        let total = self.size();
        settings.progress = self.settings.progress.clone().map(|parent| {
            let callback: crate::progress::ProgressCallback =
                Arc::new(move |event: &ProgressEvent| match event {
                    // A resumed partial upload starts at what the server already holds: that
                    // counts as acknowledged too, or the sum would end short of the size.
                    ProgressEvent::Acknowledged { offset, .. }
                    | ProgressEvent::Started { offset, .. }
                        if *offset > 0 =>
                    {
                        if let Some(slot) = acknowledged.get(index) {
                            slot.fetch_max(*offset, Ordering::Relaxed);
                        }
                        let sum = acknowledged.iter().map(|a| a.load(Ordering::Relaxed)).sum();
                        parent(&ProgressEvent::Acknowledged { offset: sum, total });
                    }
                    ProgressEvent::RetryScheduled { .. } | ProgressEvent::StartedOver { .. } => {
                        parent(event)
                    }
                    _ => {}
                });
            callback
        });
        let mut partial = Uploader::new(
            self.client.clone(),
            settings,
            None,
            HeadBytesFingerprint,
            SourceSpec::PathRange {
                path: path.to_owned(),
                start,
                len,
            },
            None,
            url,
        );
        if partial.url.is_some() {
            partial.origin = Some(UrlOrigin::Stored);
        }
        partial
    }

    async fn save_parallel_record(
        &mut self,
        key: &Option<String>,
        size: u64,
        partial_urls: &[String],
        endpoint: &Url,
        expires_unix: Option<u64>,
    ) -> Result<()> {
        let (Some(key), Some(storage)) = (key, self.storage.as_ref()) else {
            return Ok(());
        };
        let mut record = UploadRecord::new("")
            .with_size(size)
            .with_partial_urls(partial_urls.to_vec());
        record.source = self.source_name.clone();
        record.endpoint = Some(endpoint.to_string());
        record.expires_unix = expires_unix;
        storage.set(key, record).await?;
        Ok(())
    }

    /// The final POST. It is not idempotent (a blind retry can create a second upload), so it
    /// is retried only after an answer that shows the server did not create it (5xx, 423), and
    /// never after a lost answer.
    async fn concatenate(&mut self, endpoint: &Url, partials: &[Url]) -> Result<Url> {
        let concat = format!(
            "final;{}",
            partials
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut headers = self.settings.headers.clone();
        headers.insert(
            names::UPLOAD_CONCAT,
            HeaderValue::from_str(&concat).map_err(|_| {
                Error::Config("a partial upload URL is not a valid header".to_owned())
            })?,
        );
        if let Some(metadata) = &self.settings.metadata {
            headers.insert(
                names::UPLOAD_METADATA,
                HeaderValue::from_str(metadata)
                    .map_err(|_| Error::Config("metadata is not a valid header".to_owned()))?,
            );
        }
        let context = Context::new(Operation::Concatenate, Some(endpoint), None);
        let mut failures = 0;
        let started = std::time::Instant::now();
        loop {
            let response = self
                .client
                .send(
                    &context,
                    Method::POST,
                    endpoint,
                    headers.clone(),
                    Body::Empty,
                )
                .await?;
            if response.status == StatusCode::CREATED {
                let location = response.header("location").ok_or_else(|| {
                    Error::protocol(context.clone(), "the 201 answer has no Location header")
                })?;
                return protocol::resolve_location(endpoint, location)
                    .map_err(|reason| Error::protocol(context.clone(), reason));
            }
            let error = Error::Status {
                context: context.clone(),
                status: response.status,
                body: response.body_text(),
            };
            let answered_without_creating =
                response.status.is_server_error() || response.status == StatusCode::LOCKED;
            failures += 1;
            let delay = answered_without_creating
                .then(|| {
                    self.settings
                        .retry
                        .next_delay(failures, started.elapsed(), &error)
                })
                .flatten();
            let Some(delay) = delay else {
                return Err(error);
            };
            self.emit(ProgressEvent::RetryScheduled {
                error: error.to_string(),
                attempt: failures,
                delay,
            });
            let cancel = self.settings.cancel.clone();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => return Err(Error::Cancelled { context }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_ranges;

    #[test]
    fn ranges_cover_the_file_exactly() {
        for size in [0u64, 1, 2, 7, 100, 1001] {
            for parts in 1..6 {
                let ranges = split_ranges(size, parts);
                assert_eq!(ranges.iter().map(|r| r.1).sum::<u64>(), size);
                let mut next = 0;
                for (start, len) in &ranges {
                    assert_eq!(*start, next);
                    next += len;
                }
                assert!(ranges.len() <= parts.max(1));
            }
        }
    }
}
