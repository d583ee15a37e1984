//! Property tests (proptest) of the upload loop (`resume`) and the retry engine (`faults`):
//! whatever the sizes, the server's behaviour and the faults, the server ends with exactly the
//! source's bytes. Each case drives real uploaders over loopback HTTP against a fresh mock
//! server, so case counts are modest (`PROPTEST_CASES` runs more).
//!
//! Failing cases proptest found are kept next to their test's source file, in
//! `<file stem>.proptest-regressions`, and run first on every later run.

mod faults;
mod resume;

use std::future::Future;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tusky::fingerprint::Fingerprint;
use tusky::storage::Storage;
use tusky::transport::Transport;
use tusky::{ProgressEvent, UploadSummary, Uploader};
use tusky_mock_server::TusMockServer;

use crate::common::Events;

/// A case that takes longer than this has hung (a retry loop that never ends): fail it.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `property` on `cases` values of `strategy` (or `PROPTEST_CASES`), each inside one
/// current-thread tokio runtime built for this property. `source_file` is the test's
/// `file!()`: its regressions file sits next to it.
pub fn check<S, F, Fut>(source_file: &'static str, cases: u32, strategy: S, property: F)
where
    S: Strategy,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        // Each case is a whole upload (or two): shrink, but not for ever.
        max_shrink_iters: 64,
        source_file: Some(source_file),
        // Next to the source file (proptest's default would put it beside `tests/it/`, the
        // folder of the binary's main.rs).
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let run_case = |value| {
        runtime.block_on(async {
            tokio::time::timeout(CASE_TIMEOUT, property(value))
                .await
                .unwrap_or_else(|_| {
                    Err(TestCaseError::fail(format!(
                        "no result within {CASE_TIMEOUT:?}"
                    )))
                })
        })
    };
    if let Err(error) = runner.run(&strategy, run_case) {
        panic!("{error}");
    }
}

/// Runs `uploader` to the end (`what` names it if it fails) and checks that it reports all of
/// `bytes` and that the server holds exactly them; returns its summary.
pub async fn upload_all<T: Transport, S: Storage, F: Fingerprint>(
    what: &str,
    server: &TusMockServer,
    uploader: &mut Uploader<T, S, F>,
    bytes: &[u8],
) -> Result<UploadSummary, TestCaseError> {
    let summary = uploader
        .upload()
        .await
        .map_err(|e| TestCaseError::fail(format!("{what} failed: {e}")))?;
    prop_assert_eq!(summary.offset, bytes.len() as u64);
    holds_exactly(server, &summary.url, bytes)?;
    Ok(summary)
}

/// The server holds exactly `bytes` at `url`.
pub fn holds_exactly(
    server: &TusMockServer,
    url: &url::Url,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let stored = server.upload_bytes(url.as_str()).unwrap_or_default();
    prop_assert!(
        stored == bytes,
        "the server holds {} bytes (first difference at {:?}), the source has {}",
        stored.len(),
        stored.iter().zip(bytes).position(|(a, b)| a != b),
        bytes.len()
    );
    Ok(())
}

/// The progress checks every property shares: `Acknowledged` offsets never go backwards and
/// stay within `[floor, size]`, every `ChunkCompleted` moves forward, and a finished run says
/// so exactly once, with its size, after acknowledging the size (unless it started there).
pub fn check_progress(
    events: &Events,
    floor: u64,
    size: u64,
    finished: bool,
) -> Result<(), TestCaseError> {
    let acked = events.acknowledged();
    prop_assert!(
        acked.windows(2).all(|w| w[0] <= w[1]),
        "Acknowledged went backwards: {:?}",
        acked
    );
    prop_assert!(
        acked.iter().all(|&o| (floor..=size).contains(&o)),
        "Acknowledged outside {floor}..={size}: {:?}",
        acked
    );
    for (start, end) in events.chunks() {
        prop_assert!(start <= end, "ChunkCompleted {start}..{end}");
    }
    if finished && size > floor {
        prop_assert_eq!(acked.last().copied(), Some(size));
    }
    let finishes: Vec<u64> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            ProgressEvent::Finished { total, .. } => Some(total),
            _ => None,
        })
        .collect();
    prop_assert_eq!(finishes, if finished { vec![size] } else { vec![] });
    Ok(())
}

/// A complete run reports `Started` first and `Finished` last; returns the offset it started
/// at.
pub fn check_started_and_finished(events: &Events) -> Result<u64, TestCaseError> {
    let all = events.all();
    let Some(ProgressEvent::Started { offset, .. }) = all.first() else {
        return Err(TestCaseError::fail(format!(
            "Started is not first: {:?}",
            all.first()
        )));
    };
    prop_assert!(
        matches!(all.last(), Some(ProgressEvent::Finished { .. })),
        "Finished is not last: {:?}",
        all.last()
    );
    Ok(*offset)
}
