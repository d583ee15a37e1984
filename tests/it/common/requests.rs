//! What a server received and holds: headers of recorded requests, the shape of the PATCHes,
//! the bytes of an upload (on either of the repo's servers: [`HoldsUploads`]); and tus answers
//! for mocks mounted over the mock server.

use tusky_mock_server::wiremock::{Request, ResponseTemplate};
use tusky_mock_server::{StreamingTusServer, TusMockServer, UploadConcat, UploadSnapshot};

/// A server of the repo whose uploads a test can read: the mock and the streaming server.
pub trait HoldsUploads {
    /// Every upload, as the server's own `uploads()`.
    fn uploads(&self) -> Vec<UploadSnapshot>;
    /// The bytes of the upload at `url` (any host: found by its id), as `upload_bytes`.
    fn upload_bytes(&self, url: &str) -> Option<Vec<u8>>;
}

impl HoldsUploads for TusMockServer {
    fn uploads(&self) -> Vec<UploadSnapshot> {
        TusMockServer::uploads(self)
    }
    fn upload_bytes(&self, url: &str) -> Option<Vec<u8>> {
        TusMockServer::upload_bytes(self, url)
    }
}

impl<S: HoldsUploads> HoldsUploads for std::sync::Arc<S> {
    fn uploads(&self) -> Vec<UploadSnapshot> {
        S::uploads(self)
    }
    fn upload_bytes(&self, url: &str) -> Option<Vec<u8>> {
        S::upload_bytes(self, url)
    }
}

impl HoldsUploads for StreamingTusServer {
    fn uploads(&self) -> Vec<UploadSnapshot> {
        StreamingTusServer::uploads(self)
    }
    fn upload_bytes(&self, url: &str) -> Option<Vec<u8>> {
        StreamingTusServer::upload_bytes(self, url)
    }
}

/// A header of a recorded request, as text.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().expect("a text header").to_owned())
}

/// A numeric header of a recorded request.
pub fn header_u64(request: &Request, name: &str) -> Option<u64> {
    header(request, name).map(|v| v.parse().expect("a numeric header"))
}

/// `Upload-Offset` of a recorded request.
pub fn upload_offset(request: &Request) -> Option<u64> {
    header_u64(request, "upload-offset")
}

/// The tus requests (everything but OPTIONS), as `"METHOD /path"`.
pub fn tus_sequence(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() != "OPTIONS")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// The requests with this (real) method.
pub fn with_method<'a>(requests: &'a [Request], method: &str) -> Vec<&'a Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == method)
        .collect()
}

/// `(Upload-Offset, body length)` of each PATCH, in order.
pub fn patch_shape(requests: &[Request]) -> Vec<(u64, usize)> {
    with_method(requests, "PATCH")
        .into_iter()
        .map(|r| {
            let offset = upload_offset(r).expect("PATCH without Upload-Offset");
            (offset, r.body.len())
        })
        .collect()
}

/// Whether `request` went to the upload at `url`. wiremock records requests with its own
/// host (`http://localhost/...`), so paths are compared.
pub fn is_for(request: &Request, url: &str) -> bool {
    request.url.path() == url::Url::parse(url).unwrap().path()
}

/// Every request the server received with effective method PATCH (overridden POSTs included).
pub async fn patches(server: &TusMockServer) -> Vec<Request> {
    server.requests_by_method("PATCH").await
}

/// Every creation POST the server received (not overridden ones).
pub async fn posts(server: &TusMockServer) -> Vec<Request> {
    server.requests_by_method("POST").await
}

/// The bytes the server holds for `url`, or a panic naming the URL.
pub fn stored(server: &impl HoldsUploads, url: &url::Url) -> Vec<u8> {
    server
        .upload_bytes(url.as_str())
        .unwrap_or_else(|| panic!("the server has no upload at {url}"))
}

/// An answer carrying `Tus-Resumable: 1.0.0`, for mocks that bend the server's behaviour.
pub fn tus_response(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Tus-Resumable", "1.0.0")
}

/// Creates an upload with a plain HTTP client, as another tus client would: a POST with
/// `Tus-Resumable` and `headers` (and `body` as upload data, if any). Returns its URL.
pub async fn create_directly(
    server: &TusMockServer,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut post = reqwest::Client::new()
        .post(server.endpoint())
        .header("Tus-Resumable", "1.0.0");
    for (name, value) in headers {
        post = post.header(*name, *value);
    }
    if !body.is_empty() {
        post = post
            .header("Content-Type", "application/offset+octet-stream")
            .body(body.to_vec());
    }
    let created = post.send().await.unwrap();
    assert_eq!(created.status(), 201, "creating an upload directly");
    created.headers()["location"].to_str().unwrap().to_owned()
}

/// Appends `body` at `offset` to the upload at `url` with a plain HTTP client.
pub async fn patch_directly(url: &str, offset: u64, body: &[u8]) {
    let patched = reqwest::Client::new()
        .patch(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204, "appending to an upload directly");
}

/// The final (concatenated) uploads the server holds.
pub fn finals(server: &impl HoldsUploads) -> Vec<UploadSnapshot> {
    server
        .uploads()
        .into_iter()
        .filter(|u| matches!(u.concat, UploadConcat::Final(_)))
        .collect()
}

/// The partial uploads the server holds, in the order it created them.
pub fn partials(server: &impl HoldsUploads) -> Vec<UploadSnapshot> {
    server
        .uploads()
        .into_iter()
        .filter(|u| u.concat == UploadConcat::Partial)
        .collect()
}
