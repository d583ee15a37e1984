//! The chunk sizer against a simulated server: every request costs a fixed time plus its bytes
//! over a bandwidth (with seeded noise), bodies over a limit are refused with 413. Time is
//! simulated, so the comparisons are exact and deterministic: auto against every fixed size,
//! the limits it must keep, and that it settles instead of oscillating.

use std::time::Duration;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{ChunkSize, ChunkSizer, Outcome, DEFAULT_MAX_AUTO_CHUNK_SIZE};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const MS: f64 = 1e-3;

/// A server as the tuner sees it.
#[derive(Debug, Clone, Copy)]
struct Profile {
    /// Seconds every request costs.
    cost: f64,
    /// Bytes per second.
    bandwidth: f64,
    /// The largest body accepted (a proxy's limit): larger ones get 413 after `cost`.
    max_body: Option<u64>,
    /// Each duration is multiplied by a factor drawn uniformly from `1 ± noise`.
    noise: f64,
}

impl Profile {
    fn new(cost: f64, bandwidth: u64) -> Self {
        Self {
            cost,
            bandwidth: bandwidth as f64,
            max_body: None,
            noise: 0.0,
        }
    }

    /// The time a request of `len` bytes takes without noise, and whether it is accepted.
    fn expected(&self, len: u64) -> (f64, bool) {
        match self.max_body {
            Some(max) if len > max => (self.cost, false),
            _ => (self.cost + len as f64 / self.bandwidth, true),
        }
    }

    /// The time a request of `len` bytes takes (with noise), and whether it is accepted.
    fn patch(&self, len: u64, rng: &mut StdRng) -> (f64, bool) {
        let factor = if self.noise > 0.0 {
            1.0 + rng.random_range(-self.noise..=self.noise)
        } else {
            1.0
        };
        let (seconds, accepted) = self.expected(len);
        (seconds * factor, accepted)
    }

    /// The expected time to upload `size` bytes in chunks of `chunk` (no noise).
    fn fixed_time(&self, size: u64, chunk: u64) -> f64 {
        size.div_ceil(chunk) as f64 * self.cost + size as f64 / self.bandwidth
    }

    /// The best expected time over the fixed sizes 256 KiB … 64 MiB (powers of two) that are
    /// at most `max`, or `max` itself when it is smaller.
    fn best_fixed_time(&self, size: u64, max: u64) -> f64 {
        (18..=26)
            .map(|shift| 1u64 << shift)
            .filter(|chunk| *chunk <= max)
            .chain([max.min(64 * MIB)])
            .map(|chunk| self.fixed_time(size, chunk))
            .fold(f64::INFINITY, f64::min)
    }
}

/// What one simulated upload did.
#[derive(Debug, Default)]
struct Run {
    /// The time its requests take without noise: what the tuner's choices cost, whatever
    /// the noise it saw (compared with the fixed sizes' expected times).
    seconds: f64,
    /// The length of every request, in order, and whether it was accepted.
    requests: Vec<(u64, bool)>,
}

impl Run {
    fn accepted(&self) -> impl Iterator<Item = u64> + '_ {
        self.requests.iter().filter(|r| r.1).map(|r| r.0)
    }
}

/// Uploads `size` bytes to `profile` with `setting`, the server announcing `tus_max_size`.
fn upload(
    profile: Profile,
    size: u64,
    setting: ChunkSize,
    tus_max_size: Option<u64>,
    seed: u64,
) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sizer = ChunkSizer::new(setting);
    if let Some(max) = tus_max_size {
        sizer.limit(max);
    }
    let mut run = Run::default();
    let mut offset = 0;
    while offset < size {
        let len = sizer.next_len(Some(size - offset));
        let (seconds, accepted) = profile.patch(len, &mut rng);
        run.seconds += profile.expected(len).0;
        run.requests.push((len, accepted));
        let outcome = if accepted {
            offset += len;
            Outcome::Accepted(Duration::from_secs_f64(seconds))
        } else {
            Outcome::TooLarge
        };
        if !sizer.answered(outcome) && !accepted {
            panic!("a 413 at {len} bytes could not shrink the chunk: {run:?}");
        }
        assert!(run.requests.len() < 100_000, "the upload does not end");
    }
    run
}

fn auto() -> ChunkSize {
    ChunkSize::auto()
}

/// The grid of the issue: per-request costs, bandwidths, file sizes.
fn grid() -> impl Iterator<Item = (Profile, u64)> {
    let costs = [0.0, 1.0 * MS, 5.0 * MS, 20.0 * MS, 80.0 * MS];
    let bandwidths = [10 * MIB, 100 * MIB, GIB];
    let sizes = [MIB, 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB, GIB, 4 * GIB];
    costs.into_iter().flat_map(move |cost| {
        bandwidths.into_iter().flat_map(move |bandwidth| {
            sizes
                .into_iter()
                .map(move |size| (Profile::new(cost, bandwidth), size))
        })
    })
}

/// What measuring costs at most: the 4 MiB and 16 MiB requests made before the fit jumps.
const PROBES: f64 = 2.0;

