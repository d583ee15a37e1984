//! Failures: retries run out, a 403 fails at once, a 500 is retried after a HEAD, a refused
//! connection, answers without a sane offset (parity 17, 24, 25, 27, 30).

use std::io::Cursor;

use tokio::io::AsyncReadExt;
use tusky::error::Operation;
use tusky::transport::TransportErrorKind;
use tusky::{Client, Error};
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{endpoint_of, error_without_retries, mount_create};
use crate::common::{
    created_upload, data, reader_of, refusing_port, server_and_client, tus_response, tus_sequence,
    upload_error, upload_of, with_method, QUICK,
};

/// parity 17
#[tokio::test]
async fn exhausted_retries_say_how_many_attempts_and_the_last_status() {
    let (server, client) = server_and_client().await;
    server.set_patch_hook(|_: &tusky::mock::PatchContext| tusky::mock::PatchAction::Fail(503));
    let error = upload_error(
        client
            .uploader()
            .reader(Cursor::new(data(10)))
            .creation_with_upload(false)
            .retry_delay(2, QUICK),
    )
    .await;
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
        let (server, client) = server_and_client().await;
        let bytes = data(10);
        let mut uploader = reader_of(&client, &bytes)
            .creation_with_upload(false)
            .retry_delay(5, QUICK);
        if given_url {
            uploader = uploader.url(created_upload(&client, &bytes).await.as_str());
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
        let mut uploader = reader_of(&client, &bytes)
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

    let (_, error) = error_without_retries(&client).await;
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
    let (_, error) = error_without_retries(&client).await;
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(error.to_string().contains(&endpoint), "{error}");
}

/// Runs an upload of 10 bytes (chunk 3) against `/files/u30`, whose HEAD answers 200 with
/// `Upload-Length: 10` and this `Upload-Offset`, and every PATCH 204 with this one; returns
/// the error.
async fn upload_against(head_offset: Option<&str>, patch_offset: Option<&str>) -> Error {
    let with_offset = |answer: ResponseTemplate, offset: Option<&str>| match offset {
        Some(offset) => answer.insert_header("Upload-Offset", offset),
        None => answer,
    };
    let server = MockServer::start().await;
    let head = tus_response(200).insert_header("Upload-Length", "10");
    Mock::given(method("HEAD"))
        .and(path("/files/u30"))
        .respond_with(with_offset(head, head_offset))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/u30"))
        .respond_with(with_offset(tus_response(204), patch_offset))
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    let mut uploader = upload_of(&client, &data(10), 3)
        .url(format!("{}/files/u30", server.uri()))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    uploader.upload().await.unwrap_err()
}

/// parity 30: an answer to PATCH or HEAD whose `Upload-Offset` is missing, not a number, out of
/// range, backwards or beyond the bytes sent is a protocol error (never retried) that says so.
#[tokio::test]
async fn an_answer_without_a_sane_offset_is_a_protocol_error() {
    use Operation::{Head, Patch};
    let cases = [
        // (HEAD's offset, every PATCH's offset, the answer at fault, what the error mentions)
        (Some("0"), None, Patch, "Upload-Offset"),
        (Some("0"), Some("three"), Patch, "Upload-Offset"),
        (Some("0"), Some("-1"), Patch, "Upload-Offset"),
        (
            Some("0"),
            Some("18446744073709551616"),
            Patch,
            "Upload-Offset",
        ),
        (Some("6"), Some("2"), Patch, "backwards"),
        // 3 bytes sent from 0, so 4 is beyond them (though within the upload's length)
        (Some("0"), Some("4"), Patch, "beyond"),
        (None, Some("3"), Head, "Upload-Offset"),
        (Some("11"), Some("3"), Head, "beyond"),
    ];
    for (head, patch, operation, words) in cases {
        let case = format!("HEAD offset {head:?}, PATCH offset {patch:?}");
        let error = upload_against(head, patch).await;
        let Error::Protocol { context, reason } = &error else {
            panic!("{case}: expected a protocol error, got {error:?}")
        };
        assert_eq!(context.operation, operation, "{case}: {error}");
        assert!(
            reason.contains(words),
            "{case}: {reason:?} should mention {words:?}"
        );
        assert!(!error.is_retryable(), "{case}");
    }
}
