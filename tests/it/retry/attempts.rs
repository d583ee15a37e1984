//! The attempt counter and retry policies: failures are counted in a row, progress resets the
//! count, a policy sees attempts 1, 2, 3..., and 423 storms are ridden out.

use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::Method;
use tusky::{Error, ExponentialBackoff, NoRetry, RetryPolicy};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, data, patch_upload_of, server_and_client, stored, upload_error, upload_exactly,
    Events, Tap, QUICK,
};

const CHUNK: u64 = 3000;

#[tokio::test]
async fn the_attempt_counter_resets_whenever_the_offset_advances() {
    let (server, client) = server_and_client().await;
    // Two failures before every successful PATCH: 8 failures in all, never 3 in a row.
    server.set_patch_hook(|ctx: &PatchContext| {
        if ctx.number.is_multiple_of(3) {
            PatchAction::Accept
        } else {
            PatchAction::Fail(500)
        }
    });
    let events = Events::default();
    let bytes = data(4 * CHUNK as usize);
    let builder = patch_upload_of(&client, &bytes, CHUNK)
        .retry_delay(2, QUICK)
        .on_progress(events.callback());
    upload_exactly(&server, builder, &bytes).await;
    let attempts: Vec<u32> = events.retries().iter().map(|r| r.1).collect();
    assert_eq!(attempts, [1, 2, 1, 2, 1, 2, 1, 2]);
}

#[tokio::test]
async fn three_failures_in_a_row_exhaust_two_retries() {
    let (server, client) = server_and_client().await;
    for n in 2..=4 {
        server.fail_patch(n, 500);
    }
    let bytes = data(4 * CHUNK as usize);
    let error = upload_error(patch_upload_of(&client, &bytes, CHUNK).retry_delay(2, QUICK)).await;
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("expected RetriesExhausted, got {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert_eq!(last.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        error.status(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(server.request_count("PATCH"), 4);
    let upload = &server.uploads()[0];
    assert_eq!(
        server.upload_bytes(&upload.url).unwrap(),
        bytes[..CHUNK as usize]
    );
}

/// A HEAD that succeeds is not progress: failures of HEAD and PATCH add up until the offset
/// moves.
#[tokio::test]
async fn failed_heads_and_patches_count_together() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 500);
    server.fail_request("HEAD", 1, 503);
    server.fail_patch(3, 423);
    let tap = Tap::reqwest();
    let error = upload_error(
        patch_upload_of(
            &tap.client(&server.endpoint()),
            &data(4 * CHUNK as usize),
            CHUNK,
        )
        .retry_delay(2, QUICK),
    )
    .await;
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 3, .. }),
        "{error:?}\n{}",
        tap.transcript()
    );
    assert_eq!(error.status(), Some(http::StatusCode::LOCKED));
    let statuses: Vec<(Method, Option<u16>)> = tap
        .log()
        .iter()
        .filter(|e| e.method != Method::OPTIONS && e.method != Method::POST)
        .map(|e| (e.method.clone(), e.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            (Method::PATCH, Some(204)),
            (Method::PATCH, Some(500)),
            (Method::HEAD, Some(503)),
            (Method::HEAD, Some(200)),
            (Method::PATCH, Some(423)),
        ]
    );
}

/// `(attempt, elapsed, status)` of each question a policy was asked.
type Asked = Arc<Mutex<Vec<(u32, Duration, Option<u16>)>>>;

/// A policy that records what it is asked and allows `max` retries in a row.
#[derive(Debug, Clone, Default)]
struct Recording {
    max: u32,
    seen: Asked,
}

impl RetryPolicy for Recording {
    fn next_delay(&self, attempt: u32, elapsed: Duration, error: &Error) -> Option<Duration> {
        self.seen
            .lock()
            .unwrap()
            .push((attempt, elapsed, error.status().map(|s| s.as_u16())));
        (attempt <= self.max).then_some(Duration::from_millis(2))
    }
}

#[tokio::test]
async fn a_custom_policy_sees_attempts_1_2_3_and_the_error() {
    let (server, client) = server_and_client().await;
    for (n, status) in [(2, 500), (3, 503), (4, 423), (6, 409), (7, 460)] {
        server.fail_patch(n, status);
    }
    let policy = Recording {
        max: 3,
        ..Recording::default()
    };
    let bytes = data(4 * CHUNK as usize);
    let builder = patch_upload_of(&client, &bytes, CHUNK).retry_policy(policy.clone());
    upload_exactly(&server, builder, &bytes).await;
    let seen = policy.seen.lock().unwrap().clone();
    let attempts: Vec<u32> = seen.iter().map(|s| s.0).collect();
    let statuses: Vec<Option<u16>> = seen.iter().map(|s| s.2).collect();
    assert_eq!(attempts, [1, 2, 3, 1, 2]);
    assert_eq!(
        statuses,
        [Some(500), Some(503), Some(423), Some(409), Some(460)]
    );
    // `elapsed` is the time since the last progress: it grows within a run of failures.
    assert!(seen[0].1 <= seen[1].1 && seen[1].1 <= seen[2].1, "{seen:?}");
    assert!(seen[1].1 >= Duration::from_millis(2), "{seen:?}");

    // The same policy gives up on the fourth failure in a row.
    let (server, client) = server_and_client().await;
    for n in 2..=5 {
        server.fail_patch(n, 503);
    }
    let policy = Recording {
        max: 3,
        ..Recording::default()
    };
    let error =
        upload_error(patch_upload_of(&client, &bytes, CHUNK).retry_policy(policy.clone())).await;
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    let attempts: Vec<u32> = policy.seen.lock().unwrap().iter().map(|s| s.0).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
}

