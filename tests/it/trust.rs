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

use crate::common::{client_for, data, endpoint_answering};

/// An upload of `len` bytes created on `server` without credentials; its URL.
async fn upload_on(server: &TusMockServer, len: usize) -> String {
    let client = client_for(server);
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

/// An upload of the file at `path` to `server` that keeps its record in `store`.
fn file_upload(
    server: &TusMockServer,
    path: &std::path::Path,
    store: &Arc<MemoryStorage>,
    events: &crate::common::Events,
) -> tusky::Uploader<tusky::transport::ReqwestTransport, Arc<MemoryStorage>> {
    Client::new(server.endpoint())
        .unwrap()
        .uploader()
        .path(path)
        .chunk_size(1000)
        .storage(Arc::clone(store))
        .on_progress(events.callback())
        .build()
        .unwrap()
}

/// Gives the file at `path` a modification time `seconds` after the epoch's 2020.
fn touch(path: &std::path::Path, seconds: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let time = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + seconds);
    file.set_modified(time).unwrap();
}

/// Issue 9, item 1: a file edited in place (same size, new modification time, an edit the
/// fingerprint cannot see) between runs is not resumed onto its stale upload: the upload starts over, saying why, and the server ends
/// with the new bytes.
#[tokio::test]
async fn an_edited_file_starts_over_instead_of_resuming() {
    let server = TusMockServer::start().await;
    let (dir, path) = crate::common::temp_file(&data(80_000));
    touch(&path, 1);
    let store = Arc::new(MemoryStorage::new());
    let events = crate::common::Events::default();
    let first = file_upload(&server, &path, &store, &events)
        .upload_until(75_000)
        .await
        .unwrap();
    // Beyond the first 64 KiB, so the fingerprint cannot see it.
    let mut edited = data(80_000);
    edited[70_000..70_100].copy_from_slice(&[0xee; 100]);
    std::fs::write(&path, &edited).unwrap();
    touch(&path, 2);

    let events = crate::common::Events::default();
    let summary = file_upload(&server, &path, &store, &events)
        .upload()
        .await
        .unwrap();
    assert_ne!(summary.url, first.url, "a new upload");
    assert_eq!(summary.resumed_from, None);
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), edited);
    let reasons = events.started_over();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("the file changed since the upload started")),
        "{reasons:?}"
    );
    drop(dir);
}

/// Issue 9, item 1: a file that grows while it is uploaded is an error naming what changed,
/// not an upload of its first bytes that ends in success.
#[tokio::test]
async fn a_file_that_changes_during_the_upload_is_an_error() {
    let server = TusMockServer::start().await;
    let (_dir, path) = crate::common::temp_file(&data(5000));
    let grow = path.clone();
    let mut uploader = Client::new(server.endpoint())
        .unwrap()
        .uploader()
        .path(&path)
        .chunk_size(1000)
        .on_progress(move |event| {
            if matches!(
                event,
                tusky::ProgressEvent::Acknowledged { offset: 2000, .. }
            ) {
                use std::io::Write;
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&grow)
                    .unwrap();
                file.write_all(b"more").unwrap();
            }
        })
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(
        matches!(&error, Error::SourceChanged { reason, .. } if reason.contains("size changed from 5000 to 5004")),
        "{error:?}"
    );
    assert_eq!(uploader.offset(), 2000, "nothing sent after the change");
}

