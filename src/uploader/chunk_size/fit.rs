//! The least-squares fit of `duration = cost + bytes × per_byte` over a few requests: what the
//! chunk tuner knows about a server's fixed cost per request and its bandwidth, and how sure
//! it can be of it.

/// One accepted request: how many bytes it sent and how long it took, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub bytes: f64,
    pub seconds: f64,
}

/// A fitted line: each request costs `cost` seconds plus `per_byte` seconds per byte, with
/// what is needed for the uncertainty of both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    /// Seconds every request costs whatever its size (round trip, server work).
    pub cost: f64,
    /// Seconds per byte (the reciprocal of the bandwidth).
    pub per_byte: f64,
    count: f64,
    /// How many different sizes the samples have.
    sizes: usize,
    mean_bytes: f64,
    /// The sum of squared deviations of the sizes from their mean.
    spread: f64,
    /// The variance of the durations around the line (`None` with two samples: a line
    /// through two points says nothing about the noise).
    residual_variance: Option<f64>,
}

/// How far apart the sizes must be (largest over smallest) for the fit to tell the fixed
/// cost from the cost per byte.
const MIN_SPREAD: f64 = 1.5;

/// The fewest samples a sure answer needs.
const SURE_SAMPLES: usize = 4;

/// The fewest different sizes a sure answer needs.
const SURE_SIZES: usize = 3;

/// Fits the samples by ordinary least squares; `None` while their sizes are too close
/// together to separate the two costs.
pub(crate) fn fit(samples: &[Sample]) -> Option<Fit> {
    let smallest = samples
        .iter()
        .map(|s| s.bytes)
        .fold(f64::INFINITY, f64::min);
    let largest = samples.iter().map(|s| s.bytes).fold(0.0, f64::max);
    if !(smallest > 0.0 && largest >= smallest * MIN_SPREAD) {
        return None;
    }
    let count = samples.len() as f64;
    let mean_bytes = samples.iter().map(|s| s.bytes).sum::<f64>() / count;
    let mean_seconds = samples.iter().map(|s| s.seconds).sum::<f64>() / count;
    let (mut covariance, mut spread) = (0.0, 0.0);
    for sample in samples {
        let dx = sample.bytes - mean_bytes;
        covariance += dx * (sample.seconds - mean_seconds);
        spread += dx * dx;
    }
    let per_byte = covariance / spread;
    let cost = mean_seconds - per_byte * mean_bytes;
    let residual_variance = (samples.len() > 2).then(|| {
        let squares: f64 = samples
            .iter()
            .map(|s| (s.seconds - cost - per_byte * s.bytes).powi(2))
            .sum();
        squares / (count - 2.0)
    });
    let mut sizes: Vec<u64> = samples.iter().map(|s| s.bytes as u64).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let fitted = Fit {
        cost,
        per_byte,
        count,
        sizes: sizes.len(),
        mean_bytes,
        spread,
        residual_variance,
    };
    (per_byte.is_finite() && cost.is_finite()).then_some(fitted)
}

impl Fit {
    /// The smallest request size whose fixed cost is at most `share` of its duration:
    /// `cost ≤ share · (cost + bytes · per_byte)`. Infinite when the time does not grow with
    /// the size (every request is all overhead), zero when there is no fixed cost.
    pub(crate) fn size_for_overhead(&self, share: f64) -> f64 {
        if self.cost <= 0.0 {
            return 0.0;
        }
        if self.per_byte <= 0.0 {
            return f64::INFINITY;
        }
        self.cost * (1.0 - share) / (share * self.per_byte)
    }

    /// Whether the fit can be sure of anything yet: at least [`SURE_SAMPLES`] samples of at
    /// least [`SURE_SIZES`] sizes (with fewer, a line may pass through noisy points by
    /// chance, and the noise of a size measured once cannot be seen).
    pub(crate) fn has_enough_samples(&self) -> bool {
        self.count >= SURE_SAMPLES as f64 && self.sizes >= SURE_SIZES
    }

    /// Whether the samples span enough sizes to be sure once there are enough of them.
    pub(crate) fn has_enough_sizes(&self) -> bool {
        self.sizes >= SURE_SIZES
    }

