//! Failures: retries run out, a 403 fails at once, a 500 is retried after a HEAD, a refused
//! connection, answers without a sane offset (parity 17, 24, 25, 27, 30).

use std::io::Cursor;

use tokio::io::AsyncReadExt;
use tusky::error::Operation;
use tusky::mock::TusMockServer;
use tusky::transport::TransportErrorKind;
use tusky::{Client, Error, NoRetry};
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{endpoint_of, mount_create};
use crate::common::{data, refusing_port, tus_response, tus_sequence, with_method, QUICK};

/// parity 17
#[tokio::test]
async fn exhausted_retries_say_how_many_attempts_and_the_last_status() {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &tusky::mock::PatchContext| tusky::mock::PatchAction::Fail(503));
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .creation_with_upload(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*attempts, 3);
    assert_eq!(last.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    let text = error.to_string();
    assert!(text.contains("3 attempts"), "{text}");
    assert!(text.contains("503"), "{text}");
    assert_eq!(server.request_count("PATCH"), 3);
}

/// parity 24: a 403 on PATCH fails at once (no HEAD after it, no second PATCH, no new upload)
/// with the status and the body in the error, for an upload the uploader created itself and
/// for one it was given by URL.
#[tokio::test]
async fn a_403_on_patch_fails_at_once_with_status_and_body() {
    for given_url in [false, true] {
        let server = TusMockServer::start().await;
        let client = Client::new(server.endpoint()).unwrap();
        let bytes = data(10);
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .creation_with_upload(false)
            .retry_delay(5, QUICK);
        if given_url {
            let mut creator = client
                .uploader()
                .reader(Cursor::new(bytes))
                .creation_with_upload(false)
                .build()
                .unwrap();
            uploader = uploader.url(creator.create().await.unwrap().as_str());
        }
        let mut uploader = uploader.build().unwrap();
        Mock::given(method("PATCH"))
            .respond_with(tus_response(403).set_body_string("quota exceeded for this account"))
            .with_priority(1)
            .mount(server.wiremock())
            .await;
        let before = server.received_requests().await.len();

        let error = uploader.upload().await.unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(403));
        assert_eq!(error.body(), Some("quota exceeded for this account"));
        assert!(error.to_string().contains("quota exceeded"), "{error}");
        assert_eq!(error.context().unwrap().operation, Operation::Patch);
        assert!(!error.is_retryable());
        let id = uploader.url().expect("an upload URL").path().to_owned();
        // A given URL is asked about first; a new upload is created first.
        let first = if given_url {
            format!("HEAD {id}")
        } else {
            "POST /files/".to_owned()
        };
        let requests = server.received_requests().await;
        assert_eq!(
            tus_sequence(&requests[before..]),
            [first, format!("PATCH {id}")],
            "given URL: {given_url}"
        );
        assert_eq!(server.uploads().len(), 1, "no new upload");
    }
}

/// parity 25: two 500s on PATCH, each followed by a HEAD (offset 0) and the whole chunk again:
/// with 3 attempts allowed the third PATCH succeeds, with 2 the upload fails after the second.
#[tokio::test]
async fn a_500_on_patch_is_retried_after_a_head_while_attempts_last() {
    const PATCH: &str = "PATCH /files/u25";
    const HEAD: &str = "HEAD /files/u25";
    let cases: [(u32, &[&str]); 2] = [
        (3, &["POST /files/", PATCH, HEAD, PATCH, HEAD, PATCH]),
        (2, &["POST /files/", PATCH, HEAD, PATCH]),
    ];
    for (attempts, sequence) in cases {
        let server = MockServer::start().await;
        mount_create(&server, "u25").await;
        Mock::given(method("PATCH"))
            .respond_with(tus_response(500))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/files/u25"))
            .and(header_is("upload-offset", "0"))
            .respond_with(tus_response(204).insert_header("Upload-Offset", "10"))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/files/u25"))
            .respond_with(
                tus_response(200)
                    .insert_header("Upload-Offset", "0")
                    .insert_header("Upload-Length", "10"),
            )
            .mount(&server)
            .await;
        let client = Client::new(endpoint_of(&server)).unwrap();
        let bytes = data(10);
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .retry_delay(attempts - 1, QUICK)
            .build()
            .unwrap();
        let result = uploader.upload().await;
        if attempts == 3 {
            assert_eq!(result.unwrap().offset, 10);
        } else {
            let error = result.unwrap_err();
            assert!(
                matches!(error, Error::RetriesExhausted { attempts: 2, .. }),
                "{error:?}"
            );
        }
        let requests = server.received_requests().await.unwrap();
        assert_eq!(tus_sequence(&requests), sequence, "{attempts} attempts");
        for patch in with_method(&requests, "PATCH") {
            assert_eq!(patch.body, bytes, "the whole chunk is resent");
        }
    }
}

