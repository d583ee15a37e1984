//! End-to-end basics against the mock server: the shape every other test builds on.

use std::sync::Arc;

use tusky::mock::{PatchAction, PatchContext};
use tusky::storage::{MemoryStorage, Storage};

use crate::common::{
    data, data_file, parallel_upload_of, pipe, server_and_client, stored, upload_exactly,
    upload_of, QUICK,
};

#[tokio::test]
async fn uploads_in_chunks_and_the_server_holds_the_bytes() {
    let (server, client) = server_and_client().await;
    let bytes = data(100_000);
    let (_, summary) = upload_exactly(&server, upload_of(&client, &bytes, 30_000), &bytes).await;
    assert_eq!(summary.offset, 100_000);
}

#[tokio::test]
async fn partial_acceptance_continues_from_the_server_offset() {
    let (server, client) = server_and_client().await;
    server.set_patch_hook(|ctx: &PatchContext| PatchAction::AcceptPartial(ctx.body_len / 3 + 1));
    let bytes = data(10_000);
    let (_, _summary) = upload_exactly(&server, upload_of(&client, &bytes, 4096), &bytes).await;
}

#[tokio::test]
async fn a_second_uploader_resumes_from_the_store() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(50_000);
    let uploader = || {
        upload_of(&client, &bytes, 10_000)
            .storage(store.clone())
            .build()
            .unwrap()
    };
    uploader().upload_until(20_000).await.unwrap();
    let summary = uploader().upload().await.unwrap();
    assert_eq!(summary.resumed_from, Some(20_000));
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(server.uploads().len(), 1);
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn retries_a_failed_patch_after_a_head() {
    let (server, client) = server_and_client().await;
    server.fail_patch(2, 500);
    let bytes = data(3000);
    let builder = upload_of(&client, &bytes, 1000).retry_delay(3, QUICK);
    upload_exactly(&server, builder, &bytes).await;
    assert_eq!(server.request_count("HEAD"), 1);
}

#[tokio::test]
async fn a_stream_of_unknown_length_uploads_with_deferred_length() {
    let (server, client) = server_and_client().await;
    let bytes = data(25_000);
    let (reader, _) = pipe(bytes.clone(), 1024, bytes.len());
    let (_, summary) = upload_exactly(
        &server,
        client
            .uploader()
            .stream(reader)
            .chunk_size(8000)
            .creation_with_upload(false),
        &bytes,
    )
    .await;
    assert_eq!(summary.offset, 25_000);
}

#[tokio::test]
async fn parallel_upload_concatenates_partials() {
    let (server, client) = server_and_client().await;
    let (bytes, _dir, path) = data_file(100_003);
    let builder = parallel_upload_of(&client, &path, 4, 10_000).metadata("filename", "f.bin");
    upload_exactly(&server, builder, &bytes).await;
    let finals: Vec<_> = server
        .uploads()
        .into_iter()
        .filter(|u| u.metadata_value("filename") == Some("f.bin"))
        .collect();
    assert_eq!(finals.len(), 1);
    assert_eq!(server.uploads().len(), 5);
}
