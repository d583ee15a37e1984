//! What each kind of failure means, end to end: network errors, timeouts, 5xx, 423 and 409
//! re-read the offset with HEAD and continue from the server's offset; 404/410/403 on a known
//! upload start over (unless told not to); 460 resends; 413 shrinks the chunks; other 4xx fail
//! at once with the status and the body.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::TransportErrorKind;
use tusky::{ChecksumAlgorithm, Error};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    assert_resynced, data, nth, refusing_port, stored, Break, BreakingProxy, Events, Fault,
    Outcome, Tap, QUICK,
};

const SIZE: usize = 10_000;
const CHUNK: u64 = 3000;

#[tokio::test]
async fn transport_failures_resync_and_continue_from_the_servers_offset() {
    use TransportErrorKind::{Connect, Connection, Other, Timeout};
    let cases = [
        ("refused connect", Fault::Refuse(Connect), CHUNK),
        ("reset before sending", Fault::Refuse(Connection), CHUNK),
        ("timeout before an answer", Fault::Refuse(Timeout), CHUNK),
        ("other failure", Fault::Refuse(Other), CHUNK),
        // The server stored the chunk; only its answer was lost.
        ("answer lost", Fault::LoseAnswer(Connection), 2 * CHUNK),
        ("answer timed out", Fault::LoseAnswer(Timeout), 2 * CHUNK),
    ];
    for (name, fault, resume_at) in cases {
        let server = TusMockServer::start().await;
        let tap = Tap::reqwest();
        tap.on(Method::PATCH, 2, fault);
        let bytes = data(SIZE);
        let mut uploader = tap
            .client(&server.endpoint())
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .chunk_size(CHUNK)
            .creation_with_upload(false)
            .retry_delay(2, QUICK)
            .build()
            .unwrap();
        let summary = uploader
            .upload()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", tap.transcript()));
        assert_eq!(stored(&server, &summary.url), bytes, "{name}");
        let log = tap.log();
        let failed = nth(&log, &Method::PATCH, 2);
        assert!(
            matches!(log[failed].outcome, Outcome::Failed(_)),
            "{name}: {:?}",
            log[failed]
        );
        assert_eq!(assert_resynced(&log, failed), resume_at, "{name}");
        assert_eq!(
            server.uploads().len(),
            1,
            "{name}: a second upload was created"
        );
    }
}