/// A one-shot tus server on a raw socket: answers the first request (an OPTIONS) with 204,
/// closes the connection and stops listening. Returns the endpoint and the task's handle.
async fn options_then_gone() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/files/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        drop(listener);
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client hung up");
            request.extend_from_slice(&buf[..n]);
        }
        assert!(
            request.starts_with(b"OPTIONS "),
            "{}",
            String::from_utf8_lossy(&request)
        );
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nTus-Version: 1.0.0\r\nTus-Extension: creation\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        socket.shutdown().await.unwrap();
    });
    (endpoint, task)
}

/// parity 27
#[tokio::test]
async fn connection_refused_on_post_is_a_transport_error_naming_the_url() {
    let (endpoint, server) = options_then_gone().await;
    let client = Client::new(&endpoint).unwrap();
    assert!(client
        .capabilities()
        .await
        .unwrap()
        .supports(tusky::protocol::Extension::Creation));
    server.await.unwrap(); // the listener is closed: the POST's connection is refused

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    let Error::Transport { context, source } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(context.operation, Operation::Create);
    assert_eq!(context.url.as_deref(), Some(endpoint.as_str()));
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{source}");
    assert_eq!(error.status(), None);
    assert_eq!(error.body(), None);
    assert!(error.is_retryable());
    assert!(error.to_string().contains(&endpoint), "{error}");
}

/// parity 27: with nothing listening at all the first request (OPTIONS) fails the same way.
#[tokio::test]
async fn nothing_listening_is_a_transport_error_naming_the_url() {
    let endpoint = format!("http://127.0.0.1:{}/files/", refusing_port().await);
    let client = Client::new(&endpoint).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(error.to_string().contains(&endpoint), "{error}");
}

/// Runs an upload of 10 bytes (chunk 3) against `/files/u30`, whose HEAD answers `head` and
/// every PATCH `patch`; returns the error.
async fn upload_against(head: ResponseTemplate, patch: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/files/u30"))
        .respond_with(head)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/u30"))
        .respond_with(patch)
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .chunk_size(3)
        .url(format!("{}/files/u30", server.uri()))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    uploader.upload().await.unwrap_err()
}

fn head_at(offset: u64) -> ResponseTemplate {
    tus_response(200)
        .insert_header("Upload-Offset", offset.to_string().as_str())
        .insert_header("Upload-Length", "10")
}

fn assert_protocol_error(error: &Error, operation: Operation, words: &str) {
    let Error::Protocol { context, reason } = error else {
        panic!("expected a protocol error, got {error:?}")
    };
    assert_eq!(context.operation, operation, "{error}");
    assert!(
        reason.contains(words),
        "{reason:?} should mention {words:?}"
    );
    assert!(!error.is_retryable());
}

/// parity 30
#[tokio::test]
async fn a_patch_answer_without_a_sane_offset_is_a_protocol_error() {
    let missing = upload_against(head_at(0), tus_response(204)).await;
    assert_protocol_error(&missing, Operation::Patch, "Upload-Offset");

    let garbage = upload_against(
        head_at(0),
        tus_response(204).insert_header("Upload-Offset", "three"),
    )
    .await;
    assert_protocol_error(&garbage, Operation::Patch, "Upload-Offset");

    let negative = upload_against(
        head_at(0),
        tus_response(204).insert_header("Upload-Offset", "-1"),
    )
    .await;
    assert_protocol_error(&negative, Operation::Patch, "Upload-Offset");

    let backwards = upload_against(
        head_at(6),
        tus_response(204).insert_header("Upload-Offset", "2"),
    )
    .await;
    assert_protocol_error(&backwards, Operation::Patch, "backwards");

    // 3 bytes sent from 0, so 4 is beyond them (though within the upload's length)
    let too_far = upload_against(
        head_at(0),
        tus_response(204).insert_header("Upload-Offset", "4"),
    )
    .await;
    assert_protocol_error(&too_far, Operation::Patch, "beyond");

    let overflow = upload_against(
        head_at(0),
        tus_response(204).insert_header("Upload-Offset", "18446744073709551616"),
    )
    .await;
    assert_protocol_error(&overflow, Operation::Patch, "Upload-Offset");
}

/// parity 30: the same care for a HEAD answer.
#[tokio::test]
async fn a_head_answer_without_a_sane_offset_is_a_protocol_error() {
    let ok_patch = tus_response(204).insert_header("Upload-Offset", "3");
    let missing = upload_against(
        tus_response(200).insert_header("Upload-Length", "10"),
        ok_patch.clone(),
    )
    .await;
    assert_protocol_error(&missing, Operation::Head, "Upload-Offset");
    let beyond_length = upload_against(
        tus_response(200)
            .insert_header("Upload-Offset", "11")
            .insert_header("Upload-Length", "10"),
        ok_patch,
    )
    .await;
    assert_protocol_error(&beyond_length, Operation::Head, "beyond");
}
