//! `Upload-Metadata`: the encoding, refused keys, UTF-8 values, and no header without
//! metadata (parity 6, 7, 23).

use std::io::Cursor;

use tusky::{Client, Error};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use super::{endpoint_of, mount_create};
use crate::common::{data, header, server_and_client, tus_response, with_method};

/// parity 6
#[tokio::test]
async fn metadata_is_sent_as_key_space_base64_pairs() {
    let (server, client) = server_and_client().await;
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("foo", "bar")
        .metadata("red", "blue")
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let posts = server.requests_by_method("POST").await;
    let sent = header(&posts[0], "upload-metadata").unwrap();
    assert_eq!(
        sent.split(',').collect::<Vec<_>>(),
        ["foo YmFy", "red Ymx1ZQ=="]
    );
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(upload.metadata_value("foo"), Some("bar"));
    assert_eq!(upload.metadata_value("red"), Some("blue"));
}

/// parity 6
#[tokio::test]
async fn bad_metadata_keys_are_rejected_before_any_request() {
    let server = MockServer::start().await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    for key in ["foo, ", "foo,", "fo o", "a,b", ""] {
        let result = client
            .uploader()
            .reader(Cursor::new(data(4)))
            .metadata(key, "x")
            .build();
        let error = result.expect_err(key);
        assert!(matches!(error, Error::Metadata(_)), "{key:?}: {error:?}");
        assert!(
            error.to_string().contains("metadata key"),
            "{key:?}: {error}"
        );
    }
    let duplicate = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("k", "1")
        .metadata("k", "2")
        .build();
    assert!(matches!(duplicate, Err(Error::Metadata(_))));
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

/// parity 7
#[tokio::test]
async fn utf8_metadata_values_are_base64_of_their_utf8_bytes() {
    let (server, client) = server_and_client().await;
    let value = "päivää ☃ 日本";
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("name", value)
        .build()
        .unwrap();
    let url = uploader.create().await.unwrap();
    let posts = server.requests_by_method("POST").await;
    // base64 of the UTF-8 bytes, computed outside tusky
    assert_eq!(
        header(&posts[0], "upload-metadata").as_deref(),
        Some("name cMOkaXbDpMOkIOKYgyDml6XmnKw=")
    );
    assert_eq!(
        server.upload(url.as_str()).unwrap().metadata_value("name"),
        Some(value)
    );
}

/// parity 23
#[tokio::test]
async fn no_metadata_means_no_upload_metadata_header_at_all() {
    let server = MockServer::start().await;
    mount_create(&server, "u23").await;
    Mock::given(method("PATCH"))
        .and(path("/files/u23"))
        .respond_with(tus_response(204).insert_header("Upload-Offset", "5"))
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    client
        .uploader()
        .reader(Cursor::new(b"hello".to_vec()))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let posts = with_method(&requests, "POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        header(posts[0], "upload-length").as_deref(),
        Some("5"),
        "the POST is the real one"
    );
    for r in &requests {
        assert!(
            !r.headers.contains_key("upload-metadata"),
            "{} {} carries Upload-Metadata",
            r.method,
            r.url
        );
    }
}