/// Real TCP, real reqwest: a connection that breaks while a PATCH is being sent is classified
/// as a retryable network error.
#[tokio::test]
async fn a_connection_broken_mid_patch_is_retried() {
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let proxy = BreakingProxy::start(*server.address()).await;
    proxy.break_patch(2, Break::Reset);
    let tap = Tap::reqwest();
    let bytes = data(300_000);
    let mut uploader = tap
        .client(&proxy.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(100_000)
        .creation_with_upload(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    assert_eq!(proxy.broken(), 1);
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert!(
        matches!(log[failed].outcome, Outcome::Failed(_)),
        "{:?}",
        log[failed]
    );
    assert_eq!(assert_resynced(&log, failed), 100_000);
}

/// Real TCP: the server stored a PATCH but the connection broke before its answer came back.
/// The client must not trust its own offset: HEAD says where to go on.
#[tokio::test]
async fn an_answer_lost_on_the_wire_continues_from_the_servers_offset() {
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let proxy = BreakingProxy::start(*server.address()).await;
    proxy.break_patch(2, Break::LoseAnswer);
    let tap = Tap::reqwest();
    let bytes = data(300_000);
    let mut uploader = tap
        .client(&proxy.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(100_000)
        .creation_with_upload(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    assert_eq!(proxy.broken(), 1);
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert!(
        matches!(log[failed].outcome, Outcome::Failed(_)),
        "{:?}",
        log[failed]
    );
    assert_eq!(assert_resynced(&log, failed), 200_000);
    // Nothing was sent twice: three PATCHes of 100 000 bytes in all.
    assert_eq!(tap.of(&Method::PATCH).len(), 3, "{}", tap.transcript());
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let port = refusing_port().await;
    let tap = Tap::reqwest();
    let mut uploader = tap
        .client(&format!("http://127.0.0.1:{port}/files/"))
        .uploader()
        .reader(Cursor::new(data(100)))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("expected RetriesExhausted, got {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(&**last, Error::Transport { source, .. } if source.kind() == TransportErrorKind::Connect),
        "{last:?}"
    );
    let log = tap.log();
    assert_eq!(log.len(), 3, "{}", tap.transcript());
    assert!(log
        .iter()
        .all(|e| e.outcome == Outcome::Failed(TransportErrorKind::Connect)));
}

/// The transport's read timeout fires while the server holds a PATCH's answer back (having
/// stored the bytes): the client re-reads the offset and goes on from there.
#[tokio::test]
async fn a_read_timeout_is_retried_from_the_servers_offset() {
    let server = TusMockServer::start().await;
    server.delay_patch(2, Duration::from_secs(10));
    let tap = Tap::with_read_timeout(Duration::from_millis(300));
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .stall_timeout(None)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert_eq!(
        log[failed].outcome,
        Outcome::Failed(TransportErrorKind::Timeout)
    );
    assert_eq!(assert_resynced(&log, failed), 2 * CHUNK);
}

#[tokio::test]
async fn server_errors_locks_and_conflicts_resync_with_a_head() {
    for status in [500u16, 502, 503, 504, 423, 409] {
        let server = TusMockServer::start().await;
        server.fail_patch(2, status);
        let tap = Tap::reqwest();
        let events = Events::default();
        let bytes = data(SIZE);
        let mut uploader = tap
            .client(&server.endpoint())
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .chunk_size(CHUNK)
            .creation_with_upload(false)
            .retry_delay(2, QUICK)
            .on_progress(events.callback())
            .build()
            .unwrap();
        let summary = uploader
            .upload()
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}\n{}", tap.transcript()));
        assert_eq!(stored(&server, &summary.url), bytes, "{status}");
        let log = tap.log();
        let failed = nth(&log, &Method::PATCH, 2);
        assert_eq!(log[failed].status(), Some(status));
        assert_eq!(assert_resynced(&log, failed), CHUNK, "{status}");
        let retries = events.retries();
        assert_eq!(retries.len(), 1, "{status}");
        assert!(
            retries[0].0.contains(&status.to_string()),
            "{status}: {:?}",
            retries[0]
        );
    }
}

/// A real 409: another client appended bytes, so the PATCH arrives at a stale offset. The
/// client re-reads the offset and continues from what the server holds.
#[tokio::test]
async fn a_real_409_continues_from_the_offset_the_server_has() {
    let server = TusMockServer::start().await;
    let bytes = Arc::new(data(SIZE));
    let tap = Tap::reqwest();
    tap.on(
        Method::PATCH,
        2,
        Fault::Interfere {
            source: Arc::clone(&bytes),
            bytes: 1234,
        },
    );
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.to_vec()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    assert_eq!(stored(&server, &summary.url), *bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert_eq!(
        log[failed].outcome,
        Outcome::Answered {
            status: 409,
            offset: Some(CHUNK + 1234)
        }
    );
    assert_eq!(assert_resynced(&log, failed), CHUNK + 1234);
}

#[tokio::test]
async fn a_checksum_mismatch_resends_the_same_chunk() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 460);
    let tap = Tap::reqwest();
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .checksum(ChecksumAlgorithm::Sha1)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert_eq!(log[failed].status(), Some(460));
    assert!(log[failed].checksum);
    assert_eq!(assert_resynced(&log, failed), CHUNK);
    let resent = &log[nth(&log, &Method::PATCH, 3)];
    assert_eq!(
        (resent.offset, resent.body_len, resent.checksum),
        (Some(CHUNK), CHUNK, true)
    );
}

#[tokio::test]
async fn a_413_on_patch_halves_the_chunk_and_goes_on() {
    let server = TusMockServer::start().await;
    server.fail_patch(1, 413);
    let tap = Tap::reqwest();
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(uploader.chunk_size(), CHUNK / 2);
    let patches = tap.of(&Method::PATCH);
    assert_eq!(patches[0].body_len, CHUNK);
    assert!(patches[1..].iter().all(|p| p.body_len <= CHUNK / 2));
}

/// How a known upload becomes unusable.
#[derive(Debug, Clone, Copy)]
enum Gone {
    /// Terminated with DELETE: a real 404.
    Terminated,
    /// The next HEAD answers this status.
    Head(u16),
}

/// A first uploader sends one chunk and keeps its URL in the store; then the upload goes.
async fn stored_upload_then(
    server: &TusMockServer,
    tap: &Tap,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    gone: Gone,
) -> (url::Url, String) {
    let client = tap.client(&server.endpoint());
    let mut first = client
        .uploader()
        .reader(Cursor::new(bytes.to_vec()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .storage(Arc::clone(store))
        .build()
        .unwrap();
    first.upload_until(CHUNK).await.unwrap();
    let url = first.url().unwrap().clone();
    let key = first.fingerprint_key().unwrap().to_owned();
    assert_eq!(store.get(&key).await.unwrap().unwrap().url, url.as_str());
    match gone {
        Gone::Terminated => client.terminate(url.as_str()).await.unwrap(),
        Gone::Head(status) => {
            server.fail_request("HEAD", server.request_count("HEAD") + 1, status);
        }
    }
    (url, key)
}

#[tokio::test]
async fn a_gone_stored_upload_starts_over_and_replaces_the_record() {
    for gone in [
        Gone::Terminated,
        Gone::Head(410),
        Gone::Head(403),
        Gone::Head(404),
    ] {
        let server = TusMockServer::start().await;
        let tap = Tap::reqwest();
        let store = Arc::new(MemoryStorage::new());
        let bytes = data(SIZE);
        let (old, key) = stored_upload_then(&server, &tap, &store, &bytes, gone).await;
        let events = Events::default();
        let mut second = tap
            .client(&server.endpoint())
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .chunk_size(CHUNK)
            .creation_with_upload(false)
            .storage(Arc::clone(&store))
            .remove_record_on_success(false)
            .retry_delay(2, QUICK)
            .on_progress(events.callback())
            .build()
            .unwrap();
        let summary = second
            .upload()
            .await
            .unwrap_or_else(|e| panic!("{gone:?}: {e}\n{}", tap.transcript()));
        assert_ne!(summary.url, old, "{gone:?}");
        assert_eq!(summary.resumed_from, None, "{gone:?}");
        assert_eq!(stored(&server, &summary.url), bytes, "{gone:?}");
        assert_eq!(server.request_count("POST"), 2, "{gone:?}");
        // The record now names the new upload.
        let record = store.get(&key).await.unwrap().unwrap();
        assert_eq!(record.url, summary.url.as_str(), "{gone:?}");
        assert_eq!(events.started_over().len(), 1, "{gone:?}");
        // Nothing more was sent to the old upload after its HEAD failed.
        let old_path = old.path().to_owned();
        let log = tap.log();
        let head = log
            .iter()
            .rposition(|e| e.method == Method::HEAD && e.path == old_path)
            .unwrap();
        assert!(log[head].status().is_some_and(|s| s >= 400), "{gone:?}");
        assert!(
            log[head + 1..].iter().all(|e| e.path != old_path),
            "{gone:?}\n{}",
            tap.transcript()
        );
        if let Gone::Head(_) = gone {
            // The old upload was only refused once: it still holds the first chunk.
            assert_eq!(stored(&server, &old), bytes[..CHUNK as usize].to_vec());
        }
    }
}

#[tokio::test]
async fn recreate_if_gone_false_reports_the_gone_upload_and_keeps_the_record() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(SIZE);
    let (old, key) = stored_upload_then(&server, &tap, &store, &bytes, Gone::Terminated).await;
    let mut second = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .storage(Arc::clone(&store))
        .recreate_if_gone(false)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let error = second.upload().await.unwrap_err();
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(server.request_count("POST"), 1);
    let heads = tap.of(&Method::HEAD);
    assert_eq!(heads.len(), 1, "{}", tap.transcript());
    assert_eq!(store.get(&key).await.unwrap().unwrap().url, old.as_str());
}

#[tokio::test]
async fn an_explicit_url_that_is_gone_is_not_recreated_by_default() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let client = tap.client(&server.endpoint());
    let bytes = data(SIZE);
    let mut first = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .build()
        .unwrap();
    first.upload_until(CHUNK).await.unwrap();
    let url = first.url().unwrap().clone();
    client.terminate(url.as_str()).await.unwrap();
    let mut second = client
        .uploader()
        .url(url.as_str())
        .reader(Cursor::new(bytes.clone()))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let error = second.upload().await.unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::NOT_FOUND),
        "{error:?}"
    );
    assert_eq!(server.request_count("POST"), 1);
}

