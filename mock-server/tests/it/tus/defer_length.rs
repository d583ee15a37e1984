//! creation-defer-length.

use tusky_mock_server::TusMockServer;

use crate::support::*;

async fn create_deferred(server: &TusMockServer) -> String {
    let resp = post(server, &[("Upload-Defer-Length", "1")]).await;
    assert_eq!(resp.status(), 201);
    header(&resp, "location").unwrap()
}

#[tokio::test]
async fn deferred_length_is_set_by_a_later_patch() {
    let server = TusMockServer::start().await;
    let url = create_deferred(&server).await;
    assert_eq!(server.upload(&url).unwrap().length, None);

    let resp = head(&url).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-defer-length", "1");
    assert_eq!(header(&resp, "upload-length"), None);

    assert_eq!(patch(&url, 0, b"hello").await.status(), 204);
    let resp = patch_with(&url, 5, b" world", &[("Upload-Length", "11")]).await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "upload-offset", "11");

    let u = server.upload(&url).unwrap();
    assert_eq!(u.length, Some(11));
    assert!(u.is_complete());
    assert_holds(&server, &url, b"hello world");
    let resp = head(&url).await;
    assert_header(&resp, "upload-length", "11");
    assert_eq!(header(&resp, "upload-defer-length"), None);
}

#[tokio::test]
async fn the_length_can_be_announced_before_the_last_bytes() {
    let server = TusMockServer::start().await;
    let url = create_deferred(&server).await;
    let resp = patch_with(&url, 0, b"ab", &[("Upload-Length", "4")]).await;
    assert_eq!(resp.status(), 204);
    // Repeating the same value is fine; a different one is not.
    assert_eq!(
        patch_with(&url, 2, b"c", &[("Upload-Length", "4")])
            .await
            .status(),
        204
    );
    let resp = patch_with(&url, 3, b"d", &[("Upload-Length", "5")]).await;
    assert_eq!(resp.status(), 400);
    assert_holds(&server, &url, b"abc");
    // Past the announced length: 413, nothing stored.
    assert_eq!(patch(&url, 3, b"de").await.status(), 413);
    assert_eq!(patch(&url, 3, b"d").await.status(), 204);
    assert_holds(&server, &url, b"abcd");
}

#[tokio::test]
async fn a_length_below_offset_plus_body_is_400() {
    let server = TusMockServer::start().await;
    let url = create_deferred(&server).await;
    assert_eq!(patch(&url, 0, b"hello").await.status(), 204);
    let resp = patch_with(&url, 5, b"!!", &[("Upload-Length", "6")]).await;
    assert_eq!(resp.status(), 400);
    let u = server.upload(&url).unwrap();
    assert_eq!((u.length, u.offset), (None, 5));
}

#[tokio::test]
async fn defer_length_must_be_1() {
    let server = TusMockServer::start().await;
    for bad in ["0", "2", "yes", ""] {
        let resp = post(&server, &[("Upload-Defer-Length", bad)]).await;
        assert_eq!(resp.status(), 400, "Upload-Defer-Length: {bad:?}");
    }
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn deferred_uploads_cannot_grow_past_max_size() {
    let server = TusMockServer::builder().max_size(4).start().await;
    let url = create_deferred(&server).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    assert_eq!(patch(&url, 3, b"de").await.status(), 413);
    assert_eq!(
        patch_with(&url, 3, b"", &[("Upload-Length", "5")])
            .await
            .status(),
        413
    );
    assert_holds(&server, &url, b"abc");
    assert_eq!(server.upload(&url).unwrap().length, None);
}
