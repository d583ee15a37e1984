//! Upload throughput against chunk size: a 32 MiB in-memory source sent to the mock tus server
//! (loopback HTTP) with chunks from 64 KiB to the whole file.
//!
//! What this measures is mostly the mock server: wiremock reads every request body whole into
//! memory and records it before the tus mock copies it into the upload, so small chunks pay
//! per-request overhead on both sides and large ones pay for buffering on the server. The client
//! streams bodies in `PIECE`-sized reads whatever the chunk size. Compare runs with each other,
//! not with a real server.
//!
//! `cargo bench --bench chunking` (a few minutes); each iteration starts from a reset server.

use std::io::Cursor;
use std::sync::Arc;
mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tusky::Client;
use tusky_mock_server::TusMockServer;

const SIZE: u64 = 32 * 1024 * 1024;
const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

fn chunk_sweep(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TusMockServer::start());
    let client = Client::new(server.endpoint()).unwrap();
    let data: Arc<[u8]> = (0..SIZE).map(|i| (i % 251) as u8).collect();

    let mut group = c.benchmark_group("upload_32MiB");
    common::configure(&mut group, Duration::from_secs(8), SIZE);
    let sizes = [
        ("64KiB", 64 * KIB),
        ("256KiB", 256 * KIB),
        ("1MiB", MIB),
        ("4MiB", 4 * MIB),
        ("16MiB", 16 * MIB),
        ("whole", SIZE),
    ];
    for (label, chunk) in sizes {
        group.bench_with_input(BenchmarkId::new("chunk", label), &chunk, |b, &chunk| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (server, client, data) = (&server, &client, &data);
                let build = move || {
                    client
                        .uploader()
                        .reader(Cursor::new(Arc::clone(data)))
                        .chunk_size(chunk)
                };
                // Each upload forgets earlier uploads and recorded requests (32 MiB each) first.
                common::timed_uploads(iters, SIZE, move || server.reset(), build)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, chunk_sweep);
criterion_main!(benches);
