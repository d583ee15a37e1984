//! Integration tests: the mock server driven by a raw HTTP client (reqwest), one
//! test per protocol rule, asserting the status and what was (not) stored.

mod basics;
mod checksum;
mod concatenation;
mod creation;
mod defer_length;
mod expiration;
mod extensions;
mod faults;
mod head;
mod malformed;
mod overrides;
mod patch;
mod termination;

pub mod support {
    use reqwest::{Client, RequestBuilder, Response};
    use tusky_mock_server::TusMockServer;

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
        let mut rb = tus(http().post(server.endpoint()));
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
    pub async fn patch_with(
        url: &str,
        offset: u64,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Response {
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
        http()
            .request(reqwest::Method::OPTIONS, server.endpoint())
            .send()
            .await
            .expect("OPTIONS")
    }

    /// The stored offset of the upload at `url`.
    pub fn offset(server: &TusMockServer, url: &str) -> u64 {
        server.upload(url).expect("upload exists").offset
    }
}
