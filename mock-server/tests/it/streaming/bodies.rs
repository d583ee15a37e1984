//! Bodies as they come: in many pieces, chunked, cut short, quiet, too long, large, repeated.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tusky_mock_server::{FaultProxy, StreamingTusServer};

use super::raw::{path_of, RawRequest};
use super::start;
use crate::support::*;

const MIB: usize = 1024 * 1024;

async fn upload_of(server: &StreamingTusServer, length: &str) -> String {
    let resp = post_to(&server.endpoint(), &[("Upload-Length", length)], None).await;
    assert_eq!(resp.status(), 201);
    header(&resp, "location").unwrap()
}

fn sha256_header(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

async fn offset_is(url: &str, offset: u64) -> bool {
    header(&head(url).await, "upload-offset") == Some(offset.to_string())
}

#[tokio::test]
async fn a_large_body_with_a_checksum_is_stored_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let data = noise(5 * MIB + 3, 11);
    let url = upload_of(&server, &data.len().to_string()).await;
    let checksum = sha256_header(&data);
    let resp = patch_with(&url, 0, &data, &[("Upload-Checksum", &checksum)]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        std::fs::read(server.upload_path(&url).unwrap()).unwrap(),
        data
    );
}

#[tokio::test]
async fn a_checksum_mismatch_over_many_buffers_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let data = noise(4 * MIB, 12);
    let url = upload_of(&server, &(data.len() + 2).to_string()).await;
    assert_eq!(patch(&url, 0, b"ok").await.status(), 204);
    let wrong = sha256_header(b"something else");
    let resp = patch_with(&url, 2, &data, &[("Upload-Checksum", &wrong)]).await;
    assert_eq!(resp.status(), 460);
    assert!(offset_is(&url, 2).await);
    assert_eq!(
        std::fs::read(server.upload_path(&url).unwrap()).unwrap(),
        b"ok",
        "the file too"
    );
}

#[tokio::test]
async fn a_body_cut_short_keeps_the_bytes_that_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let data = noise(2 * MIB + 100, 13);
    let url = upload_of(&server, &data.len().to_string()).await;
    let sent = MIB + 50;
    let mut req = RawRequest::patch(
        server.address(),
        &path_of(&url),
        0,
        Some(data.len() as u64),
        &[],
    )
    .await;
    req.send(&data[..sent]).await;
    req.cut();
    wait_until(
        "the bytes that arrived committed",
        Duration::from_secs(10),
        || offset_is(&url, sent as u64),
    )
    .await;
    assert_eq!(server.upload_bytes(&url).unwrap(), &data[..sent]);
    // The upload is free again: the client resumes from the server's offset.
    assert_eq!(patch(&url, sent as u64, &data[sent..]).await.status(), 204);
    assert_eq!(server.upload_bytes(&url).unwrap(), data);
}

#[tokio::test]
async fn a_body_cut_short_with_a_checksum_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let data = noise(3000, 14);
    let url = upload_of(&server, "3000").await;
    assert_eq!(patch(&url, 0, &data[..1000]).await.status(), 204);
    let checksum = sha256_header(&data[1000..]);
    let mut req = RawRequest::patch(
        server.address(),
        &path_of(&url),
        1000,
        Some(2000),
        &[("Upload-Checksum", &checksum)],
    )
    .await;
    req.send(&data[1000..1500]).await;
    req.cut();
    // The upload is free once the cut request is done with: a PATCH is then answered.
    wait_until(
        "the cut request done with",
        Duration::from_secs(10),
        || async { patch(&url, 1000, b"").await.status() == 204 },
    )
    .await;
    assert!(offset_is(&url, 1000).await);
    assert_eq!(
        std::fs::read(server.upload_path(&url).unwrap()).unwrap(),
        &data[..1000]
    );
}

