//! What the tests share: a raw HTTP client speaking tus to the mock server (reqwest, so that
//! every header is exactly what the test says), noise bytes, and waiting on a condition.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use tusky_mock_server::{Extension, TusMockServer};

pub const OFFSET_STREAM: &str = "application/offset+octet-stream";

pub fn http() -> Client {
    Client::new()
}

/// Adds `Tus-Resumable: 1.0.0`.
pub fn tus(rb: RequestBuilder) -> RequestBuilder {
    rb.header("Tus-Resumable", "1.0.0")
}

/// A header as text (panics in the test if it is not text).
pub fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("header is text").to_owned())
}

/// POST on the endpoint with these headers.
pub async fn post(server: &TusMockServer, headers: &[(&str, &str)]) -> Response {
    post_to(&server.endpoint(), headers, None).await
}

/// POST on `endpoint` with these headers and, when given, `body` as upload data
/// (`Content-Type: application/offset+octet-stream`).
pub async fn post_to(endpoint: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
    let mut rb = tus(http().post(endpoint));
    if let Some(body) = body {
        rb = rb.header("Content-Type", OFFSET_STREAM).body(body.to_vec());
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("POST")
}

/// Creates an upload of `length` bytes and returns its URL.
pub async fn create(server: &TusMockServer, length: u64) -> String {
    let resp = post(server, &[("Upload-Length", &length.to_string())]).await;
    assert_eq!(resp.status(), 201);
    header(&resp, "location").expect("Location")
}

/// PATCH `body` at `offset` with these extra headers.
pub async fn patch_with(url: &str, offset: u64, body: &[u8], headers: &[(&str, &str)]) -> Response {
    let mut rb = tus(http().patch(url))
        .header("Content-Type", OFFSET_STREAM)
        .header("Upload-Offset", offset.to_string())
        .body(body.to_vec());
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("PATCH")
}

/// PATCH `body` at `offset`.
pub async fn patch(url: &str, offset: u64, body: &[u8]) -> Response {
    patch_with(url, offset, body, &[]).await
}

pub async fn head(url: &str) -> Response {
    tus(http().head(url)).send().await.expect("HEAD")
}

pub async fn delete(url: &str) -> Response {
    tus(http().delete(url)).send().await.expect("DELETE")
}

pub async fn options(server: &TusMockServer) -> Response {
    options_at(&server.endpoint()).await
}

pub async fn options_at(endpoint: &str) -> Response {
    http()
        .request(reqwest::Method::OPTIONS, endpoint)
        .send()
        .await
        .expect("OPTIONS")
}

/// The stored offset of the upload at `url`.
pub fn offset(server: &TusMockServer, url: &str) -> u64 {
    server.upload(url).expect("upload exists").offset
}

/// A server with only these extensions on.
pub async fn with_extensions(extensions: &[Extension]) -> TusMockServer {
    TusMockServer::builder()
        .extensions(extensions)
        .start()
        .await
}

/// A POST carrying `body` as upload data (creation-with-upload), with these headers.
pub async fn post_with_body(
    server: &TusMockServer,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Response {
    let mut rb = tus(http().post(server.endpoint()))
        .header("Content-Type", OFFSET_STREAM)
        .body(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("POST")
}

/// A PATCH of `body` at `offset` whose client gives up after `timeout`; the error it gets.
pub async fn patch_giving_up(
    url: &str,
    offset: u64,
    body: &[u8],
    timeout: Duration,
) -> reqwest::Error {
    tus(http().patch(url))
        .header("Content-Type", OFFSET_STREAM)
        .header("Upload-Offset", offset.to_string())
        .body(body.to_vec())
        .timeout(timeout)
        .send()
        .await
        .expect_err("an answer within the timeout")
}

/// `n` bytes that differ from one offset to the next and from one `seed` to another, so that
/// a shifted, repeated or dropped block shows.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    // The top byte of a multiplicative hash: it depends on every bit of the offset.
    (0..n as u64)
        .map(|i| ((i ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

#[path = "../../../tests/shared/wait_until.rs"]
mod wait_until;
pub use wait_until::wait_until;

/// `resp` carries header `name` with exactly `value`.
#[track_caller]
pub fn assert_header(resp: &Response, name: &str, value: &str) {
    assert_eq!(header(resp, name).as_deref(), Some(value), "{name}");
}

/// `server` holds exactly `bytes` for the upload at `url`.
#[track_caller]
pub fn assert_holds(server: &TusMockServer, url: &str, bytes: &[u8]) {
    assert_eq!(server.upload_bytes(url).unwrap(), bytes);
}

/// `resp` created an upload (201) that holds exactly `bytes`.
#[track_caller]
pub fn assert_created_holding(server: &TusMockServer, resp: &Response, bytes: &[u8]) {
    assert_eq!(resp.status(), 201);
    assert_holds(server, &header(resp, "location").unwrap(), bytes);
}

/// Every request to the upload at `url` (HEAD, PATCH, DELETE) is answered `status` now, and
/// HEAD tells no offset: the upload is gone (terminated, expired).
pub async fn assert_gone(url: &str, status: u16) {
    let resp = head(url).await;
    assert_eq!(resp.status(), status);
    assert_eq!(header(&resp, "upload-offset"), None);
    assert_eq!(patch(url, 3, b"def").await.status(), status);
    assert_eq!(delete(url).await.status(), status);
}

/// A server with every extension on, and a new upload of `length` bytes on it.
pub async fn server_with_upload(length: u64) -> (TusMockServer, String) {
    let server = TusMockServer::start().await;
    let url = create(&server, length).await;
    (server, url)
}
