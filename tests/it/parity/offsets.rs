//! Offsets and request lengths: HEAD's offset, the length of each PATCH, what
//! `upload_chunk()`, `upload_until()` and `upload()` move the offset to (parity 5, 11, 14, 16,
//! 21, 22).

use std::io::Cursor;

use tusky::Client;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer};

use super::{endpoint_of, mount_create};
use crate::common::{
    data, data_file, header, patch_shape, patch_upload_of, server_and_client, stored, tus_response,
    upload_exactly, upload_of, with_method,
};

/// parity 5
#[tokio::test]
async fn head_upload_offset_300_gives_offset_300() {
    for status in [200, 204] {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .and(path("/files/u5"))
            .respond_with(
                tus_response(status)
                    .insert_header("Upload-Offset", "300")
                    .insert_header("Upload-Length", "1000"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = Client::new(endpoint_of(&server)).unwrap();
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(data(1000)))
            .url(format!("{}/files/u5", server.uri()))
            .build()
            .unwrap();
        assert_eq!(
            uploader.get_offset().await.unwrap(),
            300,
            "HEAD answered {status}"
        );
        assert_eq!(uploader.offset(), 300);
        server.verify().await;
    }
}

/// parity 11
#[tokio::test]
async fn request_length_is_the_least_of_chunk_size_remaining_and_stop_at() {
    let (server, client) = server_and_client().await;
    let bytes = data(9);
    let mut uploader = patch_upload_of(&client, &bytes, 4).build().unwrap();
    assert_eq!(uploader.upload_until(6).await.unwrap().offset, 6); // 4, then stop_at - offset = 2
    let summary = uploader.upload().await.unwrap(); // remaining = 3 < chunk size
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 4), (4, 2), (6, 3)]
    );
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 14
#[tokio::test]
async fn upload_chunk_moves_the_offset_by_what_the_server_acknowledged() {
    let (server, client) = server_and_client().await;
    server.accept_partial_patch(1, 3);
    let bytes = data(25);
    let mut uploader = patch_upload_of(&client, &bytes, 10).build().unwrap();
    assert_eq!(
        uploader.upload_chunk().await.unwrap(),
        3,
        "10 sent, 3 taken"
    );
    assert_eq!(uploader.offset(), 3);
    let url = uploader.url().unwrap().to_string();
    assert_eq!(server.upload(&url).unwrap().offset, 3);
    assert_eq!(uploader.upload_chunk().await.unwrap(), 13);
    assert_eq!(server.upload_bytes(&url).unwrap(), &bytes[..13]);
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 10), (3, 10)]
    );
}

/// parity 16
#[tokio::test]
async fn upload_ends_at_the_file_size_with_exactly_the_files_bytes_on_the_server() {
    let (server, client) = server_and_client().await;
    let (bytes, _dir, file) = data_file(5000);
    let (uploader, summary) = upload_exactly(
        &server,
        client.uploader().path(&file).chunk_size(1024),
        &bytes,
    )
    .await;
    assert_eq!(summary.offset, 5000);
    assert_eq!(uploader.offset(), 5000);
    assert_eq!(summary.bytes_uploaded, 5000);
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert!(upload.is_complete());
}

/// parity 21
#[tokio::test]
async fn ten_bytes_in_chunks_of_three_are_patches_at_0_3_6_9() {
    let server = MockServer::start().await;
    mount_create(&server, "u21").await;
    for (offset, next) in [(0, 3), (3, 6), (6, 9), (9, 10)] {
        Mock::given(method("PATCH"))
            .and(path("/files/u21"))
            .and(header_is("upload-offset", offset.to_string().as_str()))
            .respond_with(
                tus_response(204).insert_header("Upload-Offset", next.to_string().as_str()),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = Client::new(endpoint_of(&server)).unwrap();
    let bytes = b"0123456789".to_vec();
    let summary = upload_of(&client, &bytes, 3)
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    assert_eq!(summary.offset, 10);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(patch_shape(&requests), [(0, 3), (3, 3), (6, 3), (9, 1)]);
    let bodies: Vec<&[u8]> = with_method(&requests, "PATCH")
        .iter()
        .map(|r| r.body.as_slice())
        .collect();
    assert_eq!(bodies, [&b"012"[..], b"345", b"678", b"9"]);
    for r in with_method(&requests, "PATCH") {
        assert_eq!(
            header(r, "content-type").as_deref(),
            Some("application/offset+octet-stream")
        );
    }
    server.verify().await;
}

/// parity 22
#[tokio::test]
async fn upload_until_6_with_chunks_of_4_sends_4_then_2_and_stops() {
    let (server, client) = server_and_client().await;
    let bytes = data(10);
    let mut uploader = patch_upload_of(&client, &bytes, 4).build().unwrap();
    let summary = uploader.upload_until(6).await.unwrap();
    assert_eq!(summary.offset, 6);
    assert_eq!(uploader.offset(), 6);
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 4), (4, 2)]
    );
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(upload.offset, 6);
    assert!(!upload.is_complete());
    assert_eq!(stored(&server, &summary.url), &bytes[..6]);
}