/// A file cut short while its chunk is being sent: the body stops with the read error and the
/// upload fails with that error (where the file ended), not with the transport's view of a body
/// that ended early. The file is cut when the PATCH goes out; the chunk spans several read
/// blocks, and the ones after the first are read only once the request is on its way.
#[tokio::test]
async fn a_file_cut_short_while_its_chunk_is_sent_is_a_source_error() {
    let server = TusMockServer::start().await;
    let (_dir, path) = crate::common::temp_file(&data(3 * 1024 * 1024 + 10));
    let cut = path.clone();
    let client = Client::builder()
        .endpoint(server.endpoint())
        .on_request(move |request| {
            if request.method == http::Method::PATCH {
                let file = std::fs::OpenOptions::new().write(true).open(&cut).unwrap();
                file.set_len(1000).unwrap();
            }
        })
        .build()
        .unwrap();
    let builder = client
        .uploader()
        .path(&path)
        .creation_with_upload(false)
        .retry_delay(0, Duration::ZERO);
    let error = crate::common::upload_error(builder).await;
    assert!(
        matches!(&error, Error::Source { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof),
        "{error:?}"
    );
    assert!(error.to_string().contains("ended early"), "{error}");
}

/// Issue 9, item 1: two different files with the same size and the same first 64 KiB (the
/// fingerprint) never share a record: the second does not continue the first's upload.
#[tokio::test]
async fn files_with_the_same_fingerprint_keep_their_own_records() {
    let server = TusMockServer::start().await;
    let head = data(70 * 1024);
    let (mut a, mut b) = (head.clone(), head);
    a.extend_from_slice(&[1; 100]);
    b.extend_from_slice(&[2; 100]);
    let dir = tempfile::tempdir().unwrap();
    let (path_a, path_b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    std::fs::write(&path_a, &a).unwrap();
    std::fs::write(&path_b, &b).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let events = crate::common::Events::default();
    let on_a = file_upload(&server, &path_a, &store, &events)
        .upload_until(1000)
        .await
        .unwrap();
    let on_b = file_upload(&server, &path_b, &store, &events)
        .upload()
        .await
        .unwrap();
    assert_ne!(on_b.url, on_a.url);
    assert_eq!(on_b.resumed_from, None);
    assert_eq!(server.upload_bytes(on_b.url.as_str()).unwrap(), b);
    let resumed = file_upload(&server, &path_a, &store, &events)
        .upload()
        .await
        .unwrap();
    assert_eq!(
        (&resumed.url, resumed.resumed_from),
        (&on_a.url, Some(1000))
    );
    assert_eq!(server.upload_bytes(on_a.url.as_str()).unwrap(), a);
}

/// Issue 9, item 1, the opt-in content check: an edit that keeps the size, the modification
/// time and the inode (a tool that restores mtime) fools every metadata check, but not a digest
/// of the bytes the server holds: the upload starts over and the server ends with the new
/// bytes. Without the option the same edit is resumed onto (the documented limit).
#[tokio::test]
async fn the_content_check_sees_an_edit_that_metadata_cannot() {
    for verify in [true, false] {
        let server = TusMockServer::start().await;
        let (_dir, path) = crate::common::temp_file(&data(200_000));
        touch(&path, 1);
        let store = Arc::new(MemoryStorage::new());
        let events = crate::common::Events::default();
        let build = |events: &crate::common::Events| {
            Client::new(server.endpoint())
                .unwrap()
                .uploader()
                .path(&path)
                .chunk_size(20_000)
                .storage(Arc::clone(&store))
                .verify_resumed_content(verify)
                .on_progress(events.callback())
                .build()
                .unwrap()
        };
        let first = build(&events).upload_until(150_000).await.unwrap();
        if verify {
            let records = store.list().await.unwrap();
            let prefix = records[0]
                .1
                .prefix
                .clone()
                .expect("the record keeps a digest");
            assert_eq!(prefix.len, 150_000, "the digest follows every chunk");
        }
        // Rewrite bytes the server already holds (past the 64 KiB the fingerprint reads), then
        // put the old modification time back.
        let mut edited = data(200_000);
        edited[100_000..100_010].copy_from_slice(b"0123456789");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &edited))
            .unwrap();
        touch(&path, 1);

        let events = crate::common::Events::default();
        let summary = build(&events).upload().await.unwrap();
        if verify {
            assert_ne!(summary.url, first.url, "started over");
            assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), edited);
            let reasons = events.started_over();
            assert!(
                reasons.iter().any(|r| r.contains("content check")),
                "{reasons:?}"
            );
        } else {
            assert_eq!(summary.url, first.url, "metadata alone cannot see it");
        }
    }
}
