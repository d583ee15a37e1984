//! Resuming a parallel upload (`parallel(n)`): its record names the partial uploads (and their
//! expiry), a later run continues them or finds the finished final upload, and a record of
//! another upload is not taken for this file's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tusky::fingerprint::{DefaultFingerprint, Fingerprint};
use tusky::storage::{MemoryStorage, Storage, UploadRecord};
use tusky::{Client, ProgressEvent, Uploader};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    cancel_when_acknowledged, client_for, create_directly, data, data_file, parallel_upload_of,
    patch_directly, server_and_client, server_and_client_with, stored, temp_file, upload_exactly,
    QUICK,
};

/// A `parallel(3)` uploader of `path` in 10 000-byte chunks, its record kept in `store` on
/// success.
fn kept_parallel(
    client: &Client,
    path: &std::path::Path,
    store: &Arc<MemoryStorage>,
) -> Uploader<tusky::transport::ReqwestTransport, Arc<MemoryStorage>, DefaultFingerprint> {
    parallel_upload_of(client, path, 3, 10_000)
        .storage(Arc::clone(store))
        .remove_record_on_success(false)
        .build()
        .unwrap()
}

/// A parallel upload whose record is kept on success (`remove_record_on_success(false)`) is
/// found complete by a later run of the same file: nothing is created or sent again.
#[tokio::test]
async fn a_kept_parallel_record_is_found_complete_and_not_uploaded_again() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(60_000);
    let build = || kept_parallel(&client, &path, &store);
    let first = build().upload().await.unwrap();
    assert_eq!(stored(&server, &first.url), bytes);
    assert_eq!(store.list().await.unwrap().len(), 1, "the record is kept");
    let uploads_before = server.uploads().len();
    let patches_before = server.request_count("PATCH");

    let second = build().upload().await.unwrap();

    assert_eq!(second.url, first.url, "the finished final upload is found");
    assert_eq!(second.bytes_uploaded, 0);
    assert_eq!(
        server.uploads().len(),
        uploads_before,
        "nothing created again"
    );
    assert_eq!(
        server.request_count("PATCH"),
        patches_before,
        "nothing sent again"
    );
}

/// The same, while the server is still joining the parts (its HEAD of the final upload has no
/// `Upload-Offset` yet, as tus allows: `StreamingTusServer` copies after answering the final
/// POST): the final upload is taken as finished, nothing is sent again.
#[tokio::test]
async fn a_kept_final_upload_the_server_is_still_joining_counts_as_finished() {
    use tusky_mock_server::wiremock::matchers::{method, path};
    use tusky_mock_server::wiremock::Mock;

    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let (_, _dir, path_) = data_file(60_000);
    let build = || kept_parallel(&client, &path_, &store);
    let first = build().upload().await.unwrap();
    Mock::given(method("HEAD"))
        .and(path(first.url.path()))
        .respond_with(
            crate::common::tus_response(200)
                .insert_header("Upload-Length", "60000")
                .insert_header("Upload-Concat", "final;/files/a /files/b /files/c"),
        )
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let patches_before = server.request_count("PATCH");

    let second = build().upload().await.unwrap();

    assert_eq!(second.url, first.url);
    assert_eq!(second.bytes_uploaded, 0);
    assert_eq!(
        server.request_count("PATCH"),
        patches_before,
        "nothing sent again"
    );
}

