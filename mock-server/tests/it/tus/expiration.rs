//! The expiration extension.

use std::time::{Duration, SystemTime};

use tusky_mock_server::{Extension, TusMockServer};

use crate::support::*;

fn expires(resp: &reqwest::Response) -> SystemTime {
    let value = header(resp, "upload-expires").expect("Upload-Expires");
    httpdate::parse_http_date(&value).expect("an HTTP date")
}

/// A mock server whose uploads expire `after` their creation.
async fn expiring_server(after: Duration) -> TusMockServer {
    TusMockServer::builder().expires_after(after).start().await
}

#[tokio::test]
async fn post_patch_and_head_carry_upload_expires() {
    let server = expiring_server(Duration::from_secs(3600)).await;
    let before = SystemTime::now();
    let resp = post(&server, &[("Upload-Length", "10")]).await;
    assert_eq!(resp.status(), 201);
    let at = expires(&resp);
    // HTTP dates have whole seconds.
    assert!(at >= before + Duration::from_secs(3599));
    assert!(at <= SystemTime::now() + Duration::from_secs(3600));
    let url = header(&resp, "location").unwrap();

    let resp = patch(&url, 0, b"abc").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(expires(&resp), at);
    assert_eq!(expires(&head(&url).await), at);
    let snap = server.upload(&url).unwrap();
    assert!(snap.expires.is_some() && !snap.expired);

    // A finished upload no longer expires: no header on the last PATCH.
    let resp = patch(&url, 3, b"defghij").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "upload-expires"), None);
    assert_eq!(server.upload(&url).unwrap().expires, None);
}

#[tokio::test]
async fn expired_uploads_answer_410() {
    // A whole second, so that the PATCHes below land before it even on a loaded machine.
    let server = expiring_server(Duration::from_millis(1000)).await;
    let url = create(&server, 10).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    let finished = create(&server, 1).await;
    assert_eq!(patch(&finished, 0, b"x").await.status(), 204);

    // Expiry is the server's wall clock: wait until it says the upload expired.
    wait_until("the upload expires", Duration::from_secs(5), || async {
        server.upload(&url).unwrap().expired
    })
    .await;

    assert_gone(&url, 410).await;
    let snap = server.upload(&url).unwrap();
    assert!(snap.expired);
    // What it had is still inspectable.
    assert_holds(&server, &url, b"abc");
    // A finished upload does not expire.
    assert_eq!(head(&finished).await.status(), 200);
    assert!(!server.upload(&finished).unwrap().expired);
}

#[tokio::test]
async fn no_expiry_without_a_period_or_without_the_extension() {
    // Default: the extension is advertised, but nothing expires.
    let server = TusMockServer::start().await;
    let resp = post(&server, &[("Upload-Length", "10")]).await;
    assert_eq!(header(&resp, "upload-expires"), None);

    let server = TusMockServer::builder()
        .extensions(&[Extension::Creation])
        .expires_after(Duration::from_millis(1))
        .start()
        .await;
    let resp = post(&server, &[("Upload-Length", "10")]).await;
    assert_eq!(header(&resp, "upload-expires"), None);
    let url = header(&resp, "location").unwrap();
    assert_eq!(server.upload(&url).unwrap().expires, None);
}
