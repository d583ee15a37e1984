//! One request writes an upload at a time: a second `PATCH` (or a `DELETE`) while one is in
//! progress gets 423 at once; `HEAD` still answers, with the offset of the last finished
//! request.

use std::time::Duration;

use super::raw::{path_of, RawRequest};
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
    let path = server.upload_path(&url).unwrap();

    let mut first = RawRequest::patch(
        server.address(),
        &path_of(&url),
        0,
        Some(data.len() as u64),
        &[],
    )
    .await;
    // More than the server's buffer, so that some of it reaches the file: then the first
    // PATCH is surely in progress.
    first.send(&data[..2 * MIB]).await;
    wait_until("the first PATCH writing", Duration::from_secs(10), || {
        let path = path.clone();
        async move { std::fs::metadata(&path).is_ok_and(|m| m.len() >= MIB as u64) }
    })
    .await;

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
