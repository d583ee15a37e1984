//! One request writes an upload at a time: a second `PATCH` (or a `DELETE`) while one is in
//! progress gets 423 at once; `HEAD` still answers, with the offset of the last finished
//! request.

use std::time::Duration;

use super::raw::RawRequest;
use super::start;
use crate::support::*;

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_second_patch_while_one_is_in_progress_is_423() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let data = noise(3 * MIB, 3);
    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", &data.len().to_string())],
        None,
    )
    .await;
    let url = header(&resp, "location").unwrap();
    // More than the server's buffers, so that some of it reaches the file: then the first
    // PATCH is surely in progress.
    let mut first = RawRequest::patch_in_progress(&server, &url, &data, 2 * MIB, MIB as u64).await;

    let second = patch(&url, 0, b"abc").await;
    assert_eq!(second.status(), 423);
    assert_eq!(delete(&url).await.status(), 423);
    let resp = head(&url).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-offset", "0");

    first.send(&data[2 * MIB..]).await;
    assert_eq!(first.status().await, 204);
    assert_eq!(server.upload_bytes(&url).unwrap(), data);
    // Free again.
    assert_eq!(delete(&url).await.status(), 204);
}

#[tokio::test]
async fn a_repeated_idempotency_key_while_the_first_body_arrives_is_409() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let key = ("Idempotency-Key", "k-409");
    let headers = [("Upload-Length", "6"), ("Content-Type", OFFSET_STREAM), key];
    let host = format!("127.0.0.1:{}", server.address().port());
    let mut first = RawRequest::start(
        server.address(),
        "POST",
        "/files/",
        &host,
        &headers,
        Some(6),
    )
    .await;
    first.send(b"abc").await;
    // The new upload's file is made once its id and key are reserved, before its body is read.
    let dir_path = dir.path().to_path_buf();
    wait_until("the first creation's file", Duration::from_secs(10), || {
        let dir_path = dir_path.clone();
        async move {
            std::fs::read_dir(&dir_path)
                .unwrap()
                .any(|e| !e.unwrap().file_name().to_string_lossy().contains('.'))
        }
    })
    .await;
    let endpoint = server.endpoint();
    let repeat_headers = [("Upload-Length", "6"), key];
    let repeat = || post_to(&endpoint, &repeat_headers, None);
    assert_eq!(repeat().await.status(), 409);
    assert!(server.uploads().is_empty(), "nothing created yet");
    first.send(b"def").await;
    assert_eq!(first.status().await, 201);
    let again = repeat().await;
    assert_eq!(again.status(), 201);
    let url = header(&again, "location").unwrap();
    assert_eq!(server.upload_bytes(&url).unwrap(), b"abcdef");
    assert_eq!(server.uploads().len(), 1);
}
