//! termination: DELETE, the upload is gone, the stored record is removed.

use std::io::Cursor;
use std::sync::Arc;

use tusky::storage::{MemoryStorage, Storage};
use tusky::Client;
use tusky_mock_server::{Extension, TusMockServer};

use crate::common::{
    created_upload, data, is_for, parallel_upload_of, server_and_client, server_and_client_with,
    temp_file, upload_cancelled_at, upload_of,
};

async fn assert_gone(client: &Client, server: &TusMockServer, url: &str) {
    let error = client.upload_status(url).await.unwrap_err();
    let status = error.status().map(|s| s.as_u16());
    assert!(matches!(status, Some(404 | 410)), "{error}");
    assert!(server.upload(url).unwrap().terminated);
    assert_eq!(server.upload_bytes(url), None);
}

#[tokio::test]
async fn terminate_deletes_the_upload_and_its_record() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let mut uploader = upload_of(&client, &data(30_000), 10_000)
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    uploader.upload_until(10_000).await.unwrap();
    let url = uploader.url().unwrap().to_string();
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.url, url);

    uploader.terminate().await.unwrap();

    let deletes = server.requests_by_method("DELETE").await;
    assert_eq!(deletes.len(), 1);
    assert!(is_for(&deletes[0], &url));
    assert_gone(&client, &server, &url).await;
    assert!(store.list().await.unwrap().is_empty(), "record removed");
}

/// Cancelling stops the upload and keeps the record (to resume later); terminating after
/// the cancel deletes the upload and the record.
#[tokio::test]
async fn cancel_then_terminate() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let builder = upload_of(&client, &data(100_000), 10_000).storage(Arc::clone(&store));
    let mut uploader = upload_cancelled_at(builder, 30_000).await;
    let url = uploader.url().unwrap().to_string();
    let held = server.upload(&url).unwrap().offset;
    assert!((30_000..100_000).contains(&held), "stopped mid-way: {held}");
    assert_eq!(
        store.list().await.unwrap().len(),
        1,
        "cancel keeps the record"
    );

    uploader.terminate().await.unwrap();
    assert_eq!(server.requests_by_method("DELETE").await.len(), 1);
    assert_gone(&client, &server, &url).await;
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn terminate_by_url_on_the_client() {
    let (server, client) = server_and_client().await;
    let url = created_upload(&client, &data(1_000)).await.to_string();
    client.terminate(&url).await.unwrap();
    assert_gone(&client, &server, &url).await;
}

#[tokio::test]
async fn a_server_without_termination_refuses_clearly() {
    let (server, client) =
        server_and_client_with(TusMockServer::builder().extensions(&[Extension::Creation])).await;
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(1_000)))
        .build()
        .unwrap();
    let url = uploader.create().await.unwrap().to_string();
    let error = uploader.terminate().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(405), "{error}");
    assert!(error.to_string().contains("DELETE"), "{error}");
    assert!(!server.upload(&url).unwrap().terminated);
}

/// Regression: a parallel upload cancelled before its final POST has no upload URL, only
/// partial uploads; `terminate()` used to fail with "no URL to terminate", leaving them and
/// the stored record behind. It now deletes every partial upload and the record.
#[tokio::test]
async fn cancel_then_terminate_a_parallel_upload_deletes_its_partials() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let (_dir, path) = temp_file(&data(400_000));
    let builder = parallel_upload_of(&client, &path, 4, 10_000).storage(Arc::clone(&store));
    let mut uploader = upload_cancelled_at(builder, 150_000).await;
    assert_eq!(store.list().await.unwrap().len(), 1);
    let partials = server.uploads();
    assert_eq!(partials.len(), 4);

    uploader.terminate().await.unwrap();

    let deletes = server.requests_by_method("DELETE").await;
    assert_eq!(deletes.len(), 4);
    for partial in &partials {
        assert!(deletes.iter().any(|d| is_for(d, &partial.url)));
        assert_gone(&client, &server, &partial.url).await;
    }
    assert!(store.list().await.unwrap().is_empty(), "record removed");
}
