//! PATCH: appending bytes.

use tusky_mock_server::TusMockServer;

use crate::support::*;

#[tokio::test]
async fn patches_append_bytes_exactly() {
    let (server, url) = server_with_upload(256).await;
    let all: Vec<u8> = (0..=255u8).collect();
    let mut offset = 0;
    for chunk in all.chunks(100) {
        let resp = patch(&url, offset, chunk).await;
        assert_eq!(resp.status(), 204);
        offset += chunk.len() as u64;
        assert_header(&resp, "upload-offset", &offset.to_string());
    }
    assert_holds(&server, &url, &all);
    assert!(server.upload(&url).unwrap().is_complete());
}

#[tokio::test]
async fn an_empty_patch_is_fine_and_moves_nothing() {
    let (_server, url) = server_with_upload(3).await;
    let resp = patch(&url, 0, b"").await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "upload-offset", "0");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (server, url) = server_with_upload(5).await;
    let with_type = |ct: Option<&'static str>| {
        let mut rb = tus(http().patch(&url))
            .header("Upload-Offset", "0")
            .body("hello");
        if let Some(ct) = ct {
            rb = rb.header("Content-Type", ct);
        }
        rb.send()
    };
    assert_eq!(with_type(None).await.unwrap().status(), 415);
    assert_eq!(
        with_type(Some("application/octet-stream"))
            .await
            .unwrap()
            .status(),
        415
    );
    assert_holds(&server, &url, b"");
    // Case and parameters do not matter.
    assert_eq!(
        with_type(Some("Application/Offset+Octet-Stream; x=y"))
            .await
            .unwrap()
            .status(),
        204
    );
}

#[tokio::test]
async fn offset_mismatch_is_409_with_the_right_offset() {
    let (server, url) = server_with_upload(10).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    for wrong in [0, 2, 4, 10] {
        let resp = patch(&url, wrong, b"def").await;
        assert_eq!(resp.status(), 409, "offset {wrong}");
        assert_header(&resp, "upload-offset", "3");
    }
    assert_holds(&server, &url, b"abc");
}

#[tokio::test]
async fn missing_or_bad_upload_offset_is_400() {
    let (server, url) = server_with_upload(10).await;
    let resp = tus(http().patch(&url))
        .header("Content-Type", OFFSET_STREAM)
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    for bad in ["-1", "x", "1e3", ""] {
        let resp = tus(http().patch(&url))
            .header("Content-Type", OFFSET_STREAM)
            .header("Upload-Offset", bad)
            .body("abc")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "Upload-Offset: {bad:?}");
    }
    assert_eq!(offset(&server, &url), 0);
}

#[tokio::test]
async fn a_body_past_the_length_is_413_and_stores_nothing() {
    let (server, url) = server_with_upload(5).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    assert_eq!(patch(&url, 3, b"def").await.status(), 413);
    assert_holds(&server, &url, b"abc");
    assert_eq!(patch(&url, 3, b"de").await.status(), 204);
    assert_holds(&server, &url, b"abcde");
}

/// A PATCH of two bytes at offset 0 with `headers` is refused (400) and stores nothing.
async fn assert_patch_refused(server: &TusMockServer, url: &str, headers: &[(&str, &str)]) {
    let resp = patch_with(url, 0, b"ab", headers).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(offset(server, url), 0);
}

#[tokio::test]
async fn changing_a_known_length_is_400() {
    let (server, url) = server_with_upload(5).await;
    assert_patch_refused(&server, &url, &[("Upload-Length", "6")]).await;
    // The same length again is harmless.
    let resp = patch_with(&url, 0, b"ab", &[("Upload-Length", "5")]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(server.upload(&url).unwrap().length, Some(5));
}

#[tokio::test]
async fn patch_on_an_unknown_upload_is_404() {
    let server = TusMockServer::start().await;
    let resp = patch(&format!("{}does-not-exist", server.endpoint()), 0, b"x").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(header(&resp, "upload-offset"), None);
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn repeated_headers_are_400() {
    let (server, url) = server_with_upload(5).await;
    // reqwest's `header` appends: two Upload-Offset values.
    assert_patch_refused(&server, &url, &[("Upload-Offset", "0")]).await;
}
