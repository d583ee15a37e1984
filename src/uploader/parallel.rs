//! [`ParallelUpload`]: a file split into ranges, each range a partial upload (a
//! [`SingleUpload`] of its own, resumable; their URLs are kept in the stored record), joined by
//! a final `Upload-Concat: final;...` POST. Creation, HEAD, retries and progress are the single
//! upload's; this file only splits, runs the parts together, records them and joins them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::try_join_all;
use http::{HeaderValue, Method};
use url::Url;

use super::classify::{Facts, Repeat};
use super::options::{Options, Recreate, Role};
use super::records::Records;
use super::report::part_progress;
use super::requests::created_url;
use super::retry_path::with_retries;
use super::single::{Limit, NoRecords, SingleUpload};
use crate::client::Client;
use crate::error::{Context, Operation};
use crate::fingerprint::Fingerprint;
use crate::progress::ProgressEvent;
use crate::protocol::names;
use crate::source::SourceSpec;
use crate::storage::{FileIdentity, Storage};
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

/// A parallel upload of the file at `path` to `endpoint`.
pub(crate) struct ParallelUpload<T: Transport> {
    client: Client<T>,
    options: Options,
    endpoint: Url,
    size: u64,
    parts: Vec<SingleUpload<T>>,
    /// What the server holds of each part, as last reported (progress sums it).
    acknowledged: Arc<Vec<AtomicU64>>,
    /// Whether the parts come from a stored record.
    resumed: bool,
}

/// How a parallel upload ended well.
pub(crate) struct Joined {
    pub url: Url,
    pub resumed_from: Option<u64>,
    /// The answer to the final concatenation POST.
    pub final_answer: Option<super::FinalAnswer>,
}

impl<T: Transport> ParallelUpload<T> {
    /// `stored` are the partial uploads of an earlier run; without them, `options.parallel`
    /// new ones are made.
    pub(crate) fn new(
        client: &Client<T>,
        options: &Options,
        (path, size, endpoint): (&Path, u64, &Url),
        stored: Option<(Vec<Option<Url>>, Option<SystemTime>)>,
    ) -> Self {
        let (stored, stored_expiry) = match stored {
            Some((urls, expires)) => (Some(urls), expires),
            None => (None, None),
        };
        let count = stored.as_ref().map_or(options.parallel, Vec::len);
        let ranges = split_ranges(size, count);
        let acknowledged: Arc<Vec<AtomicU64>> =
            Arc::new(ranges.iter().map(|_| AtomicU64::new(0)).collect());
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(index, &(start, len))| {
                let url = stored
                    .as_ref()
                    .and_then(|urls| urls.get(index))
                    .cloned()
                    .flatten();
                let mut part_options = options.clone();
                part_options.role = Role::Part;
                part_options.parallel = 1;
                part_options.metadata = None;
                part_options.recreate = Recreate::Always;
                // Parts keep no records of their own, so no digest either.
                part_options.verify_content = false;
                part_options.progress = options.progress.clone().map(|parent| {
                    part_progress(parent, Arc::clone(&acknowledged), index, Some(size))
                });
                let mut part =
                    SingleUpload::new(client.clone(), part_options, range(path, start, len), None);
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
            .collect();
        Self {
            client: client.clone(),
            options: options.clone(),
            endpoint: endpoint.clone(),
            size,
            parts,
            acknowledged,
            resumed: stored.is_some(),
        }
    }

    /// The partial uploads that exist so far.
    pub(crate) fn part_urls(&self) -> Vec<Url> {
        self.parts
            .iter()
            .filter_map(|p| p.state.url().cloned())
            .collect()
    }

    /// Each part's upload URL, in file order (`None` for a part not created yet).
    fn part_slots(&self) -> Vec<Option<Url>> {
        self.parts.iter().map(|p| p.state.url().cloned()).collect()
    }

    fn earliest_expiry(&self) -> Option<SystemTime> {
        self.parts
            .iter()
            .filter_map(|p| p.state.remote().and_then(|r| r.expires))
            .min()
    }

    /// Makes the parts `which` ready (created, or their offsets read), one after another so
    /// that parts are created on the server in file order.
    async fn ready(&mut self, which: impl Fn(&SingleUpload<T>) -> bool) -> Result<()> {
        for part in self.parts.iter_mut().filter(|p| which(p)) {
            part.run(Limit::Ready, &NoRecords).await?;
        }
        Ok(())
    }

    /// Runs the parts and joins them. The record (when `records` keeps one) lists the parts
    /// once they all exist, and is kept in step when one of them starts over.
    pub(crate) async fn run<S: Storage, F: Fingerprint>(
        &mut self,
        records: &Records<S, F>,
        file: Option<&FileIdentity>,
    ) -> Result<Joined> {
        // A resumed upload starts where the server is: read the stored parts first, so that
        // `Started` says how much is there, and before new parts' creation POSTs report bytes.
        // One HEAD each, best effort: a failure is left to the part's own loop, which retries
        // (or starts the part over) after `Started`.
        for part in self.parts.iter_mut().filter(|p| p.state.remote().is_some()) {
            part.probe().await;
        }
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
        let created = self.ready(|p| p.state.remote().is_none()).await;
        let recorded = self.part_slots();
        if recorded.iter().any(Option::is_some) {
            // Also when creating stopped half-way (cancelled, say): what exists is resumable.
            records
                .remember_parallel(self.size, &recorded, self.earliest_expiry(), file)
                .await?;
        }
        created?;
        let outcome =
            try_join_all(self.parts.iter_mut().map(|p| p.run(Limit::End, &NoRecords))).await;
        let summaries = match outcome {
            Ok(summaries) => summaries,
            Err(error) => {
                // A part that started over (its old URL was gone) has a new URL: keep the
                // record in step, so that a later run resumes it, not the dead one.
                let current = self.part_slots();
                if current != recorded {
                    records
                        .remember_parallel(self.size, &current, self.earliest_expiry(), file)
                        .await?;
                }
                return Err(error);
            }
        };
        let resumed_from: u64 = summaries.iter().filter_map(|s| s.resumed_from).sum();
        let urls: Vec<Url> = summaries.into_iter().map(|s| s.url).collect();
        let (url, answer) = self.concatenate(&urls).await?;
        Ok(Joined {
            url,
            resumed_from: self.resumed.then_some(resumed_from),
            final_answer: Some(answer),
        })
    }

    /// The final POST. It is not idempotent (a blind retry can create a second upload), so the
    /// retry path repeats it only after an answer that shows the server did not create it.
    async fn concatenate(&mut self, partials: &[Url]) -> Result<(Url, super::FinalAnswer)> {
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
        let context = Context::new(Operation::Concatenate, Some(&self.endpoint), None);
        let facts = Facts::request(Repeat::IfRefused);
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
