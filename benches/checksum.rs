//! What `Upload-Checksum` costs the client: a 64 MiB file in 8 MiB chunks (the library's
//! default) to a `StreamingTusServer` on 127.0.0.1, with each algorithm and without one.
//!
//! The server runs without the checksum extension: it ignores the header and verifies
//! nothing, so the numbers are the client's cost alone (on 2 cores, a verifying server would
//! take CPU from the client).
//!
//! Each algorithm twice: `look_ahead/<algorithm>`, the default (the next chunk is digested on a
//! blocking thread while the current one is sent), and `in_place/<algorithm>`, with the
//! look-ahead turned off by `checksum_look_ahead(false)`, a `#[doc(hidden)]` switch of the
//! builder that exists for this benchmark: each chunk is then digested in a read of its own
//! when it is planned, before its PATCH — how the digest was made before the look-ahead. Same
//! source, same data path, same server: only the overlap differs.
//!
//! Group `checksum_direct`: straight to the server, every algorithm. Group `checksum_20ms`:
//! through a `FaultProxy` answering every request 20 ms late, sha256 only (the look-ahead also
//! overlaps the wait for the answer). A third group digests 8 MiB in memory with each
//! algorithm (no I/O, no HTTP): the pure hashing cost.
//!
//! `cargo bench --all-features --bench checksum` (about a minute), then
//! `python3 scripts/bench-ratios.py` for the costs as shares of `none`.

mod common;

use std::time::Duration;

use common::streaming::{BenchServer, Network, Profile, WITHOUT_CHECKSUM};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use tusky::ChecksumAlgorithm;

const SIZE: usize = 64 * 1024 * 1024;
const CHUNK: u64 = 8 * 1024 * 1024;

/// How a chunk's digest is made, as benchmark ids name it.
#[derive(Clone, Copy)]
enum Timing {
    LookAhead,
    InPlace,
}

impl Timing {
    fn id(self) -> &'static str {
        match self {
            Timing::LookAhead => "look_ahead",
            Timing::InPlace => "in_place",
        }
    }
}

fn upload_group(c: &mut Criterion, profile: Profile, algorithms: &[ChecksumAlgorithm]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(BenchServer::start(&profile, Some(WITHOUT_CHECKSUM)));
    runtime.block_on(common::streaming::report_round_trip(&server, &profile));
    let client = server.client();
    let (_dir, path) = common::source_file(SIZE);
    let (server, client, path) = (&server, &client, &path);

    let mut group = c.benchmark_group(format!("checksum_{}", profile.name));
    group.sampling_mode(SamplingMode::Flat);
    common::configure(&mut group, Duration::from_secs(3), SIZE as u64);
    group.warm_up_time(Duration::from_millis(500));
    let mut cases: Vec<(BenchmarkId, Option<(ChecksumAlgorithm, Timing)>)> =
        vec![(BenchmarkId::from_parameter("none"), None)];
    for &algorithm in algorithms {
        for timing in [Timing::LookAhead, Timing::InPlace] {
            let id = BenchmarkId::new(timing.id(), algorithm.name());
            cases.push((id, Some((algorithm, timing))));
        }
    }
    for (id, checksum) in cases {
        group.bench_function(id, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let build = move || {
                    let builder = client.uploader().path(path).chunk_size(CHUNK);
                    match checksum {
                        None => builder,
                        Some((algorithm, timing)) => builder
                            .checksum(algorithm)
                            .checksum_look_ahead(matches!(timing, Timing::LookAhead)),
                    }
                };
                common::timed_uploads(iters, SIZE as u64, move || server.clear(), build)
            });
        });
    }
    group.finish();
}

fn checksum(c: &mut Criterion) {
    let direct = Profile {
        name: "direct",
        network: Network::Loopback,
    };
    upload_group(c, direct, &ChecksumAlgorithm::ALL);
    upload_group(
        c,
        Profile::latency("20ms", 20),
        &[ChecksumAlgorithm::Sha256],
    );
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

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = checksum, digest
}
criterion_main!(benches);