/// Auto is within 10 % of the best fixed size, or costs at most the fixed cost of the probe
/// requests more (which a file of only a few requests' worth notices); one more request
/// when the measurements are noisy.
fn assert_near_best(profile: Profile, size: u64, max: u64, run: &Run) {
    let best = profile.best_fixed_time(size, max);
    let probes = if profile.noise > 0.0 {
        PROBES + 1.0
    } else {
        PROBES
    };
    let allowed = (best * 1.10).max(best + probes * profile.cost) + 1e-9;
    assert!(
        run.seconds <= allowed,
        "{profile:?}, {size} bytes: auto took {:.4} s, the best fixed size {best:.4} s \
         (ratio {:.3}); requests {:?}",
        run.seconds,
        run.seconds / best,
        run.requests
    );
}

#[test]
fn auto_is_near_the_best_fixed_size_on_every_profile_of_the_grid() {
    for (profile, size) in grid() {
        let run = upload(profile, size, auto(), None, 0);
        assert_near_best(profile, size, DEFAULT_MAX_AUTO_CHUNK_SIZE, &run);
    }
}

#[test]
fn auto_is_within_ten_percent_once_the_file_is_large_next_to_what_measuring_costs() {
    // Measuring costs two requests; within 10 % once those are under ~5 % of the upload.
    for (profile, size) in grid() {
        let best = profile.best_fixed_time(size, DEFAULT_MAX_AUTO_CHUNK_SIZE);
        if PROBES * profile.cost > 0.05 * best {
            continue;
        }
        let run = upload(profile, size, auto(), None, 0);
        assert!(
            run.seconds <= best * 1.10,
            "{profile:?}, {size}: {:.3}",
            run.seconds / best
        );
    }
}

#[test]
fn with_noise_auto_stays_near_the_best_fixed_size() {
    // The tuner measures every request ±20 % off (ten seeds); its choices are compared by
    // what they cost without the noise.
    for (profile, size) in grid() {
        let noisy = Profile {
            noise: 0.2,
            ..profile
        };
        for seed in 1..=10 {
            let run = upload(noisy, size, auto(), None, seed);
            assert_near_best(noisy, size, DEFAULT_MAX_AUTO_CHUNK_SIZE, &run);
        }
    }
}

#[test]
fn auto_settles_at_the_smallest_measured_power_of_two_with_little_overhead() {
    // Without noise: three sizes are measured (4, 16, then 32 MiB or what the fit asks for),
    // then the size stays at the smallest power of two whose fixed cost is ≤ 5 % of a request.
    for (profile, _) in grid().filter(|(_, size)| *size == GIB) {
        let run = upload(profile, 4 * GIB, auto(), None, 0);
        let sizes: Vec<u64> = run.accepted().collect();
        let settled = sizes[sizes.len() - 2];
        let ideal = profile.cost * profile.bandwidth * 19.0;
        let expected = (ideal.ceil() as u64)
            .max(32 * MIB)
            .next_power_of_two()
            .min(DEFAULT_MAX_AUTO_CHUNK_SIZE);
        assert_eq!(settled, expected, "{profile:?}: {:?}", &sizes[..6]);
        let tail = sizes[3..sizes.len() - 1].iter().all(|s| *s == settled);
        assert!(tail, "{profile:?}: {sizes:?}");
    }
}

#[test]
fn a_proxy_limit_is_found_by_halving_and_then_kept() {
    // A proxy refuses bodies over 5 MiB; the server does not say so in advance.
    let profile = Profile {
        max_body: Some(5 * MIB),
        ..Profile::new(20.0 * MS, 100 * MIB)
    };
    let run = upload(profile, 256 * MIB, auto(), None, 0);
    let refused: Vec<u64> = run.requests.iter().filter(|r| !r.1).map(|r| r.0).collect();
    assert_eq!(refused, vec![16 * MIB, 8 * MIB], "{:?}", run.requests);
    assert!(run.accepted().all(|len| len <= 4 * MIB));
    assert_eq!(run.accepted().sum::<u64>(), 256 * MIB);
}

#[test]
fn a_fixed_size_halves_on_413_and_nothing_else_changes_it() {
    let profile = Profile {
        max_body: Some(3 * MIB),
        ..Profile::new(20.0 * MS, 100 * MIB)
    };
    let run = upload(profile, 64 * MIB, ChunkSize::Fixed(8 * MIB), None, 0);
    let refused: Vec<u64> = run.requests.iter().filter(|r| !r.1).map(|r| r.0).collect();
    assert_eq!(refused, vec![8 * MIB, 4 * MIB]);
    assert!(run.accepted().all(|len| len == 2 * MIB));
}