#[tokio::test]
async fn a_404_on_patch_of_a_created_upload_starts_over() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 404);
    let tap = Tap::reqwest();
    let store = Arc::new(MemoryStorage::new());
    let events = Events::default();
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .storage(Arc::clone(&store))
        .remove_record_on_success(false)
        .retry_delay(2, QUICK)
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 2);
    assert_ne!(uploads[0].url, summary.url.as_str());
    assert_eq!(uploads[0].offset, CHUNK);
    let key = uploader.fingerprint_key().unwrap();
    assert_eq!(
        store.get(key).await.unwrap().unwrap().url,
        summary.url.as_str()
    );
    assert_eq!(events.started_over().len(), 1);
}

#[tokio::test]
async fn starting_over_is_bounded() {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Fail(404));
    let tap = Tap::reqwest();
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(data(SIZE)))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .retry_delay(5, QUICK)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::NOT_FOUND),
        "{error:?}"
    );
    // The first upload, then two fresh starts; the third 404 is reported.
    assert_eq!(server.request_count("POST"), 3, "{}", tap.transcript());
    assert_eq!(server.request_count("PATCH"), 3);
}

/// Other 4xx: the request was understood and refused; repeating it cannot help. (A 403 on a
/// PATCH is a refusal too; only on HEAD does it mean the upload is gone. A 400 on a PATCH
/// without a checksum is a malformed request: only with `Upload-Checksum` can it mean "unknown
/// algorithm", which is resent.)
#[tokio::test]
async fn other_client_errors_fail_at_once_with_the_status_and_the_body() {
    for status in [400u16, 401, 403, 405, 415, 422] {
        let server = TusMockServer::start().await;
        server.fail_patch(1, status);
        let tap = Tap::reqwest();
        let events = Events::default();
        let mut uploader = tap
            .client(&server.endpoint())
            .uploader()
            .reader(Cursor::new(data(SIZE)))
            .chunk_size(CHUNK)
            .creation_with_upload(false)
            .retry_delay(5, QUICK)
            .on_progress(events.callback())
            .build()
            .unwrap();
        let error = uploader.upload().await.unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert!(
            error.body().unwrap().contains("injected fault"),
            "{status}: {:?}",
            error.body()
        );
        assert!(error.to_string().contains(&status.to_string()));
        // Exactly one PATCH, and nothing after it.
        let log = tap.log();
        assert_eq!(tap.of(&Method::PATCH).len(), 1, "{status}");
        assert_eq!(log.last().unwrap().method, Method::PATCH, "{status}");
        assert!(events.retries().is_empty(), "{status}");
    }
}

#[tokio::test]
async fn a_5xx_on_the_creation_post_is_retried_and_a_4xx_is_not() {
    let server = TusMockServer::start().await;
    server.fail_next_post(503);
    let tap = Tap::reqwest();
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(server.request_count("POST"), 2);
    assert_eq!(server.uploads().len(), 1);

    let server = TusMockServer::start().await;
    server.fail_next_post(403);
    let tap = Tap::reqwest();
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
    assert_eq!(server.request_count("POST"), 1);
    assert!(server.uploads().is_empty());
}

/// A 400 on a PATCH that carried `Upload-Checksum` is the checksum extension's answer to an
/// algorithm the server does not take: the chunk is resent (bounded by the policy).
#[tokio::test]
async fn a_400_on_a_checksummed_patch_is_resent() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 400);
    let tap = Tap::reqwest();
    let bytes = data(SIZE);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .checksum(ChecksumAlgorithm::Sha256)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let failed = nth(&log, &Method::PATCH, 2);
    assert_eq!(log[failed].status(), Some(400));
    assert_eq!(assert_resynced(&log, failed), CHUNK);
}
