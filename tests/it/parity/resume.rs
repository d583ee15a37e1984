//! Stored and explicit URLs: a second uploader resumes from the store (memory, JSON file,
//! redb), gone URLs are forgotten or reported, finished uploads leave the store, and an upload
//! of another length is not continued (parity 9, 10, 26, 31, 32).

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use tusky::error::Operation;
use tusky::mock::TusMockServer;
use tusky::storage::{JsonFileStorage, MemoryStorage, RedbStorage, Storage, UploadRecord};
use tusky::transport::ReqwestTransport;
use tusky::{Client, Error, NoRetry, UploadSummary, Uploader};
use wiremock::matchers::{method, path};
use wiremock::Mock;

use super::record_key;
use crate::common::{
    assert_no_records, client_for, created_upload, data, data_file, patch_shape, reader_of,
    server_and_client, stored, tus_response, upload_error, upload_exactly, upload_of, upload_ok,
};

/// parity 9
#[tokio::test]
async fn a_second_uploader_finds_the_stored_url_and_resumes_from_the_servers_offset() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(30);
    let mut first = upload_of(&client, &bytes, 10)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = first.upload_until(10).await.unwrap();
    drop(first);
    assert_eq!(server.upload(partial.url.as_str()).unwrap().offset, 10);
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].0,
        record_key(&bytes, &server),
        "keyed by the tuspy-compatible fingerprint and the endpoint"
    );
    assert_eq!(records[0].1.url, partial.url.as_str());

    let (_second, summary) = upload_exactly(
        &server,
        upload_of(&client, &bytes, 10).storage(store.clone()),
        &bytes,
    )
    .await;
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(10));
    assert_eq!(summary.bytes_uploaded, 20);
    assert_eq!(
        server.request_count("POST"),
        1,
        "no second upload was created"
    );
    let patch_offsets: Vec<u64> = patch_shape(&server.received_requests().await)
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(patch_offsets.last(), Some(&20));
    assert!(
        !patch_offsets[1..].contains(&0),
        "nothing resent from 0: {patch_offsets:?}"
    );
}

/// An uploader of the file at `path` in chunks of 1000 bytes, remembering its URL in `store`.
fn file_uploader<S: Storage>(
    client: &Client,
    path: &Path,
    store: S,
) -> Uploader<ReqwestTransport, S> {
    client
        .uploader()
        .path(path)
        .chunk_size(1000)
        .storage(store)
        .build()
        .unwrap()
}

/// Runs `uploader` to the end and checks that it resumed `partial`'s upload from where that
/// stopped, and that the server holds `bytes` in that one upload.
async fn resume_to_the_end<S: Storage>(
    server: &TusMockServer,
    mut uploader: Uploader<ReqwestTransport, S>,
    partial: &UploadSummary,
    bytes: &[u8],
) {
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(partial.offset));
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(stored(server, &summary.url), bytes);
}

/// parity 9: resume through a `JsonFileStorage`, each uploader with its own handle on the same
/// file.
#[tokio::test]
async fn resume_through_a_json_file_store_with_a_new_handle() {
    let (server, client) = server_and_client().await;
    let (bytes, dir, file) = data_file(4000);
    let store_path = dir.path().join("uploads.json");

    let mut first = file_uploader(&client, &file, JsonFileStorage::open(&store_path).unwrap());
    let partial = first.upload_until(2000).await.unwrap();
    assert_eq!(partial.offset, 2000);

    let second_store = JsonFileStorage::open(&store_path).unwrap();
    assert_eq!(
        second_store.list().await.unwrap().len(),
        1,
        "the record is on disk"
    );
    let uploader = file_uploader(&client, &file, second_store);
    resume_to_the_end(&server, uploader, &partial, &bytes).await;
    let reopened = JsonFileStorage::open(&store_path).unwrap();
    assert_no_records(&reopened, "the finished upload's record is gone").await;
}