#[test]
fn timeouts_halve_the_size_and_stop_the_growth() {
    let mut sizer = ChunkSizer::new(auto());
    assert_eq!(sizer.next_len(None), 4 * MIB);
    assert!(sizer.answered(Outcome::Accepted(Duration::from_millis(100))));
    assert_eq!(sizer.next_len(None), 16 * MIB);
    assert!(sizer.answered(Outcome::TimedOut));
    assert_eq!(sizer.next_len(None), 8 * MIB);
    // Settled: a fast answer does not make it grow again.
    assert!(!sizer.answered(Outcome::Accepted(Duration::from_millis(1))));
    assert_eq!(sizer.next_len(None), 8 * MIB);
    // A fixed size is what the user asked for: a timeout leaves it.
    let mut fixed = ChunkSizer::new(ChunkSize::Fixed(MIB));
    fixed.next_len(None);
    assert!(!fixed.answered(Outcome::TimedOut));
    assert_eq!(fixed.next_len(None), MIB);
}

#[test]
fn a_low_ceiling_starts_lower_and_grows_the_same_way() {
    // A sixteenth of a 1 MiB ceiling, four times that, then what the fit asks for (capped).
    let profile = Profile::new(20.0 * MS, 100 * MIB);
    let run = upload(profile, 16 * MIB, ChunkSize::Auto { max: MIB }, None, 0);
    let sizes: Vec<u64> = run.accepted().collect();
    assert_eq!(&sizes[..3], &[64 * KIB, 256 * KIB, MIB]);
    let (last, full) = sizes.split_last().unwrap();
    assert!(
        full[2..].iter().all(|s| *s == MIB) && *last <= MIB,
        "{sizes:?}"
    );
}

#[test]
fn a_413_at_one_byte_cannot_shrink() {
    let mut sizer = ChunkSizer::new(ChunkSize::Fixed(2));
    sizer.next_len(None);
    assert!(sizer.answered(Outcome::TooLarge));
    sizer.next_len(None);
    assert!(!sizer.answered(Outcome::TooLarge));
    let mut auto = ChunkSizer::new(ChunkSize::Auto { max: 1 });
    auto.next_len(None);
    assert!(!auto.answered(Outcome::TooLarge));
}

#[test]
fn the_last_chunk_takes_a_short_tail_along() {
    let mut sizer = ChunkSizer::new(auto());
    assert_eq!(sizer.next_len(Some(6 * MIB)), 6 * MIB);
    assert_eq!(sizer.next_len(Some(6 * MIB + 1)), 4 * MIB);
    assert_eq!(sizer.next_len(Some(KIB)), KIB);
    let mut capped = ChunkSizer::new(ChunkSize::Auto { max: 5 * MIB });
    assert_eq!(capped.next_len(Some(6 * MIB)), 5 * MIB / 16);
}

/// A server profile, file and settings drawn at random (chunks of at least 256 KiB, so that a
/// case is at most a few thousand requests).
fn cases() -> impl Strategy<Value = (Profile, u64, u64, Option<u64>, u64)> {
    (
        0.0..0.2f64,
        MIB..(2 * GIB),
        prop::option::of(MIB..(64 * MIB)),
        0.0..0.5f64,
        1u64..(2 * GIB),
        (256 * KIB)..(256 * MIB),
        prop::option::of((256 * KIB)..(512 * MIB)),
        any::<u64>(),
    )
        .prop_map(
            |(cost, bandwidth, max_body, noise, size, max, tus_max_size, seed)| {
                let profile = Profile {
                    max_body,
                    noise,
                    ..Profile::new(cost, bandwidth)
                };
                (profile, size, max, tus_max_size, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn auto_keeps_every_limit_and_settles((profile, size, max, tus_max_size, seed) in cases()) {
        let run = upload(profile, size, ChunkSize::Auto { max }, tus_max_size, seed);
        // Every byte once, no chunk above a limit or beyond the end.
        prop_assert_eq!(run.accepted().sum::<u64>(), size);
        let ceiling = max.min(tus_max_size.unwrap_or(u64::MAX));
        let mut offset = 0;
        for &(len, accepted) in &run.requests {
            prop_assert!(len >= 1 && len <= ceiling && len <= size - offset, "{len} at {offset}");
            if accepted {
                offset += len;
            }
        }
        // Settles: the size never goes up after it went down, and changes only a few times.
        let sizes: Vec<u64> = run.requests.iter().map(|r| r.0).collect();
        let full: Vec<u64> = sizes[..sizes.len().saturating_sub(1)].to_vec();
        let first_drop = full.windows(2).position(|w| w[1] < w[0]).map_or(full.len(), |i| i + 1);
        prop_assert!(
            full[first_drop..].windows(2).all(|w| w[1] <= w[0]),
            "grew again after shrinking: {:?}", sizes
        );
        let changes = full.windows(2).filter(|w| w[0] != w[1]).count();
        prop_assert!(changes <= 40, "{changes} changes: {sizes:?}");
    }

    #[test]
    fn without_noise_or_refusals_auto_is_near_the_best_fixed_size(
        (profile, size, max, _, _) in cases()
    ) {
        let profile = Profile { noise: 0.0, max_body: None, ..profile };
        let run = upload(profile, size, ChunkSize::Auto { max }, None, 0);
        assert_near_best(profile, size, max, &run);
    }
}