/// A stored record whose URL names a complete upload of another size (a stale record, a
/// server that reused the id) is not taken for this file's finished parallel upload.
#[tokio::test]
async fn a_stored_final_of_another_size_is_not_taken_for_this_file() {
    let server = TusMockServer::start().await;
    let other = create_directly(&server, &[("Upload-Length", "10")], b"").await;
    patch_directly(&other, 0, &[7u8; 10]).await;

    let (bytes, _dir, path) = data_file(40_000);
    let store = Arc::new(MemoryStorage::new());
    let key = DefaultFingerprint::default()
        .fingerprint_file(&path)
        .unwrap();
    store
        .set(&key, UploadRecord::new(other.clone()).with_size(40_000))
        .await
        .unwrap();
    let client = client_for(&server);
    let summary = client
        .uploader()
        .path(&path)
        .parallel(2)
        .storage(Arc::clone(&store))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();

    assert_ne!(
        summary.url.as_str(),
        other,
        "another upload is not this file"
    );
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// A single upload interrupted half-way is continued by a later `parallel(n)` run of the same
/// file (its record is not overwritten and the bytes the server holds are not sent again).
#[tokio::test]
async fn a_parallel_run_continues_an_interrupted_single_upload() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(60_000);
    let first = client
        .uploader()
        .path(&path)
        .chunk_size(10_000)
        .storage(Arc::clone(&store))
        .build()
        .unwrap()
        .upload_until(30_000)
        .await
        .unwrap();
    assert_eq!(first.offset, 30_000);

    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 3, 10_000).storage(Arc::clone(&store)),
        &bytes,
    )
    .await;

    assert_eq!(summary.resumed_from, Some(30_000));
    assert_eq!(
        summary.bytes_uploaded, 30_000,
        "only the missing half is sent"
    );
}

/// The record of a parallel upload stopped mid-way carries the expiry its partial uploads
/// were given, so that a later run knows when they are gone.
#[tokio::test]
async fn a_parallel_record_keeps_the_partials_expiry() {
    let (_server, client) =
        server_and_client_with(TusMockServer::builder().expires_after(Duration::from_secs(3600)))
            .await;
    let (_dir, path) = temp_file(&data(40_000));
    let store = Arc::new(MemoryStorage::new());
    let (token, cancel_at_first_chunk) = cancel_when_acknowledged(1);
    let mut uploader = parallel_upload_of(&client, &path, 2, 10_000)
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(cancel_at_first_chunk)
        .build()
        .unwrap();
    assert!(uploader.upload().await.is_err());
    let records = store.list().await.unwrap();
    let parallel: Vec<_> = records
        .iter()
        .filter(|(_, r)| !r.partial_urls.is_empty())
        .collect();
    assert_eq!(parallel.len(), 1, "{records:?}");
    let expires = parallel[0]
        .1
        .expires_unix
        .expect("the record has the partials' expiry");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires > now + 3000 && expires <= now + 3601,
        "{expires} vs {now}"
    );
}

