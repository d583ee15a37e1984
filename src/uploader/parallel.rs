//! [`ParallelUpload`]: a file split into ranges, each range a partial upload (a
//! [`SingleUpload`] of its own, resumable; their URLs are kept in the stored record), joined by
//! a final `Upload-Concat: final;...` POST. Creation, HEAD, retries and progress are the single
//! upload's; this file only splits, runs the parts on a few workers, and joins them.
//!
//! There may be more parts than workers ([`part_count`]): each worker takes the next part in
//! file order as soon as it is done with its last one, so a slow part holds up one worker, not
//! the whole upload. The final POST lists the parts in file order, whichever worker sent them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use http::{HeaderValue, Method};
use url::Url;

use super::classify::{Facts, Repeat};
use super::idempotency::{IdempotencyKey, IDEMPOTENCY_KEY};
use super::options::{Options, Recreate, Role};
use super::parts_record::PartsRecord;
use super::records::{Records, StoredParts};
use super::report::part_progress;
use super::requests::created_url;
use super::retry_path::with_retries;
use super::single::{Limit, SingleUpload};
use super::UploadSummary;
use crate::client::Client;
use crate::error::{Context, Operation};
use crate::fingerprint::Fingerprint;
use crate::progress::ProgressEvent;
use crate::protocol::names;
use crate::source::SourceSpec;
use crate::storage::{FileIdentity, Storage};
use crate::transport::{Body, Transport};
use crate::{Error, Result};

/// How many partial uploads a parallel upload's file is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartCount {
    /// One per worker, more for a big file: see [`part_count`].
    Auto,
    /// This many (`UploaderBuilder::parts`).
    Exactly(usize),
}

/// The largest part the automatic count aims at: a file bigger than one such part per worker
/// is split into more parts, so that fast workers take over from slow ones.
const PART_TARGET: u64 = 64 * 1024 * 1024;

/// At most this many parts per worker in the automatic count (each part costs a POST, a short
/// last chunk, and a URL in the final POST's header).
const MAX_PARTS_PER_WORKER: u64 = 4;

/// How many parts a file of `size` bytes is split into for `workers` workers: `count`, or
/// automatically `workers × k` with `k = ceil(size / (workers × 64 MiB))` up to 4 (equal
/// parts, so that the workers finish together when they are equally fast); never more parts
/// than bytes, never fewer than one.
pub(crate) fn part_count(size: u64, workers: usize, count: PartCount) -> usize {
    let parts = match count {
        PartCount::Exactly(parts) => parts as u64,
        PartCount::Auto => {
            let workers = workers.max(1) as u64;
            let per_worker = size
                .div_ceil(workers.saturating_mul(PART_TARGET))
                .clamp(1, MAX_PARTS_PER_WORKER);
            workers * per_worker
        }
    };
    usize::try_from(parts.clamp(1, size.max(1))).unwrap_or(usize::MAX)
}

/// Splits `size` bytes into `parts` ranges `(start, len)` of near-equal length (the first
/// `size % parts` one byte longer). A stored record names its parts but not their ranges:
/// this split, from the size and the number of parts alone, is how every version finds them.
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

/// A parallel upload of the file at `path` to `endpoint`.
pub(crate) struct ParallelUpload<T: Transport> {
    client: Client<T>,
    options: Options,
    endpoint: Url,
    size: u64,
    parts: Vec<SingleUpload<T>>,
    /// How many parts are sent at once.
    workers: usize,
    /// What the server holds of each part, as last reported (progress sums it).
    acknowledged: Arc<Vec<AtomicU64>>,
    /// Whether the parts come from a stored record.
    resumed: bool,
    /// The final POST's key an earlier run stored, with the parts it was stored for.
    stored_final: Option<(IdempotencyKey, Vec<Option<Url>>)>,
    /// The parts' cancellation: the caller's, and a part's failure, which stops the others.
    parts_cancel: crate::progress::CancellationToken,
}

/// How a parallel upload ended well.
pub(crate) struct Joined {
    pub url: Url,
    pub resumed_from: Option<u64>,
    /// The answer to the final concatenation POST.
    pub final_answer: Option<super::FinalAnswer>,
}

