//! Parallel upload (concatenation) against a single upload: a 64 MiB file to the mock server,
//! every PATCH answered 20 ms late (network latency). `parallel(n)` overlaps those waits; the
//! issue's target is `parallel(4)` at 3× one stream or better.
//!
//! `cargo bench --all-features --bench parallel` (`-- --quick` for a rough number)

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use tusky::Client;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

const SIZE: usize = 64 * 1024 * 1024;
/// 2 MiB: 32 PATCH bodies for a single upload, 8 per partial with `parallel(4)`.
const CHUNK: u64 = 2 * 1024 * 1024;
const LATENCY: Duration = Duration::from_millis(20);

/// Forgets the previous iteration's uploads (they are held in memory) and adds the latency.
async fn fresh(server: &TusMockServer) {
    server.reset().await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Delay(LATENCY));
}

fn parallel(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TusMockServer::builder().record_requests(false).start());
    let client = Client::new(server.endpoint()).unwrap();
    let (_dir, path) = common::source_file(SIZE);

    let mut group = c.benchmark_group("upload_64MiB_20ms_per_patch");
    group.sampling_mode(SamplingMode::Flat);
    common::configure(&mut group, Duration::from_secs(9), SIZE as u64);
    for parts in [1usize, 2, 4, 8] {
        let name = if parts == 1 {
            "single".to_owned()
        } else {
            format!("parallel({parts})")
        };
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (server, client, path) = (&server, &client, &path);
                let build = move || {
                    client
                        .uploader()
                        .path(path)
                        .chunk_size(CHUNK)
                        .parallel(parts)
                };
                common::timed_uploads(iters, SIZE as u64, move || fresh(server), build)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, parallel);
criterion_main!(benches);