#[tokio::test]
async fn a_quiet_body_is_cut_after_the_idle_timeout_and_keeps_what_came() {
    let dir = tempfile::tempdir().unwrap();
    let server = StreamingTusServer::builder(dir.path())
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let url = upload_of(&server, "10").await;
    let mut req = RawRequest::patch(server.address(), &path_of(&url), 0, Some(10), &[]).await;
    req.send(b"abcd").await;
    // No more bytes: the server gives up on the body and answers 408.
    assert_eq!(req.status().await, 408);
    assert!(offset_is(&url, 4).await);
    assert_eq!(patch(&url, 4, b"efghij").await.status(), 204);
    assert_eq!(server.upload_bytes(&url).unwrap(), b"abcdefghij");
}

#[tokio::test]
async fn a_chunked_body_past_the_length_is_413_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let url = upload_of(&server, &(MIB + 10).to_string()).await;
    let mut req = RawRequest::patch(server.address(), &path_of(&url), 0, None, &[]).await;
    req.send(&noise(MIB, 15)).await;
    req.send(&noise(MIB, 16)).await;
    assert_eq!(req.finish().await, 413);
    assert!(offset_is(&url, 0).await);
    assert_eq!(
        std::fs::metadata(server.upload_path(&url).unwrap())
            .unwrap()
            .len(),
        0
    );
    // A chunked body within the length is fine.
    let data = noise(MIB + 10, 17);
    let mut req = RawRequest::patch(server.address(), &path_of(&url), 0, None, &[]).await;
    for piece in data.chunks(100_000) {
        req.send(piece).await;
    }
    assert_eq!(req.finish().await, 204);
    assert_eq!(server.upload_bytes(&url).unwrap(), data);
}

/// The answers to a repeated `Idempotency-Key` store nothing of the repeat's body, but read it
/// first: answered with its body unread, the connection is closed with bytes unread, which
/// resets it, and a proxy between (here a `FaultProxy` without faults, with the server's
/// address in `Host`) passes the reset on before the answer: the client sees a broken
/// connection instead of the answer it is to act on.
#[tokio::test]
async fn the_answer_to_a_repeated_key_comes_after_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let proxy = FaultProxy::start(server.address()).await.unwrap();
    let endpoint = proxy.url_for(&server.endpoint());
    let host = server.address().to_string();
    let first_chunk = noise(8 * MIB, 14);
    let key = ("Idempotency-Key", "large-first-chunk");
    let length = (16 * MIB).to_string();
    let ask = [
        ("Upload-Length", length.as_str()),
        key,
        ("Host", host.as_str()),
    ];
    let resp = post_to(&endpoint, &ask, Some(&first_chunk)).await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();
    for _ in 0..3 {
        let again = post_to(&endpoint, &ask, Some(&first_chunk)).await;
        assert_eq!(again.status(), 201);
        assert_header(&again, "location", &url);
        assert_header(&again, "upload-offset", &(8 * MIB).to_string());
    }
    let other_length = (16 * MIB + 1).to_string();
    let other = [
        ("Upload-Length", other_length.as_str()),
        key,
        ("Host", host.as_str()),
    ];
    let changed = post_to(&endpoint, &other, Some(&first_chunk)).await;
    assert_eq!(changed.status(), 422);
    assert_eq!(server.upload_bytes(&url).unwrap(), first_chunk);
    assert_eq!(server.uploads().len(), 1);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_progress_finish() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let url = upload_of(&server, "6").await;
    let mut req = RawRequest::patch(server.address(), &path_of(&url), 0, Some(6), &[]).await;
    req.send(b"abc").await;
    let address = server.address();
    let stopping = tokio::spawn(server.shutdown());
    wait_until(
        "the listener closed",
        Duration::from_secs(10),
        || async move { tokio::net::TcpStream::connect(address).await.is_err() },
    )
    .await;
    req.send(b"def").await;
    assert_eq!(req.status().await, 204);
    stopping.await.unwrap();
    let server = start(dir.path()).await;
    assert_eq!(server.upload(&url).unwrap().offset, 6);
}
