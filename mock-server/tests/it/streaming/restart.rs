//! Uploads survive a restart on the same directory.

use tusky_mock_server::StreamingTusServer;

use super::start;
use crate::support::*;

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

async fn head_fails(url: &str) -> bool {
    tus(http().head(url)).send().await.is_err()
}
