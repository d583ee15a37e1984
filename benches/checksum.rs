//! What `Upload-Checksum` costs: a 64 MiB upload with each algorithm, and without one.
//!
//! The mock server runs without the checksum extension, so it ignores the header and does not
//! verify: the numbers are the client's cost (digesting each chunk in an extra read pass of
//! the file, made while the chunk before it is sent) on top of the upload itself.
//!
//! A second group digests 8 MiB in memory with each algorithm (no I/O, no HTTP): the pure
//! hashing cost, steadier than the end-to-end numbers on a busy machine.
//!
//! `cargo bench --all-features --bench checksum`

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use tusky::{ChecksumAlgorithm, Client};
use tusky_mock_server::{Extension, TusMockServer};

const SIZE: usize = 64 * 1024 * 1024;

fn checksum(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(
        TusMockServer::builder()
            .extensions(&[
                Extension::Creation,
                Extension::CreationWithUpload,
                Extension::Termination,
            ])
            .record_requests(false)
            .start(),
    );
    let client = Client::new(server.endpoint()).unwrap();
    let (_dir, path) = common::source_file(SIZE);

    let mut group = c.benchmark_group("upload_64MiB_checksum");
    group.sampling_mode(SamplingMode::Flat);
    common::configure(&mut group, Duration::from_secs(4), SIZE as u64);
    let algorithms = std::iter::once(None).chain(ChecksumAlgorithm::ALL.into_iter().map(Some));
    for algorithm in algorithms {
        let name = algorithm.map_or("none", ChecksumAlgorithm::name);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (server, client, path) = (&server, &client, &path);
                // Each upload forgets the previous one (held in memory) first.
                let build = move || {
                    let builder = client.uploader().path(path);
                    match algorithm {
                        Some(algorithm) => builder.checksum(algorithm),
                        None => builder,
                    }
                };
                common::timed_uploads(iters, SIZE as u64, move || server.reset(), build)
            });
        });
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    const LEN: usize = 8 * 1024 * 1024;
    let buffer = common::pattern(LEN);
    let mut group = c.benchmark_group("digest_8MiB_in_memory");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(LEN as u64));
    for algorithm in ChecksumAlgorithm::ALL {
        group.bench_function(algorithm.name(), |b| {
            b.iter(|| algorithm.header_for(std::hint::black_box(&buffer)))
        });
    }
    group.finish();
}

criterion_group!(benches, checksum, digest);
criterion_main!(benches);
