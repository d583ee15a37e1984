//! Request hooks and request ids, built on the transport layers: code that runs before each
//! request and after each answer, and an `X-Request-ID` that also appears in errors.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use tusky::mock::TusMockServer;
use tusky::Client;

use crate::common::{data, header, patch_upload_of, upload_exactly};

#[tokio::test]
async fn hooks_see_and_change_every_request() {
    let server = TusMockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let client = Client::builder()
        .endpoint(server.endpoint())
        .on_request(|request| {
            let value = http::HeaderValue::from_static("trace-1");
            request.headers.insert("x-trace", value);
        })
        .on_response(move |exchange| {
            log.lock().unwrap().push((
                exchange.method.to_string(),
                exchange.status.map(|s| s.as_u16()),
            ));
        })
        .build()
        .unwrap();
    let bytes = data(2500);
    upload_exactly(&server, patch_upload_of(&client, &bytes, 1000), &bytes).await;
    let requests = server.received_requests().await;
    assert!(requests
        .iter()
        .all(|r| header(r, "x-trace").as_deref() == Some("trace-1")));
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(String, Option<u16>)> = [
        ("OPTIONS", 204),
        ("POST", 201),
        ("PATCH", 204),
        ("PATCH", 204),
        ("PATCH", 204),
    ]
    .iter()
    .map(|(m, s)| (m.to_string(), Some(*s)))
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn request_ids_are_fresh_and_named_in_errors() {
    let server = TusMockServer::start().await;
    server.fail_request("PATCH", 2, 403);
    let client = Client::builder()
        .endpoint(server.endpoint())
        .request_ids(true)
        .build()
        .unwrap();
    let error = client
        .uploader()
        .reader(Cursor::new(data(3000)))
        .chunk_size(1000)
        .creation_with_upload(false)
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap_err();
    let requests = server.received_requests().await;
    let ids: Vec<String> = requests
        .iter()
        .map(|r| header(r, "x-request-id").expect("every request has an id"))
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "fresh per request: {ids:?}");
    let failed = requests.last().unwrap();
    let id = header(failed, "x-request-id").unwrap();
    assert!(
        error.to_string().contains(&format!("request id {id}")),
        "{error}"
    );
}

/// A token that expires mid-upload: the server refuses the old one with 401, the provider is
/// asked to refresh once, and the upload goes on with the new token; a provider whose fresh
/// token is refused too ends the upload with the 401.
#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use tusky::transport::layers::header_provider;
    use wiremock::matchers::{header as has_header, method};
    use wiremock::{Mock, ResponseTemplate};

    for accepted in [true, false] {
        let server = TusMockServer::start().await;
        // Token 1 works for creating; its PATCHes are refused, as are token 2's when not
        // `accepted`.
        for token in ["Bearer 1", "Bearer 2"]
            .iter()
            .take(if accepted { 1 } else { 2 })
        {
            Mock::given(method("PATCH"))
                .and(has_header("authorization", *token))
                .respond_with(ResponseTemplate::new(401))
                .with_priority(1)
                .mount(server.wiremock())
                .await;
        }
        let issued = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&issued);
        let client = Client::builder()
            .endpoint(server.endpoint())
            .header_provider(header_provider(move |_refresh| {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    let mut headers = http::HeaderMap::new();
                    let value = format!("Bearer {n}")
                        .parse()
                        .map_err(|_| "bad".to_owned())?;
                    headers.insert("authorization", value);
                    Ok(headers)
                }
            }))
            .build()
            .unwrap();
        let bytes = data(3000);
        let result = patch_upload_of(&client, &bytes, 1000)
            .retry_delay(5, std::time::Duration::from_millis(1))
            .build()
            .unwrap()
            .upload()
            .await;
        if accepted {
            let summary = result.unwrap();
            assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
            assert_eq!(issued.load(Ordering::SeqCst), 2, "one refresh");
        } else {
            let error = result.unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(401), "{error}");
            assert_eq!(issued.load(Ordering::SeqCst), 3, "refreshed after each 401");
        }
    }
}

/// A header provider's headers are user headers: they stay on the endpoint's origin like `-H`
/// ones (the `Auth` layer sits outside the origin guard).
#[tokio::test]
async fn provided_headers_stay_on_the_endpoints_origin() {
    use tusky::transport::layers::header_provider;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let other = TusMockServer::start().await;
    let location =
        crate::common::created_upload(&Client::new(other.endpoint()).unwrap(), &data(30))
            .await
            .to_string();
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).insert_header("Location", location.as_str()))
        .mount(&endpoint)
        .await;
    let client = Client::builder()
        .endpoint(format!("{}/files/", endpoint.uri()))
        .header_provider(header_provider(|_refresh| async {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "authorization",
                http::HeaderValue::from_static("Bearer secret"),
            );
            Ok(headers)
        }))
        .build()
        .unwrap();
    let summary = client
        .uploader()
        .reader(Cursor::new(data(30)))
        .chunk_size(10)
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    assert_eq!(other.upload_bytes(summary.url.as_str()).unwrap(), data(30));
    let posts = endpoint.received_requests().await.unwrap();
    assert!(posts
        .iter()
        .all(|r| r.headers.contains_key("authorization")));
    for request in other.received_requests().await {
        assert!(
            !request.headers.contains_key("authorization"),
            "{} to another origin carried the provider's header",
            request.method
        );
    }
}

/// The server's final word: the summary carries the last answer to a request that sent bytes;
/// when the server stores every byte but answers the last PATCH with an error, the upload is
/// complete (a HEAD shows it) yet not a plain success.
#[tokio::test]
async fn the_summary_carries_the_servers_final_answer() {
    use tusky::mock::PatchAction;
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let upload = |bytes: Vec<u8>| {
        client
            .uploader()
            .reader(Cursor::new(bytes))
            .chunk_size(1000)
            .creation_with_upload(false)
            .retry_delay(3, std::time::Duration::from_millis(1))
            .build()
            .unwrap()
    };
    let summary = upload(data(2000)).upload().await.unwrap();
    let answer = summary
        .final_answer
        .clone()
        .expect("the last PATCH's answer");
    assert_eq!(answer.status.as_u16(), 204);
    assert!(!summary.stored_but_refused());

    server.schedule_patch(4, PatchAction::StoreThenFail(500));
    let bytes = data(2000);
    let summary = upload(bytes.clone()).upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    assert!(summary.stored_but_refused());
    let answer = summary.final_answer.expect("the failed answer is kept");
    assert_eq!(answer.status.as_u16(), 500);
    assert!(
        answer.body.contains("stored, then failed"),
        "{}",
        answer.body
    );
}
