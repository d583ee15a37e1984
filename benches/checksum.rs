//! What `Upload-Checksum` costs: a 64 MiB upload with each algorithm, and without one.
//!
//! The mock server runs without the checksum extension, so it ignores the header and does not
//! verify: the numbers are the client's cost (digesting each chunk in an extra read pass of
//! the file) on top of the upload itself.
//!
//! A second group digests 8 MiB in memory with each algorithm (no I/O, no HTTP): the pure
//! hashing cost, steadier than the end-to-end numbers on a busy machine.
//!
//! `cargo bench --all-features --bench checksum`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use tusky::{ChecksumAlgorithm, Client};
use tusky_mock_server::{Extension, TusMockServer};

const SIZE: usize = 64 * 1024 * 1024;

fn data(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("64MiB.bin");
    std::fs::write(&path, data(SIZE)).unwrap();

    let mut group = c.benchmark_group("upload_64MiB_checksum");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(SIZE as u64));
    let algorithms = std::iter::once(None).chain(ChecksumAlgorithm::ALL.into_iter().map(Some));
    for algorithm in algorithms {
        let name = algorithm.map_or("none", ChecksumAlgorithm::name);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (server, client, path) = (&server, &client, &path);
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // Forget the previous iteration's upload (held in memory).
                        server.reset().await;
                        let mut builder = client.uploader().path(path);
                        if let Some(algorithm) = algorithm {
                            builder = builder.checksum(algorithm);
                        }
                        let mut uploader = builder.build().unwrap();
                        let start = Instant::now();
                        let summary = uploader.upload().await.unwrap();
                        total += start.elapsed();
                        assert_eq!(summary.offset, SIZE as u64);
                    }
                    total
                }
            });
        });
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    const LEN: usize = 8 * 1024 * 1024;
    let buffer = data(LEN);
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
