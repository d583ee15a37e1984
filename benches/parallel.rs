//! Parallel upload (concatenation) against a single upload: a 64 MiB file to the mock server,
//! every PATCH answered 20 ms late (network latency). `parallel(n)` overlaps those waits; the
//! issue's target is `parallel(4)` at 3× one stream or better.
//!
//! And one slow part: the first part to send a PATCH gets every PATCH answered 80 ms late;
//! `parallel(4)` with 4 parts waits for it, with 16 parts the other workers take over.
//!
//! `cargo bench --all-features --bench parallel` (`-- --quick` for a rough number)

mod common;

use std::sync::Mutex;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use tusky::Client;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

const SIZE: usize = 64 * 1024 * 1024;
/// 2 MiB: 32 PATCH bodies for a single upload, 8 per partial with `parallel(4)`.
const CHUNK: u64 = 2 * 1024 * 1024;
const LATENCY: Duration = Duration::from_millis(20);
/// The slow part's latency.
const SLOW: Duration = Duration::from_millis(80);

/// Forgets the previous iteration's uploads (they are held in memory) and adds the latency.
async fn fresh(server: &TusMockServer) {
    server.reset().await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Delay(LATENCY));
}

/// [`fresh`], and the first upload to get a PATCH gets all its PATCHes answered [`SLOW`]ly.
async fn fresh_with_a_slow_part(server: &TusMockServer) {
    server.reset().await;
    let slow: Mutex<Option<String>> = Mutex::new(None);
    server.set_patch_hook(move |ctx: &PatchContext| {
        let mut slow = slow.lock().unwrap();
        let id = slow.get_or_insert_with(|| ctx.upload_id.clone());
        PatchAction::Delay(if *id == ctx.upload_id { SLOW } else { LATENCY })
    });
}

/// The runtime, a mock server, a client for it and the 64 MiB source file.
struct Setup {
    runtime: tokio::runtime::Runtime,
    server: TusMockServer,
    client: Client,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TusMockServer::builder().record_requests(false).start());
    let client = Client::new(server.endpoint()).unwrap();
    let (_dir, path) = common::source_file(SIZE);
    Setup {
        runtime,
        server,
        client,
        path,
        _dir,
    }
}

fn parallel(c: &mut Criterion) {
    let Setup {
        runtime,
        server,
        client,
        path,
        _dir,
    } = setup();

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

fn one_slow_part(c: &mut Criterion) {
    let Setup {
        runtime,
        server,
        client,
        path,
        _dir,
    } = setup();
    let mut group = c.benchmark_group("upload_64MiB_one_part_at_80ms_per_patch");
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

criterion_group!(benches, parallel, one_slow_part);
criterion_main!(benches);
