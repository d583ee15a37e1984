//! `tusky::batch`: many files through one client. Every test runs real uploads against the
//! mock server and checks the bytes each upload holds, and counts the requests the server
//! received to show what a run sent (and what it did not send again).
//!
//! - `jobs`: at most `jobs` uploads in flight, and that many do run at once.
//! - `failures`: one file failing does not stop the others.
//! - `completions`: running a batch again skips finished files; changed ones, `fresh`,
//!   expired or switched-off completion records upload again.
//! - `cancel`: one token stops every file, every record is kept, and a second run finishes
//!   exactly what was left.
//! - `progress`: events tagged with the file, and the totals.

mod cancel;
mod completions;
mod failures;
mod jobs;
mod progress;

use std::path::PathBuf;
use std::sync::Arc;

use tusky::batch::{Batch, BatchItem, BatchResult, BatchRun, BatchSummary, Outcome};
use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::Transport;
use tusky::Client;
use tusky_mock_server::TusMockServer;

use crate::common::{noise, stored, QUICK};

/// The chunk size of every batch test: several PATCHes per file.
pub const CHUNK: u64 = 1000;

/// Files of noise in a temporary directory.
pub struct Tree {
    _dir: tempfile::TempDir,
    pub files: Vec<PathBuf>,
}

impl Tree {
    /// One file `f<i>.bin` of `sizes[i]` bytes each.
    pub fn new(sizes: &[u64]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let path = dir.path().join(format!("f{i}.bin"));
                std::fs::write(&path, noise(size, i as u64 + 1)).unwrap();
                path
            })
            .collect();
        Self { _dir: dir, files }
    }

    /// The bytes of file `i` now.
    pub fn bytes(&self, i: usize) -> Vec<u8> {
        std::fs::read(&self.files[i]).unwrap()
    }

    pub fn items(&self) -> Vec<BatchItem> {
        self.files.iter().map(BatchItem::new).collect()
    }
}

/// A batch of `tree`'s files through `client`, `jobs` at once, in chunks of [`CHUNK`] bytes
/// each sent in a PATCH (so PATCHes can be counted), with quick retries.
pub fn batch_of<T: Transport>(client: &Client<T>, tree: &Tree, jobs: usize) -> Batch<T> {
    client
        .batch()
        .items(tree.items())
        .jobs(jobs)
        .uploader(|uploader| {
            uploader
                .chunk_size(CHUNK)
                .creation_with_upload(false)
                .retry_delay(2, QUICK)
        })
}

/// The same with `store` as the batch's storage.
pub fn stored_batch_of<T: Transport>(
    client: &Client<T>,
    tree: &Tree,
    jobs: usize,
    store: &Arc<MemoryStorage>,
) -> Batch<T> {
    batch_of(client, tree, jobs).storage(Arc::clone(store))
}

/// Drives `run` to the end: every result, in item order, and the summary.
pub async fn results<T: Transport>(mut run: BatchRun<T>) -> (Vec<BatchResult>, BatchSummary) {
    let mut results = Vec::new();
    while let Some(result) = run.next().await {
        results.push(result);
    }
    results.sort_by_key(|r| r.index);
    (results, run.summary().clone())
}

/// Runs `batch` to the end (see [`results`]).
pub async fn run_batch<T: Transport>(batch: Batch<T>) -> (Vec<BatchResult>, BatchSummary) {
    results(batch.run().unwrap()).await
}

/// The upload `result` reports as complete (uploaded now or before); panics otherwise.
pub fn finished_url(result: &BatchResult) -> url::Url {
    match &result.outcome {
        Outcome::Uploaded(summary) => summary.url.clone(),
        Outcome::AlreadyUploaded(completion) => completion.url.clone(),
        other => panic!("file {} did not finish: {other:?}", result.index),
    }
}

/// Every file of `tree` is on `server`, byte for byte, at the URL its result names.
pub fn assert_all_on_server(server: &TusMockServer, tree: &Tree, results: &[BatchResult]) {
    assert_eq!(results.len(), tree.files.len());
    for result in results {
        assert_eq!(
            stored(server, &finished_url(result)),
            tree.bytes(result.index),
            "file {}",
            result.index
        );
    }
}

/// The URL of each record in `store`, by the file (source name) it is for.
pub async fn records_by_file(
    store: &impl Storage,
) -> std::collections::HashMap<String, tusky::storage::UploadRecord> {
    store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, record)| (record.source.clone().unwrap_or_default(), record))
        .collect()
}

/// The canonical path of `tree`'s file `i`, as records name it.
pub fn source_name(tree: &Tree, i: usize) -> String {
    std::fs::canonicalize(&tree.files[i])
        .unwrap()
        .display()
        .to_string()
}
