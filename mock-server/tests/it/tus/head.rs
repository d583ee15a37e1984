//! HEAD on an upload URL.

use tusky_mock_server::TusMockServer;

use crate::support::*;

#[tokio::test]
async fn head_reports_offset_length_and_metadata_as_received() {
    let server = TusMockServer::start().await;
    // Odd but valid spacing must come back byte for byte.
    let metadata = "name aGk=, flag";
    let resp = post(
        &server,
        &[("Upload-Length", "10"), ("Upload-Metadata", metadata)],
    )
    .await;
    let url = header(&resp, "location").unwrap();
    assert_eq!(patch(&url, 0, b"abcd").await.status(), 204);

    let resp = head(&url).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-offset", "4");
    assert_header(&resp, "upload-length", "10");
    assert_header(&resp, "upload-metadata", metadata);
    assert_header(&resp, "cache-control", "no-store");
    assert_header(&resp, "tus-resumable", "1.0.0");
    // Not a concatenation upload, no expiry configured.
    assert_eq!(header(&resp, "upload-concat"), None);
    assert_eq!(header(&resp, "upload-expires"), None);
}

#[tokio::test]
async fn head_without_metadata_sends_no_metadata_header() {
    let (_server, url) = server_with_upload(1).await;
    let resp = head(&url).await;
    assert_eq!(header(&resp, "upload-metadata"), None);
}

#[tokio::test]
async fn head_on_an_unknown_upload_is_404_without_offset() {
    let server = TusMockServer::start().await;
    let resp = head(&format!("{}0123456789abcdef", server.endpoint())).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(header(&resp, "upload-offset"), None);
}
