//! Completion records: a finished file is recorded in the batch's store, and running the same
//! batch again sends nothing for it, unless it changed, the record expired, completions are
//! off, or the batch is fresh.

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tusky::batch::{Completions, Outcome, OutcomeKind};
use tusky::storage::MemoryStorage;

use super::{
    assert_all_on_server, finished_url, records_by_file, run_batch, source_name, stored_batch_of,
    Tree, CHUNK,
};
use crate::common::{noise, server_and_client};

#[tokio::test]
async fn running_the_batch_again_sends_nothing_for_finished_files() {
    let (server, client) = server_and_client().await;
    let tree = Tree::new(&[3 * CHUNK, CHUNK + 1, 2 * CHUNK]);
    let store = Arc::new(MemoryStorage::new());
    let (first, _) = run_batch(stored_batch_of(&client, &tree, 2, &store)).await;
    assert_all_on_server(&server, &tree, &first);

    let records = records_by_file(&*store).await;
    for result in &first {
        let record = &records[&source_name(&tree, result.index)];
        assert!(record.is_completed(), "{record:?}");
        assert_eq!(record.url, finished_url(result).as_str());
        assert_eq!(record.size, Some(tree.bytes(result.index).len() as u64));
        assert!(record
            .file
            .as_ref()
            .is_some_and(|f| f.modified_nanos.is_some()));
        let expires = record.expires_unix.expect("a completion record expires");
        let completed = record.completed_unix.unwrap();
        assert_eq!(expires - completed, 30 * 24 * 60 * 60);
    }

    let requests = server.received_requests().await.len();
    let (again, summary) = run_batch(stored_batch_of(&client, &tree, 2, &store)).await;
    assert_eq!(
        summary.count(OutcomeKind::AlreadyUploaded),
        3,
        "{summary:?}"
    );
    assert_eq!(summary.bytes_uploaded, 0);
    for (before, now) in first.iter().zip(&again) {
        assert_eq!(finished_url(before), finished_url(now));
    }
    assert_eq!(
        server.received_requests().await.len(),
        requests,
        "no request at all for finished files"
    );
}

#[tokio::test]
async fn a_finished_file_that_changed_is_uploaded_again() {
    let (server, client) = server_and_client().await;
    // Above the fingerprint's 64 KiB: an edit at the end keeps the fingerprint (and the key),
    // so only the file's identity tells it changed.
    let tree = Tree::new(&[70 * 1024, 2 * CHUNK, 2 * CHUNK]);
    let store = Arc::new(MemoryStorage::new());
    let batch = || stored_batch_of(&client, &tree, 2, &store).uploader(|u| u.chunk_size(32 * 1024));
    let (first, _) = run_batch(batch()).await;

    // File 0 edited in place (same inode, new modification time); file 1 replaced by another
    // file of other bytes.
    let mut edited = std::fs::OpenOptions::new()
        .write(true)
        .open(&tree.files[0])
        .unwrap();
    edited.seek(SeekFrom::End(-1)).unwrap();
    edited.write_all(&[!tree.bytes(0)[70 * 1024 - 1]]).unwrap();
    edited
        .set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(edited);
    let replacement = tree.files[1].with_extension("new");
    std::fs::write(&replacement, noise(2 * CHUNK, 99)).unwrap();
    std::fs::rename(&replacement, &tree.files[1]).unwrap();

    let posts = server.request_count("POST");
    let (again, _) = run_batch(batch()).await;
    assert_all_on_server(&server, &tree, &again);
    for i in [0, 1] {
        assert!(
            matches!(again[i].outcome, Outcome::Uploaded(_)),
            "{:?}",
            again[i].outcome
        );
        assert_ne!(finished_url(&again[i]), finished_url(&first[i]));
    }
    assert!(matches!(again[2].outcome, Outcome::AlreadyUploaded(_)));
    assert_eq!(server.request_count("POST") - posts, 2);
}

#[tokio::test]
async fn fresh_uploads_every_file_again_and_records_the_new_uploads() {
    let (server, client) = server_and_client().await;
    let tree = Tree::new(&[2 * CHUNK, 3 * CHUNK]);
    let store = Arc::new(MemoryStorage::new());
    let (first, _) = run_batch(stored_batch_of(&client, &tree, 2, &store)).await;
    let posts = server.request_count("POST");
    let (fresh, summary) = run_batch(stored_batch_of(&client, &tree, 2, &store).fresh(true)).await;
    assert_eq!(summary.count(OutcomeKind::Uploaded), 2);
    assert_eq!(summary.bytes_uploaded, 5 * CHUNK);
    assert_eq!(server.request_count("POST") - posts, 2);
    assert_all_on_server(&server, &tree, &fresh);
    let records = records_by_file(&*store).await;
    for (old, new) in first.iter().zip(&fresh) {
        assert_ne!(finished_url(old), finished_url(new));
        let record = &records[&source_name(&tree, new.index)];
        assert_eq!(record.url, finished_url(new).as_str());
        assert!(record.is_completed());
    }
}

#[tokio::test]
async fn an_expired_completion_or_none_at_all_uploads_again() {
    let (server, client) = server_and_client().await;
    let tree = Tree::new(&[2 * CHUNK]);
    let store = Arc::new(MemoryStorage::new());
    let expiring = || {
        stored_batch_of(&client, &tree, 1, &store).completions(Completions::Keep(Duration::ZERO))
    };
    run_batch(expiring()).await;
    assert_eq!(records_by_file(&*store).await.len(), 1);
    let (again, _) = run_batch(expiring()).await;
    assert!(
        matches!(again[0].outcome, Outcome::Uploaded(_)),
        "{:?}",
        again[0].outcome
    );
    assert_eq!(server.request_count("POST"), 2);

    let off = || {
        stored_batch_of(&client, &tree, 1, &store)
            .completions(Completions::Off)
            .fresh(true)
    };
    run_batch(off()).await;
    assert!(
        records_by_file(&*store).await.is_empty(),
        "nothing recorded"
    );
    let (again, _) = run_batch(off()).await;
    assert_all_on_server(&server, &tree, &again);
    assert_eq!(server.request_count("POST"), 4);
}
