//! The termination extension.

use tusky_mock_server::Extension;

use crate::support::*;

#[tokio::test]
async fn delete_terminates_and_later_requests_are_404() {
    let (server, url) = server_with_upload(10).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);

    let resp = delete(&url).await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "tus-resumable", "1.0.0");

    assert_gone(&url, 404).await;

    let u = server.upload(&url).unwrap();
    assert!(u.terminated);
    assert_eq!(server.upload_bytes(&url), None);
}

#[tokio::test]
async fn without_termination_delete_is_405() {
    let server = with_extensions(&[Extension::Creation]).await;
    let url = create(&server, 3).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    let resp = delete(&url).await;
    assert_eq!(resp.status(), 405);
    assert_header(&resp, "allow", "OPTIONS, HEAD, PATCH");
    assert!(!server.upload(&url).unwrap().terminated);
    assert_holds(&server, &url, b"abc");
    assert_eq!(head(&url).await.status(), 200);
}
