//! What the upload benchmarks share: their group settings, a source file, the timing loop
//! (each iteration starts from a cleared server, untimed; only `upload()` is measured), and the
//! streaming server with its network profiles (`streaming`).

pub mod streaming;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use tusky::fingerprint::Fingerprint;
use tusky::storage::Storage;
use tusky::transport::Transport;
use tusky::UploaderBuilder;

/// Criterion without its HTML plots: drawing them took ~40 % of a run on 2 cores (the numbers
/// and `scripts/bench-ratios.py` do not need them; `-- --plotting-backend plotters` draws them).
pub fn criterion() -> Criterion {
    Criterion::default().without_plots()
}

/// Ten samples after a second's warm-up, measured for `measurement`, reported per byte of a
/// `bytes`-byte upload.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration, bytes: u64) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement)
        .throughput(Throughput::Bytes(bytes));
}

/// `n` bytes of a fixed pattern.
#[allow(dead_code)] // not every benchmark uses it
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

/// A temporary file of `size` bytes ([`pattern`]); the directory goes away with the guard.
#[allow(dead_code)] // not every benchmark uploads from a file
pub fn source_file(size: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.bin");
    std::fs::write(&path, pattern(size)).unwrap();
    (dir, path)
}

/// Runs `iters` uploads, each built by `build` after `prepare` (untimed: forget the previous
/// uploads, set the server up), and returns the time spent in `upload()`; every upload must
/// end at `size`.
pub async fn timed_uploads<T, S, F, Fut>(
    iters: u64,
    size: u64,
    mut prepare: impl FnMut() -> Fut,
    mut build: impl FnMut() -> UploaderBuilder<T, S, F>,
) -> Duration
where
    T: Transport,
    S: Storage,
    F: Fingerprint,
    Fut: Future<Output = ()>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        prepare().await;
        let mut uploader = build().build().unwrap();
        let start = Instant::now();
        let summary = uploader.upload().await.unwrap();
        total += start.elapsed();
        assert_eq!(summary.offset, size);
    }
    total
}
