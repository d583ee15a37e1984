//! Disabled extensions behave like a server without them.

use tusky_mock_server::Extension;

use crate::support::*;

#[tokio::test]
async fn without_creation_post_is_405() {
    let server = with_extensions(&[Extension::Termination]).await;
    let resp = post(&server, &[("Upload-Length", "5")]).await;
    assert_eq!(resp.status(), 405);
    assert_header(&resp, "allow", "OPTIONS");
    assert!(server.uploads().is_empty());
    let resp = options(&server).await;
    assert_header(&resp, "tus-extension", "termination");
}

#[tokio::test]
async fn without_creation_with_upload_a_post_body_is_400() {
    let server = with_extensions(&[Extension::Creation]).await;
    let resp = post_with_body(&server, &[("Upload-Length", "5")], "hello").await;
    assert_eq!(resp.status(), 400);
    assert!(server.uploads().is_empty());
    // Without a body the same POST is fine (and answers no Upload-Offset).
    let resp = post_with_body(&server, &[("Upload-Length", "5")], "").await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "upload-offset"), None);
}

#[tokio::test]
async fn without_defer_length_upload_defer_length_is_400() {
    let server = with_extensions(&[Extension::Creation]).await;
    let resp = post(&server, &[("Upload-Defer-Length", "1")]).await;
    assert_eq!(resp.status(), 400);
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn no_extensions_at_all() {
    let server = with_extensions(&[]).await;
    let resp = options(&server).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "tus-extension"), None);
    assert_header(&resp, "tus-version", "1.0.0");
}