impl<T: Transport> ParallelUpload<T> {
    /// `stored` are the partial uploads of an earlier run (their number decides the split);
    /// without them, the file is split as [`part_count`] says.
    pub(crate) fn new(
        client: &Client<T>,
        options: &Options,
        (path, size, endpoint): (&Path, u64, &Url),
        stored: Option<StoredParts>,
    ) -> Self {
        let stored_final = stored.as_ref().and_then(|parts| {
            let key = parts.final_key.clone()?;
            Some((key, parts.partials.clone()))
        });
        let (stored, stored_expiry) = match stored {
            Some(parts) => (Some(parts.partials), parts.expires),
            None => (None, None),
        };
        let count = stored.as_ref().map_or_else(
            || part_count(size, options.parallel, options.parts),
            Vec::len,
        );
        let ranges = split_ranges(size, count);
        let acknowledged: Arc<Vec<AtomicU64>> =
            Arc::new(ranges.iter().map(|_| AtomicU64::new(0)).collect());
        let parts_cancel = options.cancel.child_token();
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(index, &(start, len))| {
                let url = stored
                    .as_ref()
                    .and_then(|urls| urls.get(index))
                    .cloned()
                    .flatten();
                let progress = options.progress.clone().map(|parent| {
                    part_progress(parent, Arc::clone(&acknowledged), index, Some(size))
                });
                let mut part = SingleUpload::new(
                    client.clone(),
                    part_options(options, progress, &parts_cancel),
                    range(path, start, len),
                    None,
                );
                if let Some(url) = url {
                    part.state =
                        super::state::UploadState::Remote(super::state::RemoteUpload::found(
                            url,
                            super::state::UrlOrigin::Stored,
                            stored_expiry,
                        ));
                }
                part
            })
            .collect::<Vec<_>>();
        Self {
            client: client.clone(),
            options: options.clone(),
            endpoint: endpoint.clone(),
            size,
            workers: options.parallel.clamp(1, parts.len().max(1)),
            parts,
            acknowledged,
            resumed: stored.is_some(),
            stored_final,
            parts_cancel,
        }
    }

    /// The partial uploads that exist so far.
    pub(crate) fn part_urls(&self) -> Vec<Url> {
        self.parts
            .iter()
            .filter_map(|p| p.state.url().cloned())
            .collect()
    }

    /// Runs the parts and joins them. The record (when `records` keeps one) lists each part
    /// from its creation on, and follows a part that starts over ([`PartsRecord`]).
    pub(crate) async fn run<S: Storage, F: Fingerprint>(
        &mut self,
        records: &Records<S, F>,
        file: Option<&FileIdentity>,
    ) -> Result<Joined> {
        self.probe_stored().await;
        for (part, slot) in self.parts.iter().zip(self.acknowledged.iter()) {
            slot.fetch_max(part.state.offset(), Ordering::Relaxed);
        }
        let resumed_offset: u64 = self.parts.iter().map(|p| p.state.offset()).sum();
        self.options.emit(ProgressEvent::Started {
            url: self.endpoint.clone(),
            offset: resumed_offset,
            total: Some(self.size),
            resumed: self.resumed,
        });
        let record = PartsRecord::new(
            records,
            (self.size, file),
            self.parts.iter().map(|p| p.state.remote()),
        );
        let summaries = self.upload_parts(&record).await?;
        let resumed_from: u64 = summaries.iter().filter_map(|s| s.resumed_from).sum();
        let urls: Vec<Url> = summaries.into_iter().map(|s| s.url).collect();
        let (url, answer) = self.concatenate(&urls, &record).await?;
        Ok(Joined {
            url,
            resumed_from: self.resumed.then_some(resumed_from),
            final_answer: Some(answer),
        })
    }

    /// A resumed upload starts where the server is: the stored parts are read first (as many
    /// at once as there are workers), so that `Started` says how much is there, and before new
    /// parts' creation POSTs report bytes. One HEAD each, best effort: a failure is left to the
    /// part's own loop, which retries (or starts the part over) after `Started`.
    async fn probe_stored(&mut self) {
        // The futures are made up front: a stream mapping by a closure would make the whole
        // upload future `Send` only for one lifetime (a compiler limitation).
        let probes: Vec<_> = self
            .parts
            .iter_mut()
            .filter(|p| p.state.remote().is_some())
            .map(SingleUpload::probe)
            .collect();
        futures_util::stream::iter(probes)
            .buffer_unordered(self.workers)
            .collect::<()>()
            .await;
    }

    /// Runs every part to its end, `workers` at a time: each worker takes the next part in
    /// file order when it is done with one (creating it first when it has no upload yet).
    /// Returns the parts' summaries in file order. The first failure stops the others through
    /// their cancellation, not by dropping them: a part being created finishes its creation
    /// and records it (dropped after the server made the upload, nobody would have its URL).
    async fn upload_parts<S: Storage, F: Fingerprint>(
        &mut self,
        record: &PartsRecord<'_, S, F>,
    ) -> Result<Vec<UploadSummary>> {
        // Made up front, as in `probe_stored`; `buffer_unordered` starts the next as soon as
        // any one ends (`buffered` would wait for the earliest).
        let runs: Vec<_> = self
            .parts
            .iter_mut()
            .enumerate()
            .map(|(index, part)| async move {
                let summary = part.run(Limit::End, &record.part(index)).await?;
                Ok::<_, Error>((index, summary))
            })
            .collect();
        let mut running = futures_util::stream::iter(runs).buffer_unordered(self.workers);
        let (mut done, mut failure) = (Vec::new(), None);
        while let Some(result) = running.next().await {
            match result {
                Ok(part) => done.push(part),
                Err(error) if failure.is_none() => {
                    self.parts_cancel.cancel();
                    failure = Some(error);
                }
                Err(_) => {}
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        done.sort_by_key(|(index, _)| *index);
        Ok(done.into_iter().map(|(_, summary)| summary).collect())
    }

    /// The final POST. Without a key it is not idempotent (a blind retry can create a second
    /// upload), so the retry path repeats it only after an answer that shows the server did
    /// not create it; with idempotent creation it carries a key, written into the record
    /// first, and is repeated after a lost answer too ([`Repeat::final_post`]).
    async fn concatenate<S: Storage, F: Fingerprint>(
        &mut self,
        partials: &[Url],
        record: &PartsRecord<'_, S, F>,
    ) -> Result<(Url, super::FinalAnswer)> {
        let mut headers = self.final_headers(partials)?;
        let key = self.final_key(partials);
        if let Some(key) = &key {
            record.before_final_post(key).await?;
            headers.insert(IDEMPOTENCY_KEY, key.header_value());
        }
        let context = Context::new(Operation::Concatenate, Some(&self.endpoint), None);
        let facts = Facts::request(Repeat::final_post(key.as_ref()));
        let (client, endpoint) = (&self.client, &self.endpoint);
        with_retries(&self.options, facts, Operation::Concatenate, || async {
            let response = client
                .send(
                    &context,
                    Method::POST,
                    endpoint,
                    headers.clone(),
                    Body::Empty,
                )
                .await?;
            let url = created_url(&context, endpoint, &response)?;
            Ok((url, super::FinalAnswer::of(&response)))
        })
        .await
    }

    /// The final POST's key (with idempotent creation): the stored one when an earlier run
    /// stored it for these very parts (it may have made the final upload already), else a new
    /// one.
    fn final_key(&self, partials: &[Url]) -> Option<IdempotencyKey> {
        if !self.options.idempotent_creation {
            return None;
        }
        let same_parts = |stored: &[Option<Url>]| {
            stored
                .iter()
                .map(Option::as_ref)
                .eq(partials.iter().map(Some))
        };
        match &self.stored_final {
            Some((key, stored)) if same_parts(stored) => Some(key.clone()),
            _ => Some(IdempotencyKey::new()),
        }
    }

    /// The final POST's headers: `Upload-Concat` naming `partials` in order, and the metadata.
    fn final_headers(&self, partials: &[Url]) -> Result<http::HeaderMap> {
        let concat = format!(
            "final;{}",
            partials
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut headers = self.options.headers.clone();
        headers.insert(
            names::UPLOAD_CONCAT,
            HeaderValue::from_str(&concat).map_err(|_| {
                Error::Config("a partial upload URL is not a valid header".to_owned())
            })?,
        );
        if let Some(metadata) = &self.options.metadata {
            headers.insert(
                names::UPLOAD_METADATA,
                HeaderValue::from_str(metadata)
                    .map_err(|_| Error::Config("metadata is not a valid header".to_owned()))?,
            );
        }
        Ok(headers)
    }
}

/// The options of one part: the upload's, as a partial upload (`Upload-Concat: partial`, no
/// metadata, recreated whenever gone, its record a slot of the parallel upload's record that
/// its end does not remove), reporting its progress through `progress`.
fn part_options(
    options: &Options,
    progress: Option<crate::progress::ProgressCallback>,
    cancel: &crate::progress::CancellationToken,
) -> Options {
    let mut part = options.clone();
    part.cancel = cancel.clone();
    part.role = Role::Part;
    part.parallel = 1;
    part.metadata = None;
    part.recreate = Recreate::Always;
    part.remove_record_on_success = false;
    // The record keeps no digest for parts.
    part.verify_content = false;
    part.progress = progress;
    part
}

fn range(path: &Path, start: u64, len: u64) -> SourceSpec {
    SourceSpec::PathRange {
        path: PathBuf::from(path),
        start,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::{part_count, split_ranges, PartCount, PART_TARGET};

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

    #[test]
    fn the_automatic_count_is_one_part_per_worker_up_to_64_mib_each_then_up_to_four() {
        let mib = 1024 * 1024;
        let table = [
            // (size, workers, parts)
            (100_003, 4, 4),
            (64 * mib, 4, 4),
            (4 * PART_TARGET, 4, 4),
            (4 * PART_TARGET + 1, 4, 8),
            (9 * PART_TARGET, 4, 12),
            (16 * PART_TARGET, 4, 16),
            (1024 * PART_TARGET, 4, 16),
            (3, 8, 3),
            (0, 2, 1),
            (u64::MAX, 2, 8),
            (5 * PART_TARGET, 1, 4),
        ];
        for (size, workers, parts) in table {
            assert_eq!(
                part_count(size, workers, PartCount::Auto),
                parts,
                "{size} bytes, {workers} workers"
            );
        }
    }

    #[test]
    fn an_explicit_count_is_kept_up_to_one_part_per_byte() {
        assert_eq!(part_count(1000, 2, PartCount::Exactly(7)), 7);
        assert_eq!(part_count(1000, 8, PartCount::Exactly(3)), 3);
        assert_eq!(part_count(5, 2, PartCount::Exactly(7)), 5);
        assert_eq!(part_count(0, 2, PartCount::Exactly(7)), 1);
    }
}
