//! Progress events: `Started` first, `Acknowledged` never backwards and ending at the size,
//! `ChunkCompleted` ranges contiguous, `RetryScheduled` with the error and the delay,
//! `BytesSent` while a slow body streams, `Finished` last.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tusky::storage::MemoryStorage;
use tusky::transport::PIECE;
use tusky::ProgressEvent;
use tusky_mock_server::TusMockServer;

use crate::common::{
    cancel_when_acknowledged, client_for, data, data_file, parallel_upload_of, patch_upload_of,
    server_and_client, upload_exactly, upload_of, Events, Fault, Tap, QUICK,
};

const CHUNK: u64 = 3000;

/// The checks every complete upload's events pass: exactly one `Started`, first, at `from`;
/// `Acknowledged` within `from..=size`, never backwards, ending at `size`; `ChunkCompleted`
/// ranges contiguous from `from` to `size`, each after the `Acknowledged` of its end; exactly
/// one `Finished`, last, with the URL and the size.
fn check_complete(events: &Events, from: u64, size: u64, url: &url::Url) {
    let all = events.all();
    let names: Vec<String> = all
        .iter()
        .map(|e| format!("{e:?}").chars().take(90).collect())
        .collect();
    let starts: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, ProgressEvent::Started { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts, [0], "Started is not (only) first: {names:#?}");
    let ProgressEvent::Started { offset, total, .. } = &all[0] else {
        unreachable!()
    };
    assert_eq!((*offset, *total), (from, Some(size)), "{names:#?}");
    let ProgressEvent::Finished { url: done, total } = all.last().unwrap() else {
        panic!("Finished is not last: {names:#?}");
    };
    assert_eq!((done, *total), (url, size));
    let finished = all
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Finished { .. }))
        .count();
    assert_eq!(finished, 1, "{names:#?}");

    let acknowledged = events.acknowledged();
    assert!(
        acknowledged.windows(2).all(|w| w[0] <= w[1]),
        "Acknowledged went backwards: {acknowledged:?}"
    );
    assert!(acknowledged.iter().all(|o| (from..=size).contains(o)));
    assert_eq!(acknowledged.last(), Some(&size), "{names:#?}");

    let chunks = events.chunks();
    let mut next = from;
    for (start, end) in &chunks {
        assert_eq!(*start, next, "ChunkCompleted not contiguous: {chunks:?}");
        assert!(end >= start);
        next = *end;
    }
    assert_eq!(
        next, size,
        "ChunkCompleted does not reach the size: {chunks:?}"
    );
    let mut last_ack = None;
    for event in &all {
        match event {
            ProgressEvent::Acknowledged { offset, total } => {
                assert_eq!(*total, Some(size));
                last_ack = Some(*offset);
            }
            ProgressEvent::ChunkCompleted { end, .. } => {
                assert_eq!(last_ack, Some(*end), "{names:#?}")
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_multi_chunk_upload_reports_in_order() {
    for creation_with_upload in [false, true] {
        let (server, client) = server_and_client().await;
        let events = Events::default();
        let bytes = data(10_000);
        let builder = upload_of(&client, &bytes, CHUNK)
            .creation_with_upload(creation_with_upload)
            .on_progress(events.callback());
        let (_, summary) = upload_exactly(&server, builder, &bytes).await;
        check_complete(&events, 0, 10_000, &summary.url);
        assert_eq!(
            events.chunks().len(),
            4,
            "creation_with_upload {creation_with_upload}"
        );
    }
}

#[tokio::test]
async fn a_retry_is_reported_with_its_error_and_delay() {
    let (server, client) = server_and_client().await;
    server.fail_patch(2, 503);
    let events = Events::default();
    let bytes = data(10_000);
    let delay = Duration::from_millis(7);
    let builder = patch_upload_of(&client, &bytes, CHUNK)
        .retry_delay(3, delay)
        .on_progress(events.callback());
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    check_complete(&events, 0, 10_000, &summary.url);
    let retries = events.retries();
    assert_eq!(retries.len(), 1);
    let (error, attempt, scheduled) = &retries[0];
    assert!(error.contains("503"), "{error}");
    assert!(error.contains("injected fault"), "{error}");
    assert_eq!((*attempt, *scheduled), (1, delay));
    // Between the first chunk and the second.
    let all = events.all();
    let at = all
        .iter()
        .position(|e| matches!(e, ProgressEvent::RetryScheduled { .. }))
        .unwrap();
    assert!(matches!(
        all[at - 1],
        ProgressEvent::ChunkCompleted { end: CHUNK, .. }
    ));
}

#[tokio::test]
async fn a_resumed_upload_starts_at_the_servers_offset() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(10_000);
    let mut first = upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    first.upload_until(2 * CHUNK).await.unwrap();
    let events = Events::default();
    let builder = upload_of(&client, &bytes, CHUNK)
        .storage(Arc::clone(&store))
        .on_progress(events.callback());
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    check_complete(&events, 2 * CHUNK, 10_000, &summary.url);
    assert!(matches!(
        events.all()[0],
        ProgressEvent::Started { resumed: true, .. }
    ));
}

/// A body that streams slowly reports `BytesSent` as it goes: increasing, within the chunk
/// being sent, ahead of or at what the server acknowledged — from a caller's reader and from a
/// file (read in blocks, handed over in pieces).
#[tokio::test]
async fn bytes_sent_is_reported_while_a_slow_body_streams() {
    for from_file in [false, true] {
        bytes_sent_while_a_slow_body_streams(from_file).await;
    }
}

async fn bytes_sent_while_a_slow_body_streams(from_file: bool) {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    // A slow link: a 128 KiB piece every 50 ms.
    let bytes_per_second = 20 * PIECE as u64;
    tap.on_every(Method::PATCH, Fault::SlowLink { bytes_per_second });
    let events = Events::default();
    let chunk = 4 * PIECE as u64;
    let size = 2 * chunk + 10;
    let (bytes, _dir, path) = data_file(size as usize);
    let client = tap.client(&server.endpoint());
    let builder = match from_file {
        true => client.uploader().path(&path).chunk_size(chunk),
        false => upload_of(&client, &bytes, chunk),
    };
    let builder = builder
        .creation_with_upload(false)
        .stall_timeout(Some(Duration::from_secs(5)))
        .on_progress(events.callback());
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    check_complete(&events, 0, size, &summary.url);
    let mut acknowledged = 0;
    let mut sent_seen = Vec::new();
    for event in events.all() {
        match event {
            ProgressEvent::Acknowledged { offset, .. } => acknowledged = offset,
            ProgressEvent::BytesSent { sent, total } => {
                assert_eq!(total, Some(size));
                assert!(sent > acknowledged, "{sent} <= {acknowledged}");
                assert!(sent <= (acknowledged + chunk).min(size));
                sent_seen.push(sent);
            }
            _ => {}
        }
    }
    assert!(sent_seen.len() >= 2, "file: {from_file}, {sent_seen:?}");
    assert!(sent_seen.windows(2).all(|w| w[0] <= w[1]), "{sent_seen:?}");
}

/// A parallel upload reports one `Started`, the acknowledged sum over the partial uploads
/// (never backwards, ending at the size) and one `Finished` for the final upload.
#[tokio::test]
async fn a_parallel_upload_reports_in_order() {
    for creation_with_upload in [false, true] {
        let (server, client) = server_and_client().await;
        let (bytes, _dir, path) = data_file(30_001);
        let events = Events::default();
        let builder = parallel_upload_of(&client, &path, 3, 4000)
            .creation_with_upload(creation_with_upload)
            .on_progress(events.callback());
        upload_exactly(&server, builder, &bytes).await;
        let all = events.all();
        assert!(
            matches!(all[0], ProgressEvent::Started { offset: 0, .. }),
            "creation_with_upload {creation_with_upload}: {:?}",
            &all[..3]
        );
        assert!(matches!(
            all.last(),
            Some(ProgressEvent::Finished { total: 30_001, .. })
        ));
        let acknowledged = events.acknowledged();
        assert!(acknowledged.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(acknowledged.last(), Some(&30_001));
    }
}

/// A parallel upload resumed after a cancellation: partial uploads that are already complete
/// send nothing, yet their bytes count, and the acknowledged sum ends at the size.
#[tokio::test]
async fn a_resumed_parallel_upload_counts_what_its_partial_uploads_hold() {
    let server = TusMockServer::start().await;
    let (bytes, _dir, path) = data_file(30_003);
    let store = Arc::new(MemoryStorage::new());
    let client = client_for(&server);
    // One PATCH per partial upload; cancelled as soon as the first one completes.
    let (token, cancel_at_first_chunk) = cancel_when_acknowledged(1);
    let mut first = parallel_upload_of(&client, &path, 3, 10_001)
        .creation_with_upload(false)
        .storage(Arc::clone(&store))
        .cancellation_token(token)
        .on_progress(cancel_at_first_chunk)
        .build()
        .unwrap();
    assert!(first.upload().await.is_err());
    assert!(server.uploads().iter().any(|u| u.offset == 10_001));

    let events = Events::default();
    let builder = parallel_upload_of(&client, &path, 3, 10_001)
        .creation_with_upload(false)
        .storage(Arc::clone(&store))
        .on_progress(events.callback());
    upload_exactly(&server, builder, &bytes).await;
    let all = events.all();
    assert!(matches!(
        all[0],
        ProgressEvent::Started { resumed: true, .. }
    ));
    assert!(matches!(
        all.last(),
        Some(ProgressEvent::Finished { total: 30_003, .. })
    ));
    let acknowledged = events.acknowledged();
    assert!(acknowledged.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(acknowledged.last(), Some(&30_003), "{all:#?}");
}

/// The server stored a chunk but its answer was lost; the HEAD that follows finds the bytes.
/// They are reported as acknowledged then, so progress stays contiguous and, when the lost
/// answer was the last one, still ends at the size.
#[tokio::test]
async fn bytes_found_by_a_head_after_a_lost_answer_are_acknowledged() {
    use tusky::transport::TransportErrorKind;
    // A lost answer in the middle (transport), and on the last chunk (held back by the server
    // past the stall timeout).
    for last in [false, true] {
        let server = TusMockServer::start().await;
        let tap = Tap::reqwest();
        if last {
            server.delay_patch(4, Duration::from_secs(10));
        } else {
            tap.on(
                Method::PATCH,
                2,
                Fault::LoseAnswer(TransportErrorKind::Connection),
            );
        }
        let events = Events::default();
        let bytes = data(10_000);
        let builder = patch_upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK)
            .stall_timeout(Some(Duration::from_millis(200)))
            .retry_delay(2, QUICK)
            .on_progress(events.callback());
        let (_, summary) = upload_exactly(&server, builder, &bytes).await;
        assert_eq!(events.retries().len(), 1, "last {last}");
        check_complete(&events, 0, 10_000, &summary.url);
    }
}