/// parity 9: resume through a `RedbStorage`; the first handle is dropped (redb locks the file)
/// before the second uploader opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_through_a_redb_store_after_reopening_it() {
    let (server, client) = server_and_client().await;
    let (bytes, dir, file) = data_file(4000);
    let store_path = dir.path().join("uploads.redb");

    let mut first = file_uploader(&client, &file, RedbStorage::open(&store_path).unwrap());
    let partial = first.upload_until(3000).await.unwrap();
    assert_eq!(partial.offset, 3000);
    assert!(
        RedbStorage::open(&store_path).is_err(),
        "still locked by the first uploader"
    );
    drop(first);

    let store = RedbStorage::open(&store_path).unwrap();
    let uploader = file_uploader(&client, &file, store.clone());
    resume_to_the_end(&server, uploader, &partial, &bytes).await;
    assert!(store.list().await.unwrap().is_empty());
}

/// parity 10
#[tokio::test]
async fn a_stored_url_that_is_gone_is_forgotten_and_a_new_upload_created() {
    for status in [404u16, 410, 403] {
        let server = TusMockServer::start().await;
        if status != 404 {
            // (the tus mock answers 404 for an unknown upload by itself)
            Mock::given(method("HEAD"))
                .and(path("/files/stale"))
                .respond_with(tus_response(status))
                .mount(server.wiremock())
                .await;
        }
        let stale = format!("{}stale", server.endpoint());
        let bytes = data(50);
        let key = record_key(&bytes, &server);
        let store = Arc::new(MemoryStorage::new());
        store
            .set(&key, UploadRecord::new(&stale).with_size(50))
            .await
            .unwrap();

        let client = client_for(&server);
        let summary = upload_ok(
            upload_of(&client, &bytes, 20)
                .storage(store.clone())
                .remove_record_on_success(false),
            &format!("HEAD {status}"),
        )
        .await;
        assert_ne!(summary.url.as_str(), stale);
        assert_eq!(summary.resumed_from, None);
        assert_eq!(server.uploads().len(), 1, "HEAD {status}: one new upload");
        assert_eq!(stored(&server, &summary.url), bytes);
        let record = store
            .get(&key)
            .await
            .unwrap()
            .expect("the new upload is recorded");
        assert_eq!(
            record.url,
            summary.url.as_str(),
            "HEAD {status}: the stale URL was replaced"
        );
        let heads = server.requests_by_method("HEAD").await;
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].url.path(), "/files/stale");
    }
}

/// parity 10: the gone URL is removed from the store even when creating the new upload fails.
#[tokio::test]
async fn a_gone_stored_url_is_removed_even_if_the_new_upload_cannot_be_created() {
    let server = TusMockServer::start().await;
    server.fail_next_post(500);
    let bytes = data(50);
    let key = record_key(&bytes, &server);
    let store = Arc::new(MemoryStorage::new());
    store
        .set(
            &key,
            UploadRecord::new(format!("{}stale", server.endpoint())).with_size(50),
        )
        .await
        .unwrap();
    let client = client_for(&server);
    let error = upload_error(
        client
            .uploader()
            .reader(Cursor::new(bytes))
            .storage(store.clone())
            .retry_policy(NoRetry),
    )
    .await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500), "{error}");
    assert_eq!(
        store.get(&key).await.unwrap(),
        None,
        "the gone URL is no longer stored"
    );
}

/// parity 26
#[tokio::test]
async fn an_explicit_url_that_is_gone_is_a_clear_error_or_recreated_when_allowed() {
    let server = TusMockServer::start().await;
    let stale = format!("{}gone", server.endpoint());
    let bytes = data(20);
    let client = client_for(&server);

    let mut uploader = reader_of(&client, &bytes).url(&stale).build().unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{error:?}");
    let context = error.context().unwrap();
    assert_eq!(context.operation, Operation::Head);
    assert_eq!(context.url.as_deref(), Some(stale.as_str()));
    let text = error.to_string();
    assert!(text.contains(&stale) && text.contains("404"), "{text}");
    assert_eq!(
        server.request_count("POST"),
        0,
        "nothing created without permission"
    );

    // URL-only client: nowhere to recreate, so the same error even when recreating is allowed
    let url_only = Client::builder().build().unwrap();
    let mut uploader = url_only
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(&stale)
        .recreate_if_gone(true)
        .build()
        .unwrap();
    assert_eq!(
        uploader
            .upload()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404)
    );

    // with an endpoint and permission: a new upload
    let (_, summary) = upload_exactly(
        &server,
        reader_of(&client, &bytes)
            .url(&stale)
            .recreate_if_gone(true),
        &bytes,
    )
    .await;
    assert_ne!(summary.url.as_str(), stale);
    assert_eq!(server.uploads().len(), 1);
}

