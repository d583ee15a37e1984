//! The client and its headers, and the uploader's defaults (parity 1 to 4).

use std::io::Cursor;

use tusky::mock::TusMockServer;
use tusky::{Client, DEFAULT_CHUNK_SIZE};

use crate::common::{data, header, patch_shape, reader_of, server_and_client, stored, upload_of};

/// parity 1
#[test]
fn client_keeps_endpoint_and_headers_and_set_header_overwrites_or_adds() {
    let client = Client::builder()
        .endpoint("https://tus.example/files/")
        .header("Authorization", "Bearer one")
        .header("X-Tenant", "acme")
        .build()
        .unwrap();
    assert_eq!(
        client.endpoint().map(|u| u.as_str()),
        Some("https://tus.example/files/")
    );
    assert_eq!(client.headers()["authorization"], "Bearer one");

    client.set_header("Authorization", "Bearer two").unwrap();
    client.set_header("X-New", "yes").unwrap();
    let headers = client.headers();
    assert_eq!(
        headers.get_all("authorization").iter().collect::<Vec<_>>(),
        ["Bearer two"],
        "overwritten, not appended"
    );
    assert_eq!(headers["x-tenant"], "acme", "other headers kept");
    assert_eq!(headers["x-new"], "yes", "new header added");
    assert_eq!(headers.len(), 3);
    assert_eq!(
        client.endpoint().map(|u| u.as_str()),
        Some("https://tus.example/files/")
    );
}

/// parity 2
#[tokio::test]
async fn an_uploader_uses_its_clients_endpoint_and_headers() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .header("Authorization", "Bearer parity2")
        .build()
        .unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .build()
        .unwrap();
    let url = uploader.create().await.unwrap();

    let posts = server.requests_by_method("POST").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].url.path(),
        "/files/",
        "created at the client's endpoint"
    );
    assert_eq!(
        header(&posts[0], "authorization").as_deref(),
        Some("Bearer parity2")
    );
    assert!(url.as_str().starts_with(&server.endpoint()));
    assert_eq!(server.uploads().len(), 1);
}

/// parity 3
#[tokio::test]
async fn defaults_offset_zero_no_url_and_a_bounded_chunk_size() {
    let client = Client::new("http://127.0.0.1:9/files/").unwrap();
    let uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .build()
        .unwrap();
    assert_eq!(uploader.offset(), 0);
    assert!(uploader.url().is_none());
    assert_eq!(uploader.chunk_size(), DEFAULT_CHUNK_SIZE);
    assert_eq!(
        DEFAULT_CHUNK_SIZE,
        8 * 1024 * 1024,
        "the documented default"
    );
}

/// parity 3: the default chunk size really bounds a PATCH (tuspy sends the whole file).
#[tokio::test]
async fn default_chunk_size_splits_a_larger_file() {
    let (server, client) = server_and_client().await;
    let size = DEFAULT_CHUNK_SIZE as usize + 1;
    let bytes = data(size);
    let mut uploader = reader_of(&client, &bytes)
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert!(uploader.url().is_none());
    let summary = uploader.upload().await.unwrap();
    let requests = server.received_requests().await;
    assert_eq!(
        patch_shape(&requests),
        [(0, DEFAULT_CHUNK_SIZE as usize), (DEFAULT_CHUNK_SIZE, 1)]
    );
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 4
#[tokio::test]
async fn every_request_carries_tus_resumable_and_the_current_client_headers() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .header("Authorization", "one")
        .build()
        .unwrap();
    let mut uploader = upload_of(&client, &data(30), 10)
        .header("X-Uploader", "u")
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert_eq!(uploader.upload_chunk().await.unwrap(), 10); // POST + PATCH
    client.clone().set_header("Authorization", "two").unwrap(); // through a clone: shared
    assert_eq!(uploader.upload_chunk().await.unwrap(), 20); // PATCH
    client.set_header("Authorization", "three").unwrap();
    assert_eq!(uploader.get_offset().await.unwrap(), 20); // HEAD

    let requests = server.received_requests().await;
    let tus: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() != "OPTIONS")
        .collect();
    let seen: Vec<(String, String)> = tus
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                header(r, "authorization").unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("POST", "one"),
        ("PATCH", "one"),
        ("PATCH", "two"),
        ("HEAD", "three"),
    ];
    assert_eq!(seen, expected.map(|(m, a)| (m.to_owned(), a.to_owned())));
    for r in &tus {
        assert_eq!(
            header(r, "tus-resumable").as_deref(),
            Some("1.0.0"),
            "{} {}",
            r.method,
            r.url
        );
        assert_eq!(
            header(r, "x-uploader").as_deref(),
            Some("u"),
            "{} {}",
            r.method,
            r.url
        );
    }
}
