//! Upload throughput against chunk size, on networks of known latency and bandwidth: a file
//! sent to a `StreamingTusServer` on 127.0.0.1 (bodies streamed to disk) through a
//! `FaultProxy` that answers every request 0, 5, 20 or 80 ms late, or caps the upload at
//! 50 MiB/s (a bandwidth-limited link, no added latency). Fixed chunk sizes from 256 KiB to
//! 64 MiB (powers of 4), and `ChunkSize::Auto` (`chunk_size_auto()`, at most 128 MiB).
//!
//! One group per profile, `chunk_size_<profile>` (`0ms`, `5ms`, `20ms`, `80ms`, `50MiBps`),
//! with ids `fixed/<size>` and `auto`; `scripts/bench-ratios.py` reads them back and reports
//! auto's throughput as a ratio of the best fixed size's, per profile.
//!
//! The latency profiles send 256 MiB: auto spends its first two requests (4 and 16 MiB)
//! measuring before it can jump, which a smaller file cannot amortise (the tuner's
//! simulation, `src/uploader/chunk_size/simulation.rs`, puts auto within 10 % of the best
//! fixed size for files of 256 MiB and more). To keep the run to a few minutes, a fixed size
//! is left out of a profile when its requests' added latency alone would exceed
//! [`MAX_WAIT`] per upload (at 5 ms: 256 KiB; at 20 ms: 256 KiB and 1 MiB; at 80 ms: up to
//! 4 MiB): a smaller chunk pays the same latency more often for the same bytes, so these
//! cannot be a profile's best size. The link profile sends 64 MiB (at 50 MiB/s that is 1.3 s
//! per upload) with 1 MiB to 64 MiB chunks.
//!
//! Each iteration uploads the whole file; the uploads of the one before are terminated first
//! (untimed). Every profile goes through the proxy, `0ms` too, so profiles differ by the
//! network alone (the proxy's own copying costs the same at every size). At start each profile
//! prints the median time of a HEAD through it, a check that the profile adds what it says
//! (the timer rounds each delay up to the next millisecond: ~6.4 ms at 5 ms, ~21.5 at 20).
//! Ten samples of one upload each: criterion warns that it cannot complete them in the target
//! time, which is expected.
//!
//! `cargo bench --all-features --bench chunk_profiles` (about 4 minutes on 2 cores; one profile:
//! `-- chunk_size_20ms`), then `python3 scripts/bench-ratios.py`. Runs on a shared machine move
//! by 10-20 % from one benchmark to the next: compare several runs
//! (`CRITERION_HOME=DIR cargo bench …` for each, then `bench-ratios.py DIR…`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::streaming::{BenchServer, Profile};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The fixed chunk sizes, smallest first.
const SIZES: [(&str, u64); 5] = [
    ("256KiB", 256 * KIB),
    ("1MiB", MIB),
    ("4MiB", 4 * MIB),
    ("16MiB", 16 * MIB),
    ("64MiB", 64 * MIB),
];

/// The most added latency one upload may wait for at a fixed size (requests × latency).
const MAX_WAIT: Duration = Duration::from_millis(1500);

/// A profile, the file sent on it, and the smallest fixed size measured.
struct Case {
    profile: Profile,
    file: u64,
    smallest: u64,
}

fn cases() -> Vec<Case> {
    let latency = |profile: Profile| Case {
        profile,
        file: 256 * MIB,
        smallest: smallest_within(256 * MIB, profile.delay()),
    };
    vec![
        latency(Profile::latency("0ms", 0)),
        latency(Profile::latency("5ms", 5)),
        latency(Profile::latency("20ms", 20)),
        latency(Profile::latency("80ms", 80)),
        Case {
            profile: Profile::bandwidth("50MiBps", 50 * MIB),
            file: 64 * MIB,
            smallest: MIB,
        },
    ]
}

/// The smallest fixed size whose requests wait at most [`MAX_WAIT`] in all for a `file`-byte
/// upload at `delay` per request.
fn smallest_within(file: u64, delay: Duration) -> u64 {
    SIZES
        .iter()
        .map(|&(_, size)| size)
        .find(|size| delay * u32::try_from(file.div_ceil(*size)).unwrap() <= MAX_WAIT)
        .unwrap_or(SIZES[SIZES.len() - 1].1)
}

fn chunk_profiles(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // One source file per size, the same for every profile.
    let mut files = HashMap::new();
    for case in cases() {
        let profile = case.profile;
        let server = runtime.block_on(BenchServer::start(&profile, None));
        runtime.block_on(common::streaming::report_round_trip(&server, &profile));
        let client = server.client();
        let (_, path) = files
            .entry(case.file)
            .or_insert_with(|| common::source_file(usize::try_from(case.file).unwrap()));

        let mut group = c.benchmark_group(format!("chunk_size_{}", profile.name));
        group.sampling_mode(SamplingMode::Flat);
        common::configure(&mut group, Duration::from_secs(2), case.file);
        group.warm_up_time(Duration::from_millis(500));
        let (server, client, path) = (&server, &client, &*path);
        for (label, size) in SIZES.into_iter().filter(|(_, s)| *s >= case.smallest) {
            group.bench_with_input(BenchmarkId::new("fixed", label), &size, |b, &size| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let build = move || client.uploader().path(path).chunk_size(size);
                    common::timed_uploads(iters, case.file, move || server.clear(), build)
                });
            });
        }
        group.bench_function("auto", |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let build = move || client.uploader().path(path).chunk_size_auto();
                common::timed_uploads(iters, case.file, move || server.clear(), build)
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = chunk_profiles
}
criterion_main!(benches);
