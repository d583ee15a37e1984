//! Stall detection: a request that makes no progress for `stall_timeout` is dropped and
//! retried, long before the server would answer; an upload that is slow but moving is not a
//! stall.

use std::io::Cursor;
use std::time::{Duration, Instant};

use http::Method;
use tusky::{ProgressEvent, PIECE};
use tusky_mock_server::TusMockServer;

use crate::support::{assert_resynced, data, nth, stored, Events, Fault, Outcome, Tap};

const MS: Duration = Duration::from_millis(1);
const CHUNK: u64 = 3000;
const STALL: Duration = Duration::from_millis(200);

/// The server takes the PATCH, stores nothing and would answer only after 10 s.
#[tokio::test]
async fn a_stalled_patch_is_dropped_and_retried() {
    let server = TusMockServer::start().await;
    server.stall_patch(2, Duration::from_secs(10));
    let tap = Tap::reqwest();
    let events = Events::default();
    let bytes = data(10_000);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .stall_timeout(Some(STALL))
        .retry_delay(2, MS)
        .on_progress(events.callback())
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    let took = started.elapsed();
    assert!(took >= STALL, "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let stalled = nth(&log, &Method::PATCH, 2);
    // The request was dropped by the client, not answered.
    assert_eq!(log[stalled].outcome, Outcome::Pending);
    assert_eq!(assert_resynced(&log, stalled), CHUNK);
    let retries = events.retries();
    assert_eq!(retries.len(), 1);
    assert!(retries[0].0.contains("stalled"), "{retries:?}");
}

/// The server stored the PATCH but holds its answer back: after the stall the client re-reads
/// the offset and goes on from what the server has.
#[tokio::test]
async fn a_late_answer_is_given_up_on_and_the_stored_bytes_kept() {
    let server = TusMockServer::start().await;
    server.delay_patch(2, Duration::from_secs(10));
    let tap = Tap::reqwest();
    let bytes = data(10_000);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .stall_timeout(Some(STALL))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = uploader.upload().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let stalled = nth(&log, &Method::PATCH, 2);
    assert_eq!(log[stalled].outcome, Outcome::Pending);
    assert_eq!(assert_resynced(&log, stalled), 2 * CHUNK);
}

/// A request that never ends at all (the transport hangs) is given up on just the same.
#[tokio::test]
async fn a_patch_that_never_ends_is_given_up_on() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    tap.on(Method::PATCH, 1, Fault::Hang);
    let bytes = data(10_000);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .stall_timeout(Some(STALL))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(5), uploader.upload())
        .await
        .expect("the upload hung")
        .unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let hung = nth(&log, &Method::PATCH, 1);
    assert_eq!(assert_resynced(&log, hung), 0);
}

/// Each PATCH takes longer than the stall timeout, but bytes keep moving: no retry.
#[tokio::test]
async fn a_slow_but_moving_upload_is_not_a_stall() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let per_piece = Duration::from_millis(50);
    tap.on_every(Method::PATCH, Fault::Throttle(per_piece));
    let events = Events::default();
    let chunk = 10 * PIECE as u64;
    let bytes = data(2 * chunk as usize + 1000);
    let stall = Duration::from_millis(400);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(chunk)
        .creation_with_upload(false)
        .stall_timeout(Some(stall))
        .retry_delay(2, MS)
        .on_progress(events.callback())
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = uploader.upload().await.unwrap();
    // Two full chunks of ten throttled pieces each: every PATCH outlasted the stall timeout.
    assert!(started.elapsed() > 2 * stall, "{:?}", started.elapsed());
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(events.retries().is_empty(), "{:?}", events.retries());
    assert_eq!(tap.of(&Method::PATCH).len(), 3);
    assert!(events
        .all()
        .iter()
        .any(|e| matches!(e, ProgressEvent::BytesSent { .. })));
}

/// A HEAD (after a failed PATCH) that gets no answer is a stall too: with no body to make
/// progress with, the stall timeout bounds the wait for its answer.
#[tokio::test]
async fn a_head_that_gets_no_answer_is_given_up_on() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 500);
    server.delay_request("HEAD", 1, Duration::from_secs(10));
    let tap = Tap::reqwest();
    let bytes = data(10_000);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .creation_with_upload(false)
        .stall_timeout(Some(STALL))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = tokio::time::timeout(Duration::from_secs(5), uploader.upload())
        .await
        .unwrap_or_else(|_| panic!("the upload hung:\n{}", tap.transcript()))
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(stored(&server, &summary.url), bytes);
    let log = tap.log();
    let stalled = nth(&log, &Method::HEAD, 1);
    assert_eq!(log[stalled].outcome, Outcome::Pending);
    assert_eq!(assert_resynced(&log, stalled), CHUNK);
}

/// The creation POST carries the first chunk (creation-with-upload): it is watched for stalls
/// like a PATCH.
#[tokio::test]
async fn a_creation_post_that_stalls_is_given_up_on() {
    use tusky_mock_server::wiremock::matchers::method;
    use tusky_mock_server::wiremock::{Mock, ResponseTemplate};
    let server = TusMockServer::start().await;
    // The first POST is taken and never answered in time; nothing is created.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(408).set_delay(Duration::from_secs(10)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let tap = Tap::reqwest();
    let bytes = data(10_000);
    let mut uploader = tap
        .client(&server.endpoint())
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(CHUNK)
        .stall_timeout(Some(STALL))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = tokio::time::timeout(Duration::from_secs(5), uploader.upload())
        .await
        .unwrap_or_else(|_| panic!("the upload hung:\n{}", tap.transcript()))
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(stored(&server, &summary.url), bytes);
    let posts = tap.of(&Method::POST);
    assert_eq!(posts.len(), 2, "{}", tap.transcript());
    assert_eq!(posts[0].outcome, Outcome::Pending);
    assert_eq!(posts[0].body_len, CHUNK);
    assert_eq!(server.uploads().len(), 1);
}
