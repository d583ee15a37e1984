//! The creation POST: its `Location`, absolute or relative; created by `upload_chunk()` when
//! needed; an empty file; a non-201 answer (parity 8, 15, 18, 29).

use std::io::Cursor;

use tusky::error::Operation;
use tusky::mock::TusMockServer;
use tusky::{Client, Error};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use super::{endpoint_of, error_without_retries};
use crate::common::{
    data, header, patch_upload_of, server_and_client, server_and_client_with, stored, temp_file,
    tus_response, tus_sequence, upload_of, with_method,
};

/// parity 8: an absolute `Location` is used as is, even on another host.
#[tokio::test]
async fn an_absolute_location_is_used_as_is() {
    let creator = MockServer::start().await;
    let storage = MockServer::start().await;
    let elsewhere = format!("{}/elsewhere/u8", storage.uri());
    Mock::given(method("POST"))
        .and(path("/files/"))
        .respond_with(tus_response(201).insert_header("Location", elsewhere.as_str()))
        .mount(&creator)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/elsewhere/u8"))
        .respond_with(tus_response(204).insert_header("Upload-Offset", "5"))
        .expect(1)
        .mount(&storage)
        .await;
    let client = Client::new(endpoint_of(&creator)).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(b"hello".to_vec()))
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.url.as_str(), elsewhere);
    let patches = storage.received_requests().await.unwrap();
    assert_eq!(patches[0].body, b"hello");
    assert!(with_method(&creator.received_requests().await.unwrap(), "PATCH").is_empty());
}

/// parity 8: a relative `Location` is resolved against the endpoint.
#[tokio::test]
async fn a_relative_location_is_resolved_against_the_endpoint() {
    // `/files/{id}` from the tus mock
    let (server, client) =
        server_and_client_with(TusMockServer::builder().relative_locations(true)).await;
    let bytes = data(100);
    let mut uploader = upload_of(&client, &bytes, 40).build().unwrap();
    let summary = uploader.upload().await.unwrap();
    let id = &server.uploads()[0].id;
    assert_eq!(summary.url.as_str(), format!("{}{id}", server.endpoint()));
    assert_eq!(stored(&server, &summary.url), bytes);

    // a bare relative reference, `sub/u8`, resolves under the endpoint's path
    let plain = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tus_response(201).insert_header("Location", "sub/u8"))
        .mount(&plain)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/sub/u8"))
        .respond_with(tus_response(204).insert_header("Upload-Offset", "3"))
        .expect(1)
        .mount(&plain)
        .await;
    let client = Client::new(endpoint_of(&plain)).unwrap();
    let summary = client
        .uploader()
        .reader(Cursor::new(b"abc".to_vec()))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    assert_eq!(
        summary.url.as_str(),
        format!("{}/files/sub/u8", plain.uri())
    );
    plain.verify().await;
}

/// parity 15
#[tokio::test]
async fn upload_chunk_without_a_url_creates_the_upload_first() {
    let (server, client) = server_and_client().await;
    let bytes = data(25);
    let mut uploader = patch_upload_of(&client, &bytes, 10).build().unwrap();
    assert!(uploader.url().is_none());
    assert_eq!(uploader.upload_chunk().await.unwrap(), 10);
    let url = uploader.url().expect("created").clone();
    let id = url.path().to_owned();
    assert_eq!(
        tus_sequence(&server.received_requests().await),
        ["POST /files/".to_owned(), format!("PATCH {id}")]
    );
    assert_eq!(server.upload_bytes(url.as_str()).unwrap(), &bytes[..10]);
}

/// parity 18
#[tokio::test]
async fn an_empty_file_is_one_post_with_length_zero_and_no_patch() {
    let (_dir, file) = temp_file(b"");
    for from_path in [true, false] {
        let (server, client) = server_and_client().await;
        let builder = client.uploader();
        let builder = if from_path {
            builder.path(&file)
        } else {
            builder.reader(Cursor::new(Vec::new()))
        };
        let summary = builder.build().unwrap().upload().await.unwrap();
        assert_eq!(summary.offset, 0);
        let requests = server.received_requests().await;
        let posts = with_method(&requests, "POST");
        assert_eq!(posts.len(), 1);
        assert_eq!(header(posts[0], "upload-length").as_deref(), Some("0"));
        assert!(posts[0].body.is_empty());
        assert!(
            with_method(&requests, "PATCH").is_empty(),
            "path: {from_path}"
        );
        let upload = server.upload(summary.url.as_str()).unwrap();
        assert_eq!(upload.length, Some(0));
        assert!(upload.is_complete());
    }
}

/// parity 29
#[tokio::test]
async fn a_non_201_answer_to_post_is_an_error_even_with_a_location() {
    for status in [200u16, 202, 204, 500] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                tus_response(status)
                    .insert_header("Location", "/files/should-not-be-used")
                    .insert_header("Upload-Offset", "0"),
            )
            .mount(&server)
            .await;
        let client = Client::new(endpoint_of(&server)).unwrap();
        let (uploader, error) = error_without_retries(&client).await;
        assert!(matches!(error, Error::Status { .. }), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(error.context().unwrap().operation, Operation::Create);
        assert!(
            uploader.url().is_none(),
            "{status}: the Location was not taken"
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(tus_sequence(&requests), ["POST /files/"], "{status}");
    }
}
