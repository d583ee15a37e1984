//! Stall detection: a request that makes no progress for `stall_timeout` is dropped and
//! retried, long before the server would answer; an upload that is slow but moving is not a
//! stall.

use std::io::Cursor;
use std::time::{Duration, Instant};

use http::Method;
use tusky::transport::PIECE;
use tusky::ProgressEvent;
use tusky_mock_server::TusMockServer;

use crate::common::{
    assert_resynced, data, data_file, nth, patch_upload_of, stored, upload_of, Builder, Events,
    Exchange, Fault, Outcome, Tap, QUICK,
};

const CHUNK: u64 = 3000;
const STALL: Duration = Duration::from_millis(200);

/// Uploads `bytes` with `builder` (stall timeout [`STALL`], retries 1 ms apart) and checks
/// that it ends with exactly those bytes after a stall, long before the late answers of these
/// tests (10 s) could come; returns the exchanges.
async fn finish_despite_a_stall(
    server: &TusMockServer,
    tap: &Tap,
    builder: Builder<Tap>,
    bytes: &[u8],
) -> Vec<Exchange> {
    let mut uploader = builder
        .stall_timeout(Some(STALL))
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let started = Instant::now();
    let summary = tokio::time::timeout(Duration::from_secs(5), uploader.upload())
        .await
        .unwrap_or_else(|_| panic!("the upload hung:\n{}", tap.transcript()))
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    let took = started.elapsed();
    assert!(took >= STALL && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(stored(server, &summary.url), bytes);
    tap.log()
}

/// The server takes the PATCH, stores nothing and would answer only after 10 s.
/// [`finish_despite_a_stall`] for 10 000 bytes sent in PATCHes of [`CHUNK`] through `tap`.
async fn plain_upload_despite_a_stall(server: &TusMockServer, tap: &Tap) -> Vec<Exchange> {
    let bytes = data(10_000);
    let builder = patch_upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK);
    finish_despite_a_stall(server, tap, builder, &bytes).await
}

#[tokio::test]
async fn a_stalled_patch_is_dropped_and_retried() {
    let server = TusMockServer::start().await;
    server.stall_patch(2, Duration::from_secs(10));
    let tap = Tap::reqwest();
    let events = Events::default();
    let bytes = data(10_000);
    let builder = patch_upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK)
        .on_progress(events.callback());
    let log = finish_despite_a_stall(&server, &tap, builder, &bytes).await;
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
    let log = plain_upload_despite_a_stall(&server, &tap).await;
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
    let log = plain_upload_despite_a_stall(&server, &tap).await;
    let hung = nth(&log, &Method::PATCH, 1);
    assert_eq!(assert_resynced(&log, hung), 0);
}

/// Each PATCH takes longer than the stall timeout, but bytes keep moving: no retry.
#[tokio::test]
async fn a_slow_but_moving_upload_is_not_a_stall() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    // A slow link: a 128 KiB piece every 50 ms.
    let bytes_per_second = 20 * PIECE as u64;
    tap.on_every(Method::PATCH, Fault::SlowLink { bytes_per_second });
    let events = Events::default();
    let chunk = 10 * PIECE as u64;
    let bytes = data(2 * chunk as usize + 1000);
    let stall = Duration::from_millis(400);
    let mut uploader = patch_upload_of(&tap.client(&server.endpoint()), &bytes, chunk)
        .stall_timeout(Some(stall))
        .retry_delay(2, QUICK)
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
    let log = plain_upload_despite_a_stall(&server, &tap).await;
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
    let builder = upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK);
    finish_despite_a_stall(&server, &tap, builder, &bytes).await;
    let posts = tap.of(&Method::POST);
    assert_eq!(posts.len(), 2, "{}", tap.transcript());
    assert_eq!(posts[0].outcome, Outcome::Pending);
    assert_eq!(posts[0].body_len, CHUNK);
    assert_eq!(server.uploads().len(), 1);
}

/// On a link slower than one chunk per stall timeout, but steadily moving, a stream source
/// (unknown length) uploads like a file does: the stall watchdog must see its bytes move.
#[tokio::test]
async fn a_stream_on_a_slow_but_moving_link_is_not_taken_for_stalled() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    // 512 KiB/s: a 128 KiB piece every quarter second, a 1 MiB chunk every two seconds.
    let link = Fault::SlowLink {
        bytes_per_second: 512 * 1024,
    };
    tap.on_every(Method::POST, link.clone());
    tap.on_every(Method::PATCH, link);
    let client = tap.client(&server.endpoint());
    let (bytes, _dir, path) = data_file(1_200_000);
    let build = |builder: tusky::UploaderBuilder<_, _, _>| {
        builder
            .chunk_size(1024 * 1024)
            .stall_timeout(Some(Duration::from_millis(800)))
            .retry_delay(2, Duration::from_millis(10))
            .build()
            .unwrap()
    };

    let file = build(client.uploader().path(&path)).upload().await.unwrap();
    assert_eq!(stored(&server, &file.url), bytes);

    // The same bytes from a stream.
    let stream = build(client.uploader().stream(Cursor::new(bytes.clone())))
        .upload()
        .await
        .unwrap();
    assert_eq!(stored(&server, &stream.url), bytes);
    assert_eq!(
        tap.log()
            .iter()
            .filter(|e| e.outcome == Outcome::Pending)
            .count(),
        0,
        "{}",
        tap.transcript()
    );
}

#[test]
fn a_zero_stall_timeout_is_refused_at_build() {
    let client = tusky::Client::new("http://127.0.0.1:9/files/").unwrap();
    let error = client
        .uploader()
        .reader(Cursor::new(vec![1u8]))
        .stall_timeout(Some(Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("stall timeout"), "{error}");
}
