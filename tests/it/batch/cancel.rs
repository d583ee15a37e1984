//! One cancellation token stops every file of a batch; every started upload keeps its record,
//! and running the batch again finishes exactly the unfinished files (resuming each at the
//! server's offset) without sending anything for the finished ones.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tusky::batch::{BatchEvent, FileEvent, Outcome, OutcomeKind};
use tusky::mock::wiremock::Request;
use tusky::storage::MemoryStorage;
use tusky::{CancellationToken, ProgressEvent};
use tusky_mock_server::TusMockServer;

use super::{
    assert_all_on_server, finished_url, records_by_file, run_batch, source_name, stored_batch_of,
    Tree, CHUNK,
};
use crate::common::{shut_out, RUN};

/// What the second run must send for each file, judged from the store and the server before
/// it starts: nothing for a completed file, the rest of an unfinished one, all of one without
/// a record. Returns (expected POSTs, expected PATCH bytes, the finished uploads' paths).
async fn what_is_left(
    server: &TusMockServer,
    tree: &Tree,
    store: &MemoryStorage,
) -> (u64, u64, HashSet<String>) {
    let records = records_by_file(store).await;
    let (mut posts, mut bytes, mut finished) = (0, 0, HashSet::new());
    for i in 0..tree.files.len() {
        let size = tree.bytes(i).len() as u64;
        match records.get(&source_name(tree, i)) {
            Some(record) if record.is_completed() => {
                finished.insert(url::Url::parse(&record.url).unwrap().path().to_owned());
            }
            Some(record) => {
                let held = server.upload(&record.url).expect("a kept upload").offset;
                bytes += size - held;
            }
            None => {
                posts += 1;
                bytes += size;
            }
        }
    }
    (posts, bytes, finished)
}

fn sent_after(requests: &[Request], before: usize, method: &str) -> Vec<Request> {
    requests[before..]
        .iter()
        .filter(|r| r.method.as_str() == method)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_every_file_keeps_every_record_and_a_rerun_finishes_the_rest() {
    let server = TusMockServer::start().await;
    let client = tusky::Client::new(server.endpoint()).unwrap();
    let tree = Tree::new(&[4 * CHUNK; 6]);
    let store = Arc::new(MemoryStorage::new());

    // Cancelled once the third file is half acknowledged: by then one of the first two has
    // finished, and the last files have not started.
    let token = CancellationToken::new();
    let cancel = token.clone();
    let first = stored_batch_of(&client, &tree, 2, &store)
        .uploader(|u| {
            u.chunk_size(CHUNK)
                .creation_with_upload(false)
                .header(RUN, "first")
        })
        .cancellation_token(token)
        .on_progress(move |event: &BatchEvent| {
            if let (2, FileEvent::Progress(ProgressEvent::Acknowledged { offset, .. })) =
                (event.index, &event.event)
            {
                if *offset >= 2 * CHUNK {
                    cancel.cancel();
                }
            }
        });
    let (stopped, summary) = run_batch(first).await;
    shut_out(&server, "first").await;

    assert_eq!(stopped.len(), 6);
    assert!(summary.count(OutcomeKind::Uploaded) >= 1, "{summary:?}");
    assert!(summary.count(OutcomeKind::Cancelled) >= 2, "{summary:?}");
    assert!(
        matches!(
            &stopped[2].outcome,
            Outcome::Cancelled { url: Some(_), offset } if *offset >= 2 * CHUNK
        ),
        "{:?}",
        stopped[2].outcome
    );
    assert!(matches!(
        stopped[5].outcome,
        Outcome::Cancelled { url: None, .. }
    ));
    // Every started upload's record is kept: a completion for a finished file, its URL for an
    // unfinished one.
    let records = records_by_file(&*store).await;
    for result in &stopped {
        let record = records.get(&source_name(&tree, result.index));
        match &result.outcome {
            Outcome::Uploaded(summary) => {
                let record = record.expect("a completion record");
                assert!(record.is_completed());
                assert_eq!(record.url, summary.url.as_str());
            }
            Outcome::Cancelled { url: Some(url), .. } => {
                let record = record.expect("the unfinished upload's record");
                assert!(!record.is_completed());
                assert_eq!(record.url, url.as_str());
            }
            Outcome::Cancelled { url: None, .. } => {}
            other => panic!("file {}: {other:?}", result.index),
        }
    }

    let (posts, bytes, finished) = what_is_left(&server, &tree, &store).await;
    let before = server.received_requests().await.len();
    let (rerun, summary) = run_batch(stored_batch_of(&client, &tree, 2, &store)).await;
    assert!(summary.all_uploaded(), "{summary:?}");
    assert_all_on_server(&server, &tree, &rerun);

    let requests = server.received_requests().await;
    assert_eq!(sent_after(&requests, before, "POST").len() as u64, posts);
    let patched: u64 = sent_after(&requests, before, "PATCH")
        .iter()
        .map(|r| r.body.len() as u64)
        .sum();
    assert_eq!(patched, bytes, "the second run sends exactly what was left");
    assert_eq!(summary.bytes_uploaded, bytes);
    assert!(
        requests[before..]
            .iter()
            .all(|r| !finished.contains(r.url.path())),
        "nothing is sent for a finished file"
    );
    // The unfinished uploads were resumed, not created again.
    let kept: HashMap<usize, url::Url> = stopped
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Cancelled { url: Some(url), .. } => Some((r.index, url.clone())),
            _ => None,
        })
        .collect();
    for (index, url) in kept {
        assert_eq!(finished_url(&rerun[index]), url, "file {index} resumed");
    }
    for result in stopped
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Uploaded(_)))
    {
        assert!(matches!(
            rerun[result.index].outcome,
            Outcome::AlreadyUploaded(_)
        ));
    }
}

#[tokio::test]
async fn a_batch_cancelled_before_it_starts_sends_nothing() {
    let server = TusMockServer::start().await;
    let client = tusky::Client::new(server.endpoint()).unwrap();
    let tree = Tree::new(&[CHUNK, CHUNK]);
    let token = CancellationToken::new();
    token.cancel();
    let (results, summary) =
        run_batch(super::batch_of(&client, &tree, 2).cancellation_token(token)).await;
    assert_eq!(summary.count(OutcomeKind::Cancelled), 2);
    assert!(results.iter().all(|r| r.outcome.url().is_none()));
    assert!(server.received_requests().await.is_empty());
}
