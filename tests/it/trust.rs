//! Trust: user headers stay on the origin the user named, redirects are not followed,
//! credentials in URLs never reach a store or a message, and bodiless requests have a deadline.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use tusky::mock::TusMockServer;
use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::TransportErrorKind;
use tusky::{Client, Error};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::data;

/// A tus OPTIONS answer plus `post`, on a plain wiremock server (the endpoint).
async fn endpoint_answering(post: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("OPTIONS"))
        .respond_with(
            ResponseTemplate::new(204)
                .insert_header("Tus-Resumable", "1.0.0")
                .insert_header("Tus-Version", "1.0.0")
                .insert_header("Tus-Extension", "creation"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(post)
        .mount(&server)
        .await;
    server
}

/// An upload of `len` bytes created on `server` without credentials; its URL.
async fn upload_on(server: &TusMockServer, len: usize) -> String {
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(len)))
        .creation_with_upload(false)
        .build()
        .unwrap();
    uploader.create().await.unwrap().to_string()
}

const SECRETS: [&str; 3] = ["authorization", "x-api-key", "cookie"];

fn client_with_secrets(endpoint: &str, cross_origin: bool) -> Client {
    Client::builder()
        .endpoint(endpoint)
        .header("Authorization", "Bearer secret")
        .header("X-Api-Key", "key")
        .header("Cookie", "session=1")
        .cross_origin_headers(cross_origin)
        .build()
        .unwrap()
}

/// A creation answer whose Location is on another origin: the upload goes there, but the
/// user's headers do not (unless allowed).
#[tokio::test]
async fn user_headers_stay_on_the_endpoints_origin() {
    for cross_origin in [false, true] {
        let other = TusMockServer::start().await;
        let location = upload_on(&other, 30).await;
        let endpoint = endpoint_answering(
            ResponseTemplate::new(201).insert_header("Location", location.as_str()),
        )
        .await;
        let client = client_with_secrets(&format!("{}/files/", endpoint.uri()), cross_origin);
        let summary = client
            .uploader()
            .reader(Cursor::new(data(30)))
            .chunk_size(10)
            .header("X-Api-Key", "uploader-key")
            .build()
            .unwrap()
            .upload()
            .await
            .unwrap();
        assert_eq!(summary.url.as_str(), location);
        assert_eq!(other.upload_bytes(&location).unwrap(), data(30));
        let endpoint_requests = endpoint.received_requests().await.unwrap();
        assert!(endpoint_requests
            .iter()
            .all(|r| r.headers.contains_key("authorization")));
        for request in other.requests_by_method("PATCH").await {
            for secret in SECRETS {
                assert_eq!(
                    request.headers.contains_key(secret),
                    cross_origin,
                    "{secret} on a PATCH to another origin (allowed: {cross_origin})"
                );
            }
        }
    }
}

/// Redirects are not followed: a 307 to a HEAD sends nothing to the other host and does not
/// take its offset; a 307 to the creation POST creates nothing there.
#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = TusMockServer::start().await;
    let redirecting = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "Location",
            format!("{}elsewhere", elsewhere.endpoint()).as_str(),
        ))
        .mount(&redirecting)
        .await;
    let client = client_with_secrets(&format!("{}/files/", redirecting.uri()), false);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .url(format!("{}/files/abc", redirecting.uri()))
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307), "{error}");
    assert!(elsewhere.received_requests().await.is_empty());

    let endpoint = endpoint_answering(
        ResponseTemplate::new(307).insert_header("Location", elsewhere.endpoint().as_str()),
    )
    .await;
    let client = client_with_secrets(&format!("{}/files/", endpoint.uri()), false);
    let error = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307), "{error}");
    assert!(
        elsewhere.uploads().is_empty(),
        "nothing created on the other host"
    );
}

/// A user name and password in the endpoint are sent as Basic auth and appear in no URL that
/// is returned, stored, or put in an error.
#[tokio::test]
async fn passwords_in_urls_never_leave_memory() {
    let server = TusMockServer::start().await;
    let endpoint = server.endpoint().replace("http://", "http://alice:s3cret@");
    let client = Client::new(&endpoint).unwrap();
    assert!(!client.endpoint().unwrap().as_str().contains("s3cret"));
    let store = Arc::new(MemoryStorage::new());
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(20)))
        .chunk_size(10)
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    let partial = uploader.upload_until(10).await.unwrap();
    assert!(!partial.url.as_str().contains("s3cret"));
    for (key, record) in store.list().await.unwrap() {
        let text = format!("{key} {record:?}");
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{text}"
        );
    }
    let requests = server.received_requests().await;
    assert!(requests.iter().all(|r| {
        r.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some("Basic YWxpY2U6czNjcmV0")
    }));
    server.fail_request("PATCH", 1, 403);
    let error = uploader.upload().await.unwrap_err();
    assert!(!error.to_string().contains("s3cret"), "{error}");
}

/// A server that never finishes answering a bodiless request (here OPTIONS) meets the
/// client's request deadline instead of keeping the upload waiting.
#[tokio::test]
async fn a_slow_answer_meets_the_request_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("OPTIONS"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let client = Client::builder()
        .endpoint(format!("{}/files/", server.uri()))
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client.capabilities().await.unwrap_err();
    match &error {
        Error::Transport { source, .. } => assert_eq!(source.kind(), TransportErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
}