/// With no retries the first failure comes back as it is (not wrapped in RetriesExhausted),
/// after exactly one PATCH.
#[tokio::test]
async fn no_retry_reports_the_first_failure_as_it_is() {
    let server = TusMockServer::start().await;
    server.fail_patch(1, 503);
    let error = upload_error(
        client_for(&server)
            .uploader()
            .reader(Cursor::new(data(100)))
            .creation_with_upload(false)
            .retry_policy(NoRetry),
    )
    .await;
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(server.request_count("PATCH"), 1);
    assert_eq!(server.request_count("HEAD"), 0);
}

#[test]
fn exponential_backoff_stops_at_max_elapsed() {
    let mut policy = ExponentialBackoff::fixed(1000, Duration::from_millis(10));
    policy.max_elapsed = Some(Duration::from_millis(200));
    let error = Error::Config("x".to_owned());
    assert_eq!(
        policy.next_delay(1, Duration::from_millis(199), &error),
        Some(Duration::from_millis(10))
    );
    assert_eq!(
        policy.next_delay(1, Duration::from_millis(200), &error),
        None
    );
    assert_eq!(
        policy.next_delay(999, Duration::ZERO, &error),
        Some(Duration::from_millis(10))
    );
    assert_eq!(policy.next_delay(1001, Duration::ZERO, &error), None);
}

/// End to end on the real clock: a server that stays locked is given up on once `max_elapsed`
/// has passed without progress, long before the retry count runs out.
#[tokio::test]
async fn exponential_backoff_gives_up_after_max_elapsed_without_progress() {
    let (server, client) = server_and_client().await;
    server.set_patch_hook(|ctx: &PatchContext| {
        if ctx.number == 1 {
            PatchAction::Accept
        } else {
            PatchAction::Locked
        }
    });
    let mut policy = ExponentialBackoff::fixed(10_000, Duration::from_millis(10));
    policy.max_elapsed = Some(Duration::from_millis(300));
    let mut uploader = patch_upload_of(&client, &data(4 * CHUNK as usize), CHUNK)
        .retry_policy(policy)
        .build()
        .unwrap();
    let started = Instant::now();
    let error = uploader.upload().await.unwrap_err();
    let took = started.elapsed();
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("expected RetriesExhausted, got {error:?}");
    };
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!((2..10_000).contains(attempts), "{attempts}");
    assert_eq!(last.status(), Some(http::StatusCode::LOCKED));
}

#[tokio::test]
async fn a_storm_of_423s_on_patch_is_ridden_out() {
    let (server, client) = server_and_client().await;
    server.set_patch_hook(|ctx: &PatchContext| {
        if (2..=21).contains(&ctx.number) {
            PatchAction::Locked
        } else {
            PatchAction::Accept
        }
    });
    let events = Events::default();
    let bytes = data(4 * CHUNK as usize);
    let builder = patch_upload_of(&client, &bytes, CHUNK)
        .retry_policy(ExponentialBackoff::fixed(25, QUICK))
        .on_progress(events.callback());
    upload_exactly(&server, builder, &bytes).await;
    let retries = events.retries();
    assert_eq!(
        retries.iter().map(|r| r.1).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<u32>>()
    );
    assert!(retries.iter().all(|r| r.0.contains("423")), "{retries:?}");
}

/// The whole upload is locked (HEAD too, as tusd does while another request holds it) for 20
/// attempts, then released.
#[tokio::test]
async fn a_storm_of_423s_on_head_and_patch_is_ridden_out() {
    let server = Arc::new(TusMockServer::start().await);
    let tap = Tap::reqwest();
    let events = Events::default();
    let record = events.callback();
    let locker = Arc::clone(&server);
    let bytes = data(4 * CHUNK as usize);
    let mut uploader = patch_upload_of(&tap.client(&server.endpoint()), &bytes, CHUNK)
        .retry_policy(ExponentialBackoff::fixed(25, QUICK))
        .on_progress(move |event| {
            record(event);
            match event {
                tusky::ProgressEvent::ChunkCompleted { end, .. } if *end == CHUNK => {
                    locker.lock_uploads(true)
                }
                tusky::ProgressEvent::RetryScheduled { attempt: 20, .. } => {
                    locker.lock_uploads(false)
                }
                _ => {}
            }
        })
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(events.retries().len(), 20);
    let locked: Vec<Method> = tap
        .log()
        .iter()
        .filter(|e| e.status() == Some(423))
        .map(|e| e.method.clone())
        .collect();
    assert_eq!(locked.len(), 20);
    assert_eq!(locked[0], Method::PATCH);
    assert!(locked[1..].iter().all(|m| m == Method::HEAD));
}

/// A server that answers every PATCH 204 without keeping a byte is given up on after a
/// bounded number of PATCHes, with a protocol error saying so.
#[tokio::test]
async fn a_server_that_keeps_nothing_is_given_up_on() {
    let (server, client) = server_and_client().await;
    server.set_patch_hook(|ctx: &PatchContext| {
        if ctx.number == 1 {
            PatchAction::Accept
        } else {
            PatchAction::AcceptPartial(0)
        }
    });
    let mut uploader = patch_upload_of(&client, &data(4 * CHUNK as usize), CHUNK)
        .retry_delay(2, QUICK)
        .build()
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(3), uploader.upload()).await;
    let patches = server.request_count("PATCH");
    let Ok(result) = outcome else {
        panic!("upload() still running after 3 s and {patches} PATCHes");
    };
    let error = result.unwrap_err();
    assert!(matches!(error, tusky::Error::Protocol { .. }), "{error:?}");
    assert!(
        error.to_string().contains("kept none of the bytes"),
        "{error}"
    );
    assert!(patches < 50, "{patches} PATCHes");
}