/// parity 26 with a store: the recreated upload (not the gone URL) is what gets recorded, and
/// without permission to recreate nothing is recorded.
#[tokio::test]
async fn a_recreated_explicit_upload_is_recorded_in_the_store() {
    let server = TusMockServer::start().await;
    let stale = format!("{}gone", server.endpoint());
    let bytes = data(20);
    let key = record_key(&bytes, &server);
    let client = client_for(&server);

    let store = Arc::new(MemoryStorage::new());
    let mut refusing = reader_of(&client, &bytes)
        .url(&stale)
        .storage(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        refusing
            .upload()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404)
    );
    assert!(store.list().await.unwrap().is_empty());

    let mut uploader = upload_of(&client, &bytes, 8)
        .url(&stale)
        .recreate_if_gone(true)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = uploader.upload_until(8).await.unwrap();
    assert_ne!(partial.url.as_str(), stale);
    assert_eq!(
        store.get(&key).await.unwrap().map(|r| r.url),
        Some(partial.url.to_string())
    );
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_no_records(&store, "removed once finished").await;
}

/// parity 31
#[tokio::test]
async fn a_finished_uploads_record_is_removed_unless_kept() {
    let (server, client) = server_and_client().await;
    let bytes = data(100);
    let key = record_key(&bytes, &server);

    let store = Arc::new(MemoryStorage::new());
    let mut uploader = upload_of(&client, &bytes, 40)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = uploader.upload_until(40).await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().map(|r| r.url),
        Some(partial.url.to_string()),
        "recorded while unfinished"
    );
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_no_records(&store, "removed once finished").await;

    let kept = Arc::new(MemoryStorage::new());
    let mut uploader = upload_of(&client, &bytes, 40)
        .storage(kept.clone())
        .remove_record_on_success(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let record = kept.get(&key).await.unwrap().expect("kept when asked to");
    assert_eq!(record.url, summary.url.as_str());
    assert_eq!(record.size, Some(100));
}

/// The error for an upload of 10 bytes on the server that the source has 12 of: both lengths,
/// in the error and in its message.
fn assert_length_mismatch_10_12(error: &Error) {
    assert!(
        matches!(
            error,
            Error::LengthMismatch {
                server: 10,
                local: 12,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("10") && message.contains("12"),
        "{message}"
    );
}

/// parity 32: an explicit URL whose server length differs from the source is refused.
#[tokio::test]
async fn resuming_an_upload_of_another_length_is_refused() {
    let (server, client) = server_and_client().await;
    let url = created_upload(&client, &data(10)).await;

    let error = upload_error(
        client
            .uploader()
            .reader(Cursor::new(data(12)))
            .url(url.as_str()),
    )
    .await;
    assert_length_mismatch_10_12(&error);
    assert_eq!(
        server.request_count("PATCH"),
        0,
        "nothing sent to the wrong upload"
    );
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(server.upload(url.as_str()).unwrap().offset, 0);
}

/// parity 32: a stored URL whose server length differs is not continued: a new upload is made
/// (or, with recreating off, an error).
#[tokio::test]
async fn a_stored_upload_of_another_length_is_not_continued() {
    let (server, client) = server_and_client().await;
    let wrong = created_upload(&client, &data(10)).await;
    let bytes = data(12);
    let key = record_key(&bytes, &server);

    let store = Arc::new(MemoryStorage::new());
    store
        .set(&key, UploadRecord::new(wrong.as_str()).with_size(12))
        .await
        .unwrap();
    let error = upload_error(
        reader_of(&client, &bytes)
            .storage(store.clone())
            .recreate_if_gone(false),
    )
    .await;
    assert_length_mismatch_10_12(&error);

    let (_, summary) = upload_exactly(
        &server,
        reader_of(&client, &bytes).storage(store.clone()),
        &bytes,
    )
    .await;
    assert_ne!(summary.url, wrong);
    assert_eq!(summary.resumed_from, None);
    assert_eq!(
        server.upload(wrong.as_str()).unwrap().offset,
        0,
        "the other upload is untouched"
    );
    assert_eq!(server.uploads().len(), 2);
    assert_eq!(
        server.request_count("PATCH"),
        0,
        "with creation-with-upload the POST carried all 12 bytes"
    );
}
