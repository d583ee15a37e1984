//! Creation and creation-with-upload.

use tusky_mock_server::{TusMockServer, UploadConcat};

use crate::support::*;

#[tokio::test]
async fn post_creates_an_upload_with_an_absolute_location() {
    let server = TusMockServer::start().await;
    let resp = post(&server, &[("Upload-Length", "11")]).await;
    assert_eq!(resp.status(), 201);
    assert_header(&resp, "tus-resumable", "1.0.0");
    // No body was sent: no Upload-Offset.
    assert_eq!(header(&resp, "upload-offset"), None);
    let location = header(&resp, "location").unwrap();
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    let u = &uploads[0];
    assert_eq!(location, format!("{}{}", server.endpoint(), u.id));
    assert_eq!(u.url, location);
    assert_eq!(u.length, Some(11));
    assert_eq!(u.offset, 0);
    assert_eq!(u.concat, UploadConcat::None);
    assert!(!u.terminated && !u.expired && u.expires.is_none());
    assert_holds(&server, &location, b"");
    // Ids are distinct.
    let second = create(&server, 1).await;
    assert_ne!(second, location);
}

#[tokio::test]
async fn relative_locations_when_asked() {
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let resp = post(&server, &[("Upload-Length", "1")]).await;
    let location = header(&resp, "location").unwrap();
    assert!(location.starts_with("/files/"), "{location}");
    assert_eq!(server.upload(&location).unwrap().length, Some(1));
}

#[tokio::test]
async fn upload_length_is_required_and_must_be_a_non_negative_integer() {
    let server = TusMockServer::start().await;
    for bad in [
        "-1",
        "abc",
        "1.5",
        "+3",
        "",
        "0x10",
        "99999999999999999999999",
    ] {
        let resp = post(&server, &[("Upload-Length", bad)]).await;
        assert_eq!(resp.status(), 400, "Upload-Length: {bad:?}");
    }
    assert_eq!(post(&server, &[]).await.status(), 400);
    let resp = post(
        &server,
        &[("Upload-Length", "5"), ("Upload-Defer-Length", "1")],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(server.uploads().is_empty());
    // The largest u64 is fine without a maximum size.
    let resp = post(&server, &[("Upload-Length", &u64::MAX.to_string())]).await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn zero_length_upload_is_complete_at_once() {
    let (server, url) = server_with_upload(0).await;
    let u = server.upload(&url).unwrap();
    assert!(u.is_complete());
    let resp = head(&url).await;
    assert_header(&resp, "upload-offset", "0");
    assert_header(&resp, "upload-length", "0");
}

#[tokio::test]
async fn over_max_size_is_413_and_creates_nothing() {
    let server = TusMockServer::builder().max_size(10).start().await;
    assert_eq!(
        post(&server, &[("Upload-Length", "11")]).await.status(),
        413
    );
    assert!(server.uploads().is_empty());
    assert_eq!(
        post(&server, &[("Upload-Length", "10")]).await.status(),
        201
    );
}

#[tokio::test]
async fn metadata_is_decoded_in_order() {
    let server = TusMockServer::start().await;
    // "filename" -> "report.pdf", "empty" with an empty value, "is_confidential"
    // without one (a trailing space would not survive HTTP, hence this order).
    let resp = post(
        &server,
        &[
            ("Upload-Length", "1"),
            (
                "Upload-Metadata",
                "filename cmVwb3J0LnBkZg==,empty ,is_confidential",
            ),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let u = &server.uploads()[0];
    assert_eq!(
        u.metadata,
        vec![
            ("filename".to_owned(), Some("report.pdf".to_owned())),
            ("empty".to_owned(), Some(String::new())),
            ("is_confidential".to_owned(), None),
        ]
    );
    assert_eq!(u.metadata_value("filename"), Some("report.pdf"));
    assert_eq!(u.metadata_value("is_confidential"), Some(""));
    assert_eq!(u.metadata_value("missing"), None);
    assert_eq!(
        u.metadata_header.as_deref(),
        Some("filename cmVwb3J0LnBkZg==,empty ,is_confidential")
    );
}

#[tokio::test]
async fn bad_metadata_is_400_and_creates_nothing() {
    let server = TusMockServer::start().await;
    for bad in [
        "a YQ==,a Yg==", // duplicate key
        "a not-base64!", // bad base64
        "a YQ",          // unpadded
        "a YQ==,",       // empty pair
        ",a YQ==",       // empty key
        "a YQ== Yg==",   // two values
    ] {
        let resp = post(&server, &[("Upload-Length", "1"), ("Upload-Metadata", bad)]).await;
        assert_eq!(resp.status(), 400, "Upload-Metadata: {bad:?}");
    }
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn creation_with_upload_stores_the_body_and_answers_the_offset() {
    let server = TusMockServer::start().await;
    let resp = post_with_body(&server, &[("Upload-Length", "11")], "hello").await;
    assert_eq!(resp.status(), 201);
    assert_header(&resp, "upload-offset", "5");
    let url = header(&resp, "location").unwrap();
    assert_holds(&server, &url, b"hello");
    // The rest follows with PATCH.
    let resp = patch(&url, 5, b" world").await;
    assert_eq!(resp.status(), 204);
    assert_holds(&server, &url, b"hello world");
}

#[tokio::test]
async fn creation_with_upload_body_over_the_length_is_413() {
    let server = TusMockServer::start().await;
    let resp = post_with_body(&server, &[("Upload-Length", "3")], "hello").await;
    assert_eq!(resp.status(), 413);
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn creation_with_upload_verifies_the_checksum() {
    let server = TusMockServer::start().await;
    let send = |checksum: &'static str| {
        let headers = [("Upload-Length", "11"), ("Upload-Checksum", checksum)];
        let server = &server;
        async move { post_with_body(server, &headers, "hello world").await }
    };
    let resp = send("sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=").await;
    assert_eq!(resp.status(), 460);
    let resp = send("blake3 AAAA").await;
    assert_eq!(resp.status(), 400);
    assert!(server.uploads().is_empty());
    let resp = send("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").await;
    assert_created_holding(&server, &resp, b"hello world");
}

#[tokio::test]
async fn a_post_body_of_another_content_type_is_ignored() {
    // As tusd: only an application/offset+octet-stream body is upload data.
    let server = TusMockServer::start().await;
    let resp = tus(http().post(server.endpoint()))
        .header("Upload-Length", "5")
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "upload-offset"), None);
    assert_eq!(server.uploads()[0].offset, 0);
}