/// A partial upload found gone (404) starts over; when the run stops afterwards, its record
/// names the replacement, not the gone upload, so that a later run resumes the right one.
#[tokio::test]
async fn a_partial_that_started_over_is_recorded_with_its_new_url() {
    let server = TusMockServer::start().await;
    // The first PATCH of the run finds its partial upload gone: that partial starts over.
    // Once the replacement (the third upload) receives bytes, the run is cancelled.
    let replaced = Arc::new(AtomicBool::new(false));
    let seen = replaced.clone();
    server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.number == 1 {
            return PatchAction::Fail(404);
        }
        if ctx.upload_id.ends_with('3') {
            seen.store(true, Ordering::SeqCst);
        }
        PatchAction::Accept
    });
    let client = client_for(&server);
    let (_dir, path) = temp_file(&data(60_000));
    let store = Arc::new(MemoryStorage::new());
    let token = tusky::CancellationToken::new();
    let cancel = token.clone();
    let mut uploader = parallel_upload_of(&client, &path, 2, 5_000)
        .creation_with_upload(false)
        .retry_delay(3, QUICK)
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(move |e| {
            if matches!(e, ProgressEvent::Acknowledged { .. }) && replaced.load(Ordering::SeqCst) {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    assert!(uploader.upload().await.is_err());
    // The server sees its own host name in request URLs; compare paths.
    let gone = server.requests_by_method("PATCH").await[0]
        .url
        .path()
        .to_owned();
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    let partials = &records[0].1.partial_urls;
    assert_eq!(partials.len(), 2);
    assert!(
        !partials.iter().any(|p| p.ends_with(&gone)),
        "{gone} still in {partials:?}"
    );
    assert_eq!(
        server.uploads().len(),
        3,
        "two partials and the one that replaced the gone one"
    );
}

/// A resumed parallel upload reports `Started` at the bytes its partial uploads already hold,
/// and resumes from there.
#[tokio::test]
async fn a_resumed_parallel_upload_starts_at_the_bytes_the_server_holds() {
    let server = Arc::new(TusMockServer::start().await);
    let client = client_for(&server);
    let (bytes, _dir, path) = data_file(80_000);
    let store = Arc::new(MemoryStorage::new());
    let (token, cancel_mid_way) = cancel_when_acknowledged(20_000);
    let mut first = parallel_upload_of(&client, &path, 2, 10_000)
        .creation_with_upload(false)
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(cancel_mid_way)
        .build()
        .unwrap();
    assert!(first.upload().await.is_err());
    // What the server holds is read when the second run reports Started (a request the first
    // run dropped in flight may still have landed after it returned).
    let started = Arc::new(Mutex::new(None));
    let seen = started.clone();
    let watched = server.clone();
    let mut second = parallel_upload_of(&client, &path, 2, 10_000)
        .storage(store.clone())
        .on_progress(move |e| {
            if let ProgressEvent::Started {
                offset, resumed, ..
            } = e
            {
                let held: u64 = watched.uploads().iter().map(|u| u.offset).sum();
                *seen.lock().unwrap() = Some((*offset, *resumed, held));
            }
        })
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    let (offset, resumed, held) = started.lock().unwrap().expect("Started was reported");
    assert!(resumed);
    assert!(held > 0 && held < 80_000, "{held}");
    assert_eq!(offset, held);
    assert_eq!(summary.resumed_from, Some(held));
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// A record made before parts and workers were told apart (`parallel(n)` split the file into
/// `n` equal parts and recorded their URLs, nothing else) is resumed whatever the count this
/// run would choose: its parts are found by splitting the size into as many equal ranges as
/// the record names, continued, and joined; none is created again.
#[tokio::test]
async fn a_record_of_equal_parts_from_an_older_version_resumes() {
    let server = TusMockServer::start().await;
    let (bytes, _dir, path) = data_file(30_001);
    // What an older run of `parallel(3)` left: the equal split (10_001, 10_000, 10_000), each
    // part partly sent, and a record under the bare fingerprint naming the parts in order.
    let mut partials = Vec::new();
    let mut held = 0;
    for (start, len, sent) in [
        (0, 10_001, 4_000),
        (10_001, 10_000, 0),
        (20_001, 10_000, 9_000),
    ] {
        let length = len.to_string();
        let url = create_directly(
            &server,
            &[("Upload-Length", &length), ("Upload-Concat", "partial")],
            b"",
        )
        .await;
        if sent > 0 {
            patch_directly(&url, 0, &bytes[start..start + sent]).await;
        }
        held += sent as u64;
        partials.push(url);
    }
    let store = Arc::new(MemoryStorage::new());
    let key = DefaultFingerprint::default()
        .fingerprint_file(&path)
        .unwrap();
    let record = UploadRecord::new("")
        .with_size(30_001)
        .with_endpoint(server.endpoint())
        .with_partial_urls(partials.clone());
    store.set(&key, record).await.unwrap();
    let client = client_for(&server);

    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 2, 3_000)
            .parts(5)
            .storage(Arc::clone(&store)),
        &bytes,
    )
    .await;

    assert_eq!(summary.resumed_from, Some(held));
    assert_eq!(summary.bytes_uploaded, 30_001 - held);
    assert_eq!(server.uploads().len(), 4, "three parts and the final");
    let final_upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(
        final_upload.concat,
        tusky_mock_server::UploadConcat::Final(partials)
    );
}
