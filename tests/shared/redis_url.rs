//! Where the Redis tests find their server. Shared by the storage backends' tests
//! (`storage-backends/tests/it`) and the CLI's (`cli/tests/cli`), which include this file with
//! `#[path]`.

/// The Redis URL to test against (`TUSKY_REDIS_URL`), or `None` (after a printed note) when
/// there is none and none is required (`TUSKY_REDIS_REQUIRED=1` makes a missing one fail).
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("TUSKY_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TUSKY_REDIS_REQUIRED").as_deref(),
                Ok("1"),
                "{test}: TUSKY_REDIS_REQUIRED=1 but TUSKY_REDIS_URL is not set"
            );
            eprintln!("{test}: skipped: set TUSKY_REDIS_URL=redis://127.0.0.1:PORT/0 to run it");
            None
        }
    }
}
