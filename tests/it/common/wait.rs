//! Waiting for something to happen, never for a fixed time: a condition polled until a
//! deadline, and a fence that ends what a stopped uploader still has on the way.

use tusky_mock_server::wiremock::matchers::header;
use tusky_mock_server::wiremock::Mock;
use tusky_mock_server::TusMockServer;

use super::requests::tus_response;

#[path = "../../shared/wait_until.rs"]
mod wait_until;
pub use wait_until::wait_until;

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
