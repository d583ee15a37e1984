//! tusky's uploader against the streaming, disk-backed server (`StreamingTusServer`):
//! one stream, parallel parts, checksums, a deferred length, and a resume after the server
//! restarts — the bytes checked in the server's files.

use std::path::Path;

use tusky::{ChecksumAlgorithm, Client};
use tusky_mock_server::StreamingTusServer;

use crate::common::{noise, noise_file, pipe, upload_ok};

async fn server_in(dir: &Path) -> (StreamingTusServer, Client) {
    let server = StreamingTusServer::builder(dir).start().await.unwrap();
    let client = Client::new(server.endpoint()).unwrap();
    (server, client)
}

/// The server's file for `url` holds exactly the bytes of the file at `source`.
#[track_caller]
fn assert_stored(server: &StreamingTusServer, url: &url::Url, source: &Path) {
    let stored = server.upload_path(url.as_str()).expect("the upload's file");
    let (stored, source) = (
        std::fs::read(stored).unwrap(),
        std::fs::read(source).unwrap(),
    );
    assert!(
        stored == source,
        "{url}: {} bytes stored, {} in the source",
        stored.len(),
        source.len()
    );
}

#[tokio::test]
async fn one_stream_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = server_in(&dir.path().join("server")).await;
    let source = noise_file(dir.path(), "one.bin", 5 * 1024 * 1024 + 7, 81);
    let builder = client
        .uploader()
        .path(&source)
        .chunk_size(1024 * 1024)
        .metadata("filename", "one.bin");
    let summary = upload_ok(builder, "one stream").await;
    assert_stored(&server, &summary.url, &source);
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(upload.metadata_value("filename"), Some("one.bin"));
}

#[tokio::test]
async fn parallel_parts_concatenate() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = server_in(&dir.path().join("server")).await;
    let source = noise_file(dir.path(), "parts.bin", 3 * 1024 * 1024 + 5, 82);
    let builder = client
        .uploader()
        .path(&source)
        .parallel(4)
        .chunk_size(256 * 1024);
    let summary = upload_ok(builder, "parallel").await;
    assert_stored(&server, &summary.url, &source);
    // Four partial uploads and the final one.
    assert_eq!(server.uploads().len(), 5);
}

#[tokio::test]
async fn every_checksum_algorithm_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = server_in(&dir.path().join("server")).await;
    for (i, name) in ["sha1", "sha256", "sha512", "md5", "crc32"]
        .into_iter()
        .enumerate()
    {
        let source = noise_file(
            dir.path(),
            &format!("{name}.bin"),
            1024 * 1024 + 3,
            83 + i as u64,
        );
        let algorithm = ChecksumAlgorithm::from_name(name).unwrap();
        let builder = client
            .uploader()
            .path(&source)
            .chunk_size(300_000)
            .checksum(algorithm);
        let summary = upload_ok(builder, name).await;
        assert_stored(&server, &summary.url, &source);
    }
}

#[tokio::test]
async fn a_stream_of_unknown_length_declares_it_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = server_in(&dir.path().join("server")).await;
    let bytes = noise(700_001, 88);
    let (reader, _) = pipe(bytes.clone(), 64 * 1024, 50_000);
    let builder = client.uploader().stream(reader).chunk_size(200_000);
    let summary = upload_ok(builder, "deferred").await;
    let path = dir.path().join("expected.bin");
    std::fs::write(&path, &bytes).unwrap();
    assert_stored(&server, &summary.url, &path);
    assert_eq!(
        server.upload(summary.url.as_str()).unwrap().length,
        Some(700_001)
    );
}

#[tokio::test]
async fn an_upload_resumes_after_the_server_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    let (server, client) = server_in(&data_dir).await;
    let port = server.address().port();
    let source = noise_file(dir.path(), "resumed.bin", 2 * 1024 * 1024, 89);
    let store = std::sync::Arc::new(tusky::storage::MemoryStorage::new());
    let uploader = |client: &Client| {
        client
            .uploader()
            .path(&source)
            .chunk_size(256 * 1024)
            .storage(store.clone())
            .build()
            .unwrap()
    };
    uploader(&client).upload_until(1024 * 1024).await.unwrap();
    server.shutdown().await;

    let server = StreamingTusServer::builder(&data_dir)
        .port(port)
        .start()
        .await
        .unwrap();
    let summary = uploader(&client).upload().await.unwrap();
    assert_eq!(summary.resumed_from, Some(1024 * 1024));
    assert_stored(&server, &summary.url, &source);
}
