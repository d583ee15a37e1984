//! Cancellation: a token stops the upload promptly (between chunks, mid-PATCH, during a retry
//! wait) and keeps the stored record, so that a new uploader resumes; dropping the `upload()`
//! future is just as safe.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tusky::storage::{MemoryStorage, Storage};
use tusky::{CancellationToken, Error, ExponentialBackoff, ProgressEvent};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    assert_no_records, client_for, data, data_file, parallel_upload_of, patch_upload_of,
    server_and_client, stored, tus_response, upload_cancelled_at, upload_error, upload_exactly,
    upload_of, Events, Tap,
};

const CHUNK: u64 = 3000;
const SIZE: usize = 10_000;

/// `result` is a cancellation, reported within three seconds of `started`.
fn assert_cancelled_promptly<T: std::fmt::Debug>(result: Result<T, Error>, started: Instant) {
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cancelled after {:?}",
        started.elapsed()
    );
}

/// A new uploader of `bytes` over the same store finishes the upload: it resumes the one
/// upload the server has, from at least `at_least`, and ends with exactly the bytes.
async fn resume_and_finish(
    server: &TusMockServer,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    at_least: u64,
) {
    let client = client_for(server);
    let mut again = upload_of(&client, bytes, CHUNK)
        .storage(Arc::clone(store))
        .build()
        .unwrap();
    let summary = again.upload().await.unwrap();
    let resumed_from = summary.resumed_from.expect("the upload was not resumed");
    assert!(resumed_from >= at_least, "resumed from {resumed_from}");
    assert_eq!(stored(server, &summary.url), bytes);
    assert_eq!(server.uploads().len(), 1, "a second upload was created");
    assert_no_records(&store, "the record was kept").await;
}

#[tokio::test]
async fn a_token_cancelled_after_the_first_chunk_stops_and_keeps_the_record() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let token = CancellationToken::new();
    let events = Events::default();
    let record = events.callback();
    let cancel = token.clone();
    let bytes = data(SIZE);
    let mut uploader = patch_upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .cancellation_token(token)
        .on_progress(move |event| {
            record(event);
            if matches!(event, ProgressEvent::ChunkCompleted { .. }) {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    // Promptly: no second PATCH was started.
    assert_eq!(server.request_count("PATCH"), 1);
    assert_eq!(uploader.offset(), CHUNK);
    assert_eq!(events.acknowledged(), [CHUNK]);
    assert_eq!(events.chunks(), [(0, CHUNK)]);
    assert!(!events
        .all()
        .iter()
        .any(|e| matches!(e, ProgressEvent::Finished { .. })));
    let key = uploader.fingerprint_key().unwrap().to_owned();
    let kept = store.get(&key).await.unwrap().expect("the record is gone");
    assert_eq!(kept.url, uploader.url().unwrap().as_str());
    resume_and_finish(&server, &store, &bytes, CHUNK).await;
}

/// Holds the answer to the second PATCH back for longer than any test (the server stores its
/// bytes first, like a server that answers late); what it returns is notified as soon as that
/// PATCH reaches the server.
fn hold_the_second_patch(server: &TusMockServer) -> Arc<Notify> {
    let arrived = Arc::new(Notify::new());
    let notify = Arc::clone(&arrived);
    server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.number == 2 {
            notify.notify_one();
            PatchAction::Delay(Duration::from_secs(10))
        } else {
            PatchAction::Accept
        }
    });
    arrived
}

/// Cancelled while the server holds a PATCH's answer back (it has stored the bytes).
#[tokio::test]
async fn a_token_cancelled_mid_patch_stops_at_once() {
    let (server, client) = server_and_client().await;
    let arrived = hold_the_second_patch(&server);
    let store = Arc::new(MemoryStorage::new());
    let token = CancellationToken::new();
    let bytes = data(SIZE);
    let mut uploader = patch_upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .cancellation_token(token.clone())
        .build()
        .unwrap();
    let started = Instant::now();
    // Cancelled once the second PATCH has reached the server (which holds its answer back).
    let (result, ()) = tokio::join!(uploader.upload(), async {
        arrived.notified().await;
        token.cancel();
    });
    assert_cancelled_promptly(result, started);
    assert_eq!(store.list().await.unwrap().len(), 1);
    resume_and_finish(&server, &store, &bytes, 2 * CHUNK).await;
}

