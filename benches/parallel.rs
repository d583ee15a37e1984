//! Parallel upload (concatenation) against a single upload: a 64 MiB file in 2 MiB chunks to a
//! `StreamingTusServer` on 127.0.0.1 (which serves requests concurrently, bodies streamed to
//! disk), through a `FaultProxy` that answers every request 0, 20 or 80 ms late. 2 MiB chunks
//! make 32 requests for one stream, 8 per part with `parallel(4)`: `parallel(n)` overlaps the
//! waits. The target is `parallel(4)` at 3× one stream or better at 20 ms.
//!
//! Groups `parallel_<profile>`, ids `parallel/<n>` (`parallel/1`: one upload, no
//! concatenation); `scripts/bench-ratios.py` prints each as a multiple of one stream.
//!
//! And one slow part (group `one_slow_part_80ms`): the first part to send a PATCH gets every
//! PATCH answered 80 ms late, the others 20 ms; `parallel(4)` with 4 parts waits for it, with
//! 16 parts the other workers take over. This one runs on the wiremock mock
//! (`TusMockServer`), whose PATCH hook can delay one upload and not the others (the proxy
//! delays every connection alike); the mock serves one request at a time but its hook's
//! delays overlap, and it is what is compared here.
//!
//! `cargo bench --all-features --bench parallel` (about 2 minutes; `-- --quick` for a rough
//! number)

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::streaming::{BenchServer, Profile};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use tusky::Client;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

const SIZE: usize = 64 * 1024 * 1024;
/// 2 MiB: 32 PATCH bodies for a single upload, 8 per partial with `parallel(4)`.
const CHUNK: u64 = 2 * 1024 * 1024;
/// The other parts' latency in `one_slow_part`.
const LATENCY: Duration = Duration::from_millis(20);
/// The slow part's latency.
const SLOW: Duration = Duration::from_millis(80);

fn parallel(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, path) = common::source_file(SIZE);
    let profiles = [
        Profile::latency("0ms", 0),
        Profile::latency("20ms", 20),
        Profile::latency("80ms", 80),
    ];
    for profile in profiles {
        let server = runtime.block_on(BenchServer::start(&profile, None));
        runtime.block_on(common::streaming::report_round_trip(&server, &profile));
        let client = server.client();
        let (server, client, path) = (&server, &client, &path);

        let mut group = c.benchmark_group(format!("parallel_{}", profile.name));
        group.sampling_mode(SamplingMode::Flat);
        common::configure(&mut group, Duration::from_secs(3), SIZE as u64);
        group.warm_up_time(Duration::from_millis(500));
        for n in [1usize, 2, 4, 8] {
            group.bench_with_input(BenchmarkId::new("parallel", n), &n, |b, &n| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let build = move || client.uploader().path(path).chunk_size(CHUNK).parallel(n);
                    common::timed_uploads(iters, SIZE as u64, move || server.clear(), build)
                });
            });
        }
        group.finish();
    }
}

/// Forgets the previous iteration's uploads (the mock holds them in memory), and the first
/// upload to get a PATCH gets all its PATCHes answered [`SLOW`]ly, the others [`LATENCY`] late.
async fn fresh_with_a_slow_part(server: &TusMockServer) {
    server.reset().await;
    let slow: Mutex<Option<String>> = Mutex::new(None);
    server.set_patch_hook(move |ctx: &PatchContext| {
        let mut slow = slow.lock().unwrap();
        let id = slow.get_or_insert_with(|| ctx.upload_id.clone());
        PatchAction::Delay(if *id == ctx.upload_id { SLOW } else { LATENCY })
    });
}

fn one_slow_part(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TusMockServer::builder().record_requests(false).start());
    let client = Client::new(server.endpoint()).unwrap();
    let (_dir, path) = common::source_file(SIZE);
    let mut group = c.benchmark_group("one_slow_part_80ms");
    group.sampling_mode(SamplingMode::Flat);
    common::configure(&mut group, Duration::from_secs(9), SIZE as u64);
    for parts in [4usize, 16] {
        group.bench_function(format!("parallel(4).parts({parts})"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (server, client, path) = (&server, &client, &path);
                let build = move || {
                    client
                        .uploader()
                        .path(path)
                        .chunk_size(CHUNK)
                        .creation_with_upload(false)
                        .parallel(4)
                        .parts(parts)
                };
                common::timed_uploads(
                    iters,
                    SIZE as u64,
                    move || fresh_with_a_slow_part(server),
                    build,
                )
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = parallel, one_slow_part
}
criterion_main!(benches);
