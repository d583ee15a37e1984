//! Uploads survive a restart on the same directory.

use std::path::Path;
use std::time::Duration;

use tusky_mock_server::StreamingTusServer;

use super::raw::RawRequest;
use super::{start, start_on};
use crate::support::*;

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn an_upload_half_done_before_a_restart_finishes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = noise(3 * 1024 * 1024 + 17, 7);
    let half = data.len() / 2;
    let server = start(dir.path()).await;
    let port = server.address().port();
    let resp = post_to(
        &server.endpoint(),
        &[
            ("Upload-Length", &data.len().to_string()),
            ("Upload-Metadata", "filename YS5iaW4="),
            ("Idempotency-Key", "k"),
        ],
        Some(&data[..1000]),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();
    assert_eq!(patch(&url, 1000, &data[1000..half]).await.status(), 204);
    server.shutdown().await;
    assert!(head_fails(&url).await, "stopped");

    let server = StreamingTusServer::builder(dir.path())
        .port(port)
        .start()
        .await
        .unwrap();
    let resp = head(&url).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-offset", &half.to_string());
    assert_header(&resp, "upload-length", &data.len().to_string());
    assert_header(&resp, "upload-metadata", "filename YS5iaW4=");
    // The key is remembered too.
    let again = post_to(
        &server.endpoint(),
        &[
            ("Upload-Length", &data.len().to_string()),
            ("Idempotency-Key", "k"),
        ],
        None,
    )
    .await;
    assert_header(&again, "location", &url);
    assert_eq!(patch(&url, half as u64, &data[half..]).await.status(), 204);

    let path = server.upload_path(&url).unwrap();
    assert_eq!(path.parent(), Some(dir.path()));
    assert_eq!(std::fs::read(&path).unwrap(), data, "the bytes on disk");
    let upload = server.upload(&url).unwrap();
    assert!(upload.is_complete());
    assert_eq!(upload.metadata_value("filename"), Some("a.bin"));
}

#[tokio::test]
async fn bytes_past_the_saved_offset_are_dropped_at_start() {
    // A server killed while a body was arriving leaves bytes its info does not count.
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let url = header(
        &post_to(
            &server.endpoint(),
            &[("Upload-Length", "10")],
            Some(b"abcd"),
        )
        .await,
        "location",
    )
    .unwrap();
    let path = server.upload_path(&url).unwrap();
    let id = server.upload(&url).unwrap().id;
    drop(server);
    std::fs::write(&path, b"abcdXYZ").unwrap();

    let server = start(dir.path()).await;
    assert_eq!(server.upload(&id).unwrap().offset, 4);
    assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
}

#[tokio::test]
async fn a_save_torn_by_a_kill_leaves_the_info_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let resp = post_to(&server.endpoint(), &[("Upload-Length", "9")], None).await;
    let url = header(&resp, "location").unwrap();
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    assert_eq!(patch(&url, 3, b"def").await.status(), 204);
    let id = server.upload(&url).unwrap().id;
    let path = server.upload_path(&url).unwrap();
    let port = server.address().port();
    server.shutdown().await;
    tear_the_last_save(&dir.path().join(format!("{id}.info")));

    let server = start_on(dir.path(), port).await;
    let upload = server.upload(&id).expect("the upload is read back");
    assert_eq!(upload.offset, 3, "the save before");
    assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    // And it goes on from there.
    assert_eq!(patch(&url, 3, b"DEF").await.status(), 204);
    server.shutdown().await;
    let server = start_on(dir.path(), port).await;
    assert_eq!(server.upload_bytes(&id).unwrap(), b"abcDEF");
}

/// Damages the `.info` slot with the highest `seq` (the last save) in its JSON, as a process
/// killed while writing it would leave it.
fn tear_the_last_save(info: &Path) {
    let mut bytes = std::fs::read(info).unwrap();
    let half = bytes.len() / 2;
    // `tusky-upload-info 2 seq <seq> …`; none in a slot never written.
    let seq = |slot: &[u8]| -> Option<u64> {
        let header = std::str::from_utf8(&slot[..75]).ok()?;
        header
            .strip_prefix("tusky-upload-info 2 seq ")?
            .split(' ')
            .next()?
            .parse()
            .ok()
    };
    let last = if seq(&bytes[half..]) > seq(&bytes[..half]) {
        half
    } else {
        0
    };
    bytes[last + 80] ^= 0x55;
    std::fs::write(info, bytes).unwrap();
}

#[tokio::test]
async fn a_request_stopped_by_shutdown_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = StreamingTusServer::builder(dir.path())
        .shutdown_grace(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let data = noise(3 * MIB, 5);
    let length = data.len().to_string();
    let resp = post_to(&server.endpoint(), &[("Upload-Length", &length)], None).await;
    let url = header(&resp, "location").unwrap();
    let path = server.upload_path(&url).unwrap();
    let req = RawRequest::patch_in_progress(&server, &url, &data, 2 * MIB, MIB as u64).await;
    // The grace period is over at once: the request is dropped with its body half sent.
    server.shutdown().await;

    let server = start(dir.path()).await;
    assert_eq!(server.upload(&url).unwrap().offset, 0, "nothing saved");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "bytes past it dropped"
    );
    drop(req);
}

async fn head_fails(url: &str) -> bool {
    tus(http().head(url)).send().await.is_err()
}