/// Cancelled while waiting to retry: the wait is cut short.
#[tokio::test]
async fn a_token_cancelled_during_a_retry_wait_stops_at_once() {
    let (server, client) = server_and_client().await;
    server.fail_patch(2, 503);
    let store = Arc::new(MemoryStorage::new());
    let token = CancellationToken::new();
    let cancel = token.clone();
    let bytes = data(SIZE);
    let mut uploader = patch_upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .retry_delay(3, Duration::from_secs(30))
        .cancellation_token(token)
        .on_progress(move |event| {
            if matches!(event, ProgressEvent::RetryScheduled { .. }) {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    let started = Instant::now();
    assert_cancelled_promptly(uploader.upload().await, started);
    assert_eq!(server.request_count("HEAD"), 0);
    resume_and_finish(&server, &store, &bytes, CHUNK).await;
}

/// A token cancelled before the upload starts: nothing is sent.
#[tokio::test]
async fn a_token_cancelled_before_the_start_sends_nothing() {
    let server = TusMockServer::start().await;
    let token = CancellationToken::new();
    token.cancel();
    let error = upload_error(
        client_for(&server)
            .uploader()
            .reader(Cursor::new(data(SIZE)))
            .cancellation_token(token),
    )
    .await;
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    assert!(server.received_requests().await.is_empty());
}

/// Dropping the `upload()` future mid-PATCH leaves nothing broken: the record is kept and a
/// new uploader resumes.
#[tokio::test]
async fn dropping_the_upload_future_mid_patch_is_safe() {
    let (server, client) = server_and_client().await;
    let arrived = hold_the_second_patch(&server);
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(SIZE);
    let mut uploader = patch_upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    tokio::select! {
        outcome = uploader.upload() => panic!("the upload was not cut off: {outcome:?}"),
        () = arrived.notified() => {} // upload() is dropped mid-PATCH
    }
    assert_eq!(server.request_count("PATCH"), 2);
    assert_eq!(store.list().await.unwrap().len(), 1);
    drop(uploader);
    resume_and_finish(&server, &store, &bytes, 2 * CHUNK).await;
}

/// The same uploader can be run again after its `upload()` future was dropped mid-PATCH: it
/// does not trust its old offset (the server kept the dropped PATCH's bytes) but asks with
/// HEAD first, so it needs no retry at all.
#[tokio::test]
async fn an_uploader_whose_future_was_dropped_re_reads_the_offset_when_run_again() {
    let server = TusMockServer::start().await;
    let arrived = hold_the_second_patch(&server);
    let tap = Tap::reqwest();
    let bytes = data(SIZE);
    let mut uploader = patch_upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK)
        .retry_policy(tusky::NoRetry)
        .build()
        .unwrap();
    tokio::select! {
        outcome = uploader.upload() => panic!("the upload was not cut off: {outcome:?}"),
        () = arrived.notified() => {} // upload() is dropped mid-PATCH
    }
    let dropped = tap.log().len();
    let summary = uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", tap.transcript()));
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(server.uploads().len(), 1);
    let after = &tap.log()[dropped..];
    assert_eq!(after[0].method, http::Method::HEAD);
    assert_eq!(after[0].answered_offset(), Some(2 * CHUNK));
    assert!(after.iter().all(|e| e.status().is_some_and(|s| s < 300)));
}

/// A parallel upload cancelled once some bytes are acknowledged keeps its record (the partial
/// uploads); a new uploader resumes them and joins them once.
#[tokio::test]
async fn a_cancelled_parallel_upload_resumes_its_partial_uploads() {
    let server = TusMockServer::start().await;
    let (bytes, _dir, path) = data_file(30_001);
    let store = Arc::new(MemoryStorage::new());
    let client = client_for(&server);
    let first = parallel_upload_of(&client, &path, 3, 2000).storage(Arc::clone(&store));
    upload_cancelled_at(first, 8000).await;
    let partials = server.uploads();
    assert_eq!(partials.len(), 3);
    let kept = store.list().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1.partial_urls.len(), 3);
    let acknowledged_before: u64 = partials.iter().map(|u| u.offset).sum();
    assert!(acknowledged_before < 30_001);

    let builder = parallel_upload_of(&client, &path, 3, 2000).storage(Arc::clone(&store));
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    // The three partial uploads were resumed, not created again, and joined once.
    assert_eq!(server.uploads().len(), 4);
    // (PATCHes in flight at the cancellation may still have been stored after the snapshot.)
    let resumed_from = summary.resumed_from.unwrap();
    assert!(
        (acknowledged_before..30_001).contains(&resumed_from),
        "{resumed_from}"
    );
    assert!(store.list().await.unwrap().is_empty());
}

/// Cancelling while the final (concatenation) POST waits to be retried stops the upload
/// promptly, like a cancel anywhere else.
#[tokio::test]
async fn a_token_cancelled_while_the_final_post_waits_to_be_retried_stops_at_once() {
    use tusky_mock_server::wiremock::matchers::{header_regex, method};
    use tusky_mock_server::wiremock::Mock;
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .and(header_regex("upload-concat", "^final;"))
        .respond_with(tus_response(503))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let (_, _dir, path) = data_file(30_000);
    let token = CancellationToken::new();
    let cancel = token.clone();
    let mut uploader = client_for(&server)
        .uploader()
        .path(&path)
        .parallel(2)
        .retry_policy(ExponentialBackoff::fixed(100, Duration::from_secs(5)))
        .cancellation_token(token)
        .on_progress(move |event| {
            if let ProgressEvent::RetryScheduled { .. } = event {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), uploader.upload())
        .await
        .expect("upload() returns");
    assert_cancelled_promptly(result, started);
}
