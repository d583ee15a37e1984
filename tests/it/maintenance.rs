//! Store maintenance (`tusky::maintenance::prune`) and the creation time records keep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tusky::maintenance::{prune, PruneOptions, PruneReason};
use tusky::storage::{MemoryStorage, Storage, UploadRecord};

use crate::common::{
    created_upload, data, patch_directly, server_and_client, stored_keys, temp_file,
};

const DAY: u64 = 86_400;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An expired record, a gone upload, an old upload and a fresh one: the first three go (the old
/// one terminated on the server), the fresh one stays with its bytes.
#[tokio::test]
async fn prune_removes_expired_gone_and_old_uploads() {
    let (server, client) = server_and_client().await;
    let expired = created_upload(&client, &data(10)).await;
    let old = created_upload(&client, &data(20)).await;
    let fresh = created_upload(&client, &data(30)).await;
    patch_directly(fresh.as_str(), 0, &data(30)[..7]).await;
    let gone = format!("{}gone-upload", server.endpoint());
    let store = MemoryStorage::new();
    let record = |url: &str, age: u64| UploadRecord::new(url).with_created_unix(now() - age);
    store
        .set(
            "expired",
            record(expired.as_str(), 60).with_expires_unix(now() - 1),
        )
        .await
        .unwrap();
    store.set("gone", record(&gone, 60)).await.unwrap();
    store
        .set("old", record(old.as_str(), 10 * DAY))
        .await
        .unwrap();
    store
        .set("fresh", record(fresh.as_str(), DAY))
        .await
        .unwrap();

    let options = PruneOptions::new()
        .check_server(true)
        .terminate_older_than(Duration::from_secs(7 * DAY));
    let dry = prune(&store, &client, &options.clone().dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.removed.len(), 3);
    assert_eq!(
        store.list().await.unwrap().len(),
        4,
        "a dry run removes nothing"
    );
    assert_eq!(
        server.request_count("DELETE"),
        0,
        "a dry run terminates nothing"
    );

    let report = prune(&store, &client, &options).await.unwrap();
    let reasons: Vec<(&str, &PruneReason)> = report
        .removed
        .iter()
        .map(|p| (p.key.as_str(), &p.reason))
        .collect();
    assert!(
        matches!(reasons[0], ("expired", PruneReason::Expired { .. })),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[1], ("gone", PruneReason::Gone { status: 404 })),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[2], ("old", PruneReason::Terminated { age }) if age.as_secs() >= 10 * DAY),
        "{reasons:?}"
    );
    assert_eq!(report.removed.len(), 3);
    assert_eq!((report.kept, report.errors.len()), (1, 0));
    let left: Vec<String> = stored_keys(&store).await;
    assert_eq!(left, ["fresh"]);
    // On the server: the old upload was terminated; the expired one is not touched (only its
    // record goes); the fresh one keeps its bytes.
    assert_eq!(server.request_count("DELETE"), 1);
    assert!(server.upload(old.as_str()).unwrap().terminated);
    assert!(
        server.upload_bytes(old.as_str()).is_none(),
        "the old upload is terminated"
    );
    assert!(!server.upload(expired.as_str()).unwrap().terminated);
    assert!(!server.upload(fresh.as_str()).unwrap().terminated);
    assert_eq!(server.upload_bytes(fresh.as_str()).unwrap(), &data(30)[..7]);
}

/// Without `check_server` nothing but expiry is judged, and no request is sent.
#[tokio::test]
async fn prune_without_a_check_sends_nothing() {
    let (server, client) = server_and_client().await;
    let store = MemoryStorage::new();
    let gone = format!("{}gone-upload", server.endpoint());
    store
        .set("gone", UploadRecord::new(gone).with_created_unix(1))
        .await
        .unwrap();
    let report = prune(&store, &client, &PruneOptions::new()).await.unwrap();
    assert!(report.removed.is_empty());
    assert_eq!(report.kept, 1);
    assert!(server.received_requests().await.is_empty());
}

/// The uploader writes `created_unix` with the first record and keeps it when it rewrites the
/// record of the same upload.
#[tokio::test]
async fn records_keep_their_creation_time() {
    let (server, client) = server_and_client().await;
    let bytes = data(64 * 1024);
    let (_dir, path) = temp_file(&bytes);
    let store = std::sync::Arc::new(MemoryStorage::new());
    let uploader = || {
        client
            .uploader()
            .path(&path)
            .storage(std::sync::Arc::clone(&store))
            .chunk_size(16 * 1024)
            .build()
            .unwrap()
    };
    let before = now();
    uploader().upload_until(16 * 1024).await.unwrap();
    let records = store.list().await.unwrap();
    let (key, first) = records.first().unwrap();
    let created = first.created_unix.expect("a creation time");
    assert!(created >= before && created <= now(), "{created}");
    // Backdate it, then let a second run rewrite the record of the same upload.
    store
        .set(key, first.clone().with_created_unix(1))
        .await
        .unwrap();
    uploader().upload_until(32 * 1024).await.unwrap();
    let again = store.get(key).await.unwrap().unwrap();
    assert_eq!(again.url, first.url);
    assert_eq!(
        again.created_unix,
        Some(1),
        "the same upload keeps its creation time"
    );
    assert_eq!(server.upload(first.url.as_str()).unwrap().offset, 32 * 1024);
}

/// A completion record (a finished upload a batch skips) is never terminated nor checked: an
/// old one, and one whose server no longer has the upload, stay until they expire.
#[tokio::test]
async fn prune_keeps_completion_records_until_they_expire() {
    let (server, client) = server_and_client().await;
    let finished = created_upload(&client, &data(10)).await;
    patch_directly(finished.as_str(), 0, &data(10)).await;
    let gone = format!("{}gone-upload", server.endpoint());
    let store = MemoryStorage::new();
    let completed = |url: &str, expires: u64| {
        UploadRecord::new(url)
            .with_created_unix(now() - 10 * DAY)
            .with_completed_unix(now() - 10 * DAY)
            .with_expires_unix(expires)
    };
    store
        .set("old", completed(finished.as_str(), now() + DAY))
        .await
        .unwrap();
    store
        .set("gone", completed(&gone, now() + DAY))
        .await
        .unwrap();
    store
        .set("expired", completed(finished.as_str(), now() - 1))
        .await
        .unwrap();
    let options = PruneOptions::new()
        .check_server(true)
        .terminate_older_than(Duration::from_secs(7 * DAY));
    let report = prune(&store, &client, &options).await.unwrap();
    let removed: Vec<&str> = report.removed.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(removed, ["expired"]);
    assert_eq!(stored_keys(&store).await, ["gone", "old"]);
    assert_eq!(
        server.request_count("DELETE"),
        0,
        "a finished upload is never terminated"
    );
    assert_eq!(server.request_count("HEAD"), 0);
    assert_eq!(server.upload_bytes(finished.as_str()), Some(data(10)));
}
