//! expiration: `Upload-Expires` kept in the record, expired uploads are not resumed.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::ReqwestTransport;
use tusky::{Client, UploadSummary, Uploader};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, data, data_file, is_for, parallel_upload_of, patch_upload_of, posts,
    server_and_client, server_and_client_with, stored, upload_cancelled_at, upload_exactly,
    upload_of, wait_until, Events, QUICK,
};

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Requests the server received for `url` (any method).
async fn requests_to(server: &TusMockServer, url: &str) -> usize {
    server
        .received_requests()
        .await
        .iter()
        .filter(|r| is_for(r, url))
        .count()
}

/// An uploader of `bytes` in chunks of 10 000 that keeps its record in `store` and reports its
/// progress to `events`.
fn uploader_with(
    client: &Client,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    events: &Events,
) -> Uploader<ReqwestTransport, Arc<MemoryStorage>> {
    upload_of(client, bytes, 10_000)
        .storage(Arc::clone(store))
        .on_progress(events.callback())
        .build()
        .unwrap()
}

/// A first uploader sends `until` bytes of `bytes` and leaves its record in `store`; then the
/// record's expiry is rewritten to `expires_unix` (what a client whose clock differs from the
/// server's would believe). Returns the upload's URL and the expiry its record had.
async fn stopped_upload_expiring_at(
    client: &Client,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    until: u64,
    expires_unix: Option<u64>,
) -> (String, Option<u64>) {
    let mut first = uploader_with(client, store, bytes, &Events::default());
    first.upload_until(until).await.unwrap();
    let (key, mut record) = store.list().await.unwrap().remove(0);
    let recorded = std::mem::replace(&mut record.expires_unix, expires_unix);
    store.set(&key, record).await.unwrap();
    (first.url().unwrap().to_string(), recorded)
}

/// Uploads `bytes` again, with the record in `store`, and checks that it went to a new upload,
/// not to `old`; returns its summary and the progress it reported.
async fn upload_again_elsewhere(
    client: &Client,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    old: &str,
) -> (UploadSummary, Events) {
    let events = Events::default();
    let summary = uploader_with(client, store, bytes, &events)
        .upload()
        .await
        .unwrap();
    assert_ne!(summary.url.as_str(), old);
    (summary, events)
}

#[tokio::test]
async fn upload_expires_is_parsed_and_stored_in_the_record() {
    let (server, client) =
        server_and_client_with(TusMockServer::builder().expires_after(Duration::from_secs(3600)))
            .await;
    let store = Arc::new(MemoryStorage::new());
    let mut uploader = upload_of(&client, &data(30_000), 10_000)
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    uploader.upload_until(20_000).await.unwrap();

    let deadline = unix(server.uploads()[0].expires.unwrap());
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.expires_unix, Some(deadline));
    assert_eq!(uploader.expires().map(unix), Some(deadline));
    let now = unix(SystemTime::now());
    assert!((now + 3590..=now + 3600).contains(&deadline));
}

/// The record says the upload expired (the server would still take it): tusky does not even
/// ask about it, and creates a new upload.
#[tokio::test]
async fn an_expired_stored_record_is_not_resumed() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(30_000);
    let expired = Some(unix(SystemTime::now()) - 10);
    let (old, _) = stopped_upload_expiring_at(&client, &store, &bytes, 20_000, expired).await;
    let seen = requests_to(&server, &old).await;
    assert!(seen > 0);

    let (summary, events) = upload_again_elsewhere(&client, &store, &bytes, &old).await;
    assert_eq!(summary.resumed_from, None);
    assert_eq!(
        requests_to(&server, &old).await,
        seen,
        "the expired URL is not touched"
    );
    assert_eq!(posts(&server).await.len(), 2);
    assert!(
        events.started_over().iter().any(|r| r.contains("expired")),
        "{:?}",
        events.started_over()
    );
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(store.list().await.unwrap().is_empty());
}

/// The server expires uploads after a second. The record's expiry is cleared, as if the
/// client's clock were behind the server's, so tusky tries to resume: HEAD answers 410 and
/// tusky starts over with a new upload.
#[tokio::test]
async fn a_410_after_expiry_on_resume_starts_over() {
    let (server, client) =
        server_and_client_with(TusMockServer::builder().expires_after(Duration::from_secs(1)))
            .await;
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(30_000);
    let (old, recorded) = stopped_upload_expiring_at(&client, &store, &bytes, 10_000, None).await;
    assert!(recorded.is_some(), "the record had the server's expiry");
    // Expiry is the server's wall clock: wait until it says the upload expired.
    wait_until("the upload expires", Duration::from_secs(5), || async {
        server.upload(&old).unwrap().expired
    })
    .await;

    let (summary, events) = upload_again_elsewhere(&client, &store, &bytes, &old).await;
    let heads = server.requests_by_method("HEAD").await;
    assert_eq!(heads.len(), 1);
    assert!(is_for(&heads[0], &old), "tusky asked about the old upload");
    assert!(
        events.started_over().iter().any(|r| r.contains("410")),
        "{:?}",
        events.started_over()
    );
    assert_eq!(server.uploads().len(), 2);
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(server.upload(summary.url.as_str()).unwrap().is_complete());
}

/// The upload expires while a slow PATCH is answered; the next PATCH gets 410 and tusky
/// starts over within the same run.
#[tokio::test]
async fn an_upload_expiring_mid_way_starts_over() {
    let server = TusMockServer::builder()
        .expires_after(Duration::from_secs(1))
        .start()
        .await;
    server.set_patch_hook(|ctx: &PatchContext| {
        if ctx.number == 1 {
            PatchAction::Delay(Duration::from_millis(1_300))
        } else {
            PatchAction::Accept
        }
    });
    let client = client_for(&server);
    let bytes = data(30_000);
    let events = Events::default();
    let (_, summary) = upload_exactly(
        &server,
        patch_upload_of(&client, &bytes, 10_000)
            .retry_delay(2, QUICK)
            .on_progress(events.callback()),
        &bytes,
    )
    .await;
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 2);
    assert!(uploads[0].expired);
    assert_eq!(summary.url.as_str(), uploads[1].url);
    assert_eq!(events.started_over().len(), 1);
}

/// A parallel upload cancelled mid-way, resumed after its partial uploads expired: new partial
/// uploads replace them (today each expired one answers 410 and is started over) and the final
/// upload joins only new ones.
#[tokio::test]
async fn an_expired_parallel_upload_starts_its_partials_over() {
    let (server, client) =
        server_and_client_with(TusMockServer::builder().expires_after(Duration::from_secs(2)))
            .await;
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(400_000);
    let first = parallel_upload_of(&client, &path, 4, 10_000).storage(Arc::clone(&store));
    upload_cancelled_at(first, 150_000).await;
    // Expiry is the server's wall clock: wait until it says every upload expired.
    wait_until(
        "the partial uploads expire",
        Duration::from_secs(6),
        || async { server.uploads().iter().all(|u| u.expired) },
    )
    .await;

    let expired: Vec<String> = server.uploads().into_iter().map(|u| u.url).collect();

    let builder = parallel_upload_of(&client, &path, 4, 10_000).storage(Arc::clone(&store));
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    assert_eq!(
        server.uploads().len(),
        4 + 4 + 1,
        "4 expired, 4 new, 1 final"
    );
    let Some(tusky_mock_server::UploadConcat::Final(joined)) =
        server.upload(summary.url.as_str()).map(|u| u.concat)
    else {
        panic!("not a final upload");
    };
    assert!(joined.iter().all(|url| !expired.contains(url)));
    assert!(store.list().await.unwrap().is_empty());
}
