//! A server that asks to slow down is listened to: 429 and 503 are retried, `Retry-After`
//! (seconds or a date) sets the wait, capped by the policy's longest delay, and one pause holds
//! every part of a parallel upload.

use std::time::Duration;

use tusky::mock::TusMockServer;
use tusky::{Client, ExponentialBackoff, ProgressEvent};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use crate::common::{client_for, data, data_file, parallel_upload_of, upload_exactly, Events};

/// No jitter, 1 ms between ordinary retries, up to `max` for a server's `Retry-After`.
fn policy(max: Duration) -> ExponentialBackoff {
    let mut policy = ExponentialBackoff::default();
    policy.initial_delay = Duration::from_millis(1);
    policy.max_delay = max;
    policy.jitter = false;
    policy
}

/// The next `n` PATCHes are answered `status` with `Retry-After: retry_after`.
async fn slow_down(server: &TusMockServer, n: u64, status: u16, retry_after: &str) {
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(status).insert_header("Retry-After", retry_after))
        .up_to_n_times(n)
        .with_priority(1)
        .mount(server.wiremock())
        .await;
}

fn delays(events: &Events) -> Vec<Duration> {
    events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            ProgressEvent::RetryScheduled { delay, .. } => Some(delay),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_the_server_asks() {
    for (status, retry_after, cap, expected) in [
        (429, "1", Duration::from_secs(10), Duration::from_secs(1)),
        (503, "1", Duration::from_secs(10), Duration::from_secs(1)),
        // Capped by the policy's longest delay.
        (
            429,
            "3600",
            Duration::from_millis(300),
            Duration::from_millis(300),
        ),
    ] {
        let server = TusMockServer::start().await;
        slow_down(&server, 1, status, retry_after).await;
        let events = Events::default();
        let bytes = data(3000);
        let summary = Client::new(server.endpoint())
            .unwrap()
            .uploader()
            .reader(std::io::Cursor::new(bytes.clone()))
            .chunk_size(1000)
            .creation_with_upload(false)
            .retry_policy(policy(cap))
            .on_progress(events.callback())
            .build()
            .unwrap()
            .upload()
            .await
            .unwrap_or_else(|e| panic!("{status} Retry-After {retry_after}: {e}"));
        assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
        assert_eq!(delays(&events), vec![expected], "{status} {retry_after}");
    }
}

/// A parallel upload told to slow down by one part's 429 finishes with the right bytes and one
/// retry (the other parts wait out the shared pause before their next request; this test does
/// not time that, it checks the pause costs them no failures).
#[tokio::test]
async fn a_parallel_upload_told_to_slow_down_finishes_with_one_retry() {
    let server = TusMockServer::start().await;
    slow_down(&server, 1, 429, "1").await;
    let (bytes, _dir, path) = data_file(40_000);
    let events = Events::default();
    let builder = parallel_upload_of(&client_for(&server), &path, 4, 2000)
        .creation_with_upload(false)
        .retry_policy(policy(Duration::from_secs(10)))
        .on_progress(events.callback());
    upload_exactly(&server, builder, &bytes).await;
    assert_eq!(
        delays(&events),
        vec![Duration::from_secs(1)],
        "one retry in all"
    );
}