    /// Whether the fixed cost is at most `share` of a request of `bytes`, with 95 % confidence
    /// (one-sided, Student's t): `(1 − share)·cost − share·bytes·per_byte ≤ −t·σ`. Never
    /// without [enough samples](Self::has_enough_samples).
    pub(crate) fn overhead_surely_within(&self, bytes: f64, share: f64) -> bool {
        let Some(noise) = self.residual_variance.filter(|_| self.has_enough_samples()) else {
            return false;
        };
        // The estimate is a linear combination a·cost + b·per_byte of the fitted values.
        let (a, b) = (1.0 - share, -share * bytes);
        let estimate = a * self.cost + b * self.per_byte;
        let var_per_byte = noise / self.spread;
        let var_cost = noise / self.count + self.mean_bytes.powi(2) * var_per_byte;
        let covariance = -self.mean_bytes * var_per_byte;
        let variance = a * a * var_cost + b * b * var_per_byte + 2.0 * a * b * covariance;
        estimate + t_quantile_95(self.count - 2.0) * variance.max(0.0).sqrt() <= 0.0
    }
}

/// The one-sided 95 % quantile of Student's t with `freedom` degrees of freedom (a few
/// samples say little about their own noise, so the margin is wide).
fn t_quantile_95(freedom: f64) -> f64 {
    const TABLE: [f64; 10] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
    ];
    let index = (freedom.max(1.0) as usize).saturating_sub(1);
    TABLE.get(index).copied().unwrap_or(1.645)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bytes: f64, seconds: f64) -> Sample {
        Sample { bytes, seconds }
    }

    /// 5 ms per request, 100 bytes per millisecond.
    fn exact(bytes: f64) -> Sample {
        sample(bytes, 0.005 + bytes / 100_000.0)
    }

    #[test]
    fn an_exact_line_is_found_again() {
        let samples: Vec<_> = [1e3, 2e3, 4e3].into_iter().map(exact).collect();
        let fitted = fit(&samples).unwrap();
        assert!((fitted.cost - 0.005).abs() < 1e-12, "{fitted:?}");
        assert!((fitted.per_byte - 1e-5).abs() < 1e-15, "{fitted:?}");
    }

    #[test]
    fn sizes_too_close_together_give_no_fit() {
        assert_eq!(fit(&[]), None);
        assert_eq!(fit(&[sample(1e6, 0.01)]), None);
        assert_eq!(fit(&[sample(1e6, 0.01), sample(1.2e6, 0.02)]), None);
        assert_eq!(fit(&[sample(0.0, 0.01), sample(1e6, 0.02)]), None);
    }

    #[test]
    fn the_size_for_an_overhead_share_puts_the_cost_at_that_share() {
        let fitted = fit(&[exact(1e3), exact(4e3)]).unwrap();
        let size = fitted.size_for_overhead(0.05);
        let share = fitted.cost / (fitted.cost + size * fitted.per_byte);
        assert!((share - 0.05).abs() < 1e-9, "{share}");
        let free = Fit {
            cost: 0.0,
            ..fitted
        };
        assert_eq!(free.size_for_overhead(0.05), 0.0);
        let flat = Fit {
            per_byte: 0.0,
            ..fitted
        };
        assert_eq!(flat.size_for_overhead(0.05), f64::INFINITY);
    }

    #[test]
    fn sureness_needs_four_samples_of_three_sizes_and_shrinks_with_noise() {
        // 5 ms at 100 B/ms: the fixed cost is 5 % of a request of 9.5 kB.
        let three = fit(&[exact(1e4), exact(2e4), exact(4e4)]).unwrap();
        assert!(!three.overhead_surely_within(1e5, 0.05));
        let two_sizes = fit(&[exact(1e4), exact(4e4), exact(4e4), exact(4e4)]).unwrap();
        assert!(!two_sizes.overhead_surely_within(1e5, 0.05));
        let four = fit(&[exact(1e4), exact(2e4), exact(4e4), exact(4e4)]).unwrap();
        assert!(four.overhead_surely_within(1e4, 0.05));
        assert!(!four.overhead_surely_within(9e3, 0.05));
        let noisy = fit(&[
            sample(1e4, 0.5 * exact(1e4).seconds),
            exact(2e4),
            sample(4e4, 1.5 * exact(4e4).seconds),
            exact(4e4),
        ])
        .unwrap();
        assert!(!noisy.overhead_surely_within(1e4, 0.05));
    }
}
