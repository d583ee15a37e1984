//! Waiting for a condition instead of sleeping a fixed time. Shared by the library's
//! integration tests (`tests/it`) and the mock server's (`mock-server/tests/it`), which include
//! this file with `#[path]`.

use std::future::Future;
use std::time::{Duration, Instant};

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
