//! Waiting for something to happen, never for a fixed time: a condition polled until a
//! deadline, and a fence that ends what a stopped uploader still has on the way.

use std::future::Future;
use std::time::{Duration, Instant};

use tusky_mock_server::wiremock::matchers::header;
use tusky_mock_server::wiremock::Mock;
use tusky_mock_server::TusMockServer;

use super::requests::tus_response;

/// How often [`wait_until`] looks at its condition again.
const POLL: Duration = Duration::from_millis(10);

/// Waits until `condition` holds, looking again every few milliseconds; panics naming `what`
/// if it still does not hold after `within`.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        // The pause between two looks at the condition, not a guess at how long it takes.
        tokio::time::sleep(POLL).await;
    }
}

/// The header that tags every request of one uploader as one run (`.header(RUN, "first")` on
/// its builder), so that [`shut_out`] can end that run on the server.
pub const RUN: &str = "x-test-run";

/// Ends the run tagged `run` (see [`RUN`]) on the server: from now on its requests are answered
/// 503 and change nothing. Returns once every request of the run that the server had already
/// taken is fully handled: wiremock handles one request at a time and mounting a mock waits
/// its turn. After a cancelled uploader returns, a request it dropped in flight may still be
/// on its way; once this returns, what the server holds is all the run will ever store.
pub async fn shut_out(server: &TusMockServer, run: &str) {
    Mock::given(header(RUN, run))
        .respond_with(tus_response(503))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
}
