//! X-HTTP-Method-Override, user-mounted wiremock mocks, reset.

use tusky_mock_server::wiremock::matchers::{method, path_regex};
use tusky_mock_server::wiremock::{Mock, ResponseTemplate};
use tusky_mock_server::STATEFUL_MOCK_PRIORITY;

use crate::support::*;

fn overridden(url: &str, as_method: &str) -> reqwest::RequestBuilder {
    tus(http().post(url)).header("X-HTTP-Method-Override", as_method)
}

#[tokio::test]
async fn method_override_on_post_is_honoured() {
    let (server, url) = server_with_upload(5).await;

    let resp = overridden(&url, "PATCH")
        .header("Content-Type", OFFSET_STREAM)
        .header("Upload-Offset", "0")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_holds(&server, &url, b"hello");

    let resp = overridden(&url, "HEAD").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-offset", "5");

    // Counted as the method they stand for.
    assert_eq!(server.requests_by_method("PATCH").await.len(), 1);
    assert_eq!(server.request_count("PATCH"), 1);

    let resp = overridden(&url, "delete").send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert!(server.upload(&url).unwrap().terminated);
}

#[tokio::test]
async fn an_unknown_override_is_400() {
    let (server, url) = server_with_upload(5).await;
    for m in ["GET", "PUT", "CONNECT", ""] {
        let resp = overridden(&url, m).send().await.unwrap();
        assert_eq!(resp.status(), 400, "override {m:?}");
    }
    assert!(!server.upload(&url).unwrap().terminated);
}

#[tokio::test]
async fn a_higher_priority_mock_answers_once_then_the_tus_server_resumes() {
    let (server, url) = server_with_upload(10).await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server.wiremock())
        .await;

    let resp = patch(&url, 0, b"hello").await;
    assert_eq!(resp.status(), 500);
    assert_holds(&server, &url, b"");
    // The stateful mock never saw it…
    assert_eq!(server.request_count("PATCH"), 0);
    // …but wiremock recorded it.
    assert_eq!(server.requests_by_method("PATCH").await.len(), 1);

    let resp = patch(&url, 0, b"hello").await;
    assert_eq!(resp.status(), 204);
    assert_holds(&server, &url, b"hello");
}

#[tokio::test]
async fn a_mock_at_default_priority_also_wins() {
    assert_eq!(STATEFUL_MOCK_PRIORITY, u8::MAX);
    let (server, url) = server_with_upload(10).await;
    // No with_priority: wiremock's default (5) is above the stateful mock's.
    Mock::given(method("HEAD"))
        .and(path_regex("^/files/"))
        .respond_with(ResponseTemplate::new(423))
        .up_to_n_times(2)
        .mount(server.wiremock())
        .await;
    assert_eq!(head(&url).await.status(), 423);
    assert_eq!(head(&url).await.status(), 423);
    assert_eq!(head(&url).await.status(), 200);
}

#[tokio::test]
async fn reset_forgets_everything_but_keeps_serving() {
    let (server, url) = server_with_upload(10).await;
    server.fail_patch(1, 500);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(server.wiremock())
        .await;
    server.reset().await;

    assert!(server.uploads().is_empty());
    assert!(server.received_requests().await.is_empty());
    assert_eq!(head(&url).await.status(), 404);
    let url = create(&server, 3).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
}
