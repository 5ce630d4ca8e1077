//! A mergeable quantile sketch (KLL: Karnin, Lang and Liberty, "Optimal Quantile Approximation in
//! Streams", FOCS 2016), for fitting bin edges on references larger than memory or split across
//! partitions.
//!
//! Values live in a stack of compactors; an item at level `h` stands for `2^h` input values. When the
//! sketch holds more items than its capacity, the lowest full level is sorted and every other item
//! (starting at a random offset) moves one level up with double weight: the total weight stays exactly
//! the number of values seen, and each compaction moves any rank by at most `2^h`. Level capacities
//! shrink geometrically by 2/3 below the top one (`k`; level 0 keeps `k` raw values), so the sketch keeps
//! about `4k` items whatever
//! the input size, and merging two sketches is concatenating levels then compacting: the result has the
//! same error bound as one sketch fed both streams.
//!
//! Rank error: with probability 99%, every quantile answered is within [`epsilon`]`(k)` of its rank, as
//! a fraction of `n` (`k = 200`: 1.66%), for all quantiles at once. This is the empirical bound Apache
//! DataSketches publishes for its KLL (`2.446 / k^0.9433`), which uses the same compactor schedule; the
//! tests check it against exact ranks. Up to `k` values the sketch is exact.
//!
//! The coin is a splitmix64 stream seeded by a constant, so a sketch is a deterministic function of its
//! input order: reruns give identical edges. Only finite values are kept; NaN, infinities and nulls are
//! skipped, as quantile edges skip them.

use crate::error::{EngineError, Result};
use crate::kernel::{f64_blocks, BlockSink, Element, MaskNulls, Validity};
use ndarray::ArrayView1;

/// The default accuracy parameter (1.66% rank error, about 800 items kept).
pub const DEFAULT_K: usize = 200;
/// Smallest accepted `k`.
pub const MIN_K: usize = 8;
/// Largest accepted `k`.
pub const MAX_K: usize = 65_535;
/// No level holds fewer than this many items before compacting (DataSketches' `m`).
const MIN_LEVEL: usize = 8;
/// Levels never exceed this: 2^60 values.
pub const MAX_LEVELS: usize = 61;
const SEED: u64 = 0x6b6c_6c5f_6d6c_6d6e;

/// Normalized rank error at 99% confidence for all quantiles of a sketch with accuracy `k`.
pub fn epsilon(k: usize) -> f64 {
    2.446 / (k as f64).powf(0.9433)
}

/// A KLL quantile sketch over f64 values.
#[derive(Debug, Clone, PartialEq)]
pub struct KllSketch {
    k: usize,
    n: u64,
    min: f64,
    max: f64,
    levels: Vec<Vec<f64>>,
    retained: usize,
    /// Total capacity for the current number of levels, cached: `push` checks it per value.
    capacity: usize,
    rng: u64,
}

impl KllSketch {
    /// An empty sketch with accuracy `k` (see [`epsilon`]).
    pub fn new(k: usize) -> Result<Self> {
        if !(MIN_K..=MAX_K).contains(&k) {
            return Err(EngineError::invalid(format!(
                "sketch k must be between {MIN_K} and {MAX_K}, got {k}"
            )));
        }
        Ok(Self {
            k,
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            levels: vec![Vec::new()],
            retained: 0,
            capacity: k,
            rng: SEED,
        })
    }

    /// The accuracy parameter.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Finite values seen.
    pub fn n(&self) -> u64 {
        self.n
    }
    /// Smallest finite value seen (`inf` when empty).
    pub fn min(&self) -> f64 {
        self.min
    }
    /// Largest finite value seen (`-inf` when empty).
    pub fn max(&self) -> f64 {
        self.max
    }
    /// Items kept (memory is about 8 bytes each).
    pub fn retained(&self) -> usize {
        self.retained
    }
    /// The compactors, lowest level first (the codec's view).
    pub fn levels(&self) -> &[Vec<f64>] {
        &self.levels
    }
    /// The coin state (the codec's view: a decoded sketch continues the same coin stream).
    pub fn coin_state(&self) -> u64 {
        self.rng
    }

    /// Adds one value; non-finite values are skipped.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if let Some(l0) = self.levels.first_mut() {
            l0.push(x);
        }
        self.retained += 1;
        if self.retained >= self.capacity {
            self.compact();
        }
    }

    /// Adds every finite value of a 1-D array of any supported dtype, contiguous or strided.
    pub fn update<T: Element>(&mut self, data: ArrayView1<'_, T>) {
        f64_blocks(data, &mut Feed(self));
    }

    /// [`KllSketch::update`] for an array whose nulls are marked in `valid`.
    pub fn update_masked<T: Element>(&mut self, data: ArrayView1<'_, T>, valid: Validity<'_>) -> Result<()> {
        valid.check(data.len())?;
        let mut feed = Feed(self);
        f64_blocks(
            data,
            &mut MaskNulls {
                inner: &mut feed,
                valid,
                pos: 0,
            },
        );
        Ok(())
    }

    /// Adds `other`'s values (exact in `n`, min and max; the rank bound holds for the union).
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if other.k != self.k {
            return Err(EngineError::mismatch(format!(
                "cannot merge sketches of different k ({} and {})",
                self.k, other.k
            )));
        }
        while self.levels.len() < other.levels.len() {
            self.levels.push(Vec::new());
        }
        self.capacity = self.total_capacity();
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            mine.extend_from_slice(theirs);
        }
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.retained += other.retained;
        while self.retained >= self.capacity {
            if !self.compact() {
                break;
            }
        }
        Ok(())
    }

    fn level_capacity(&self, h: usize) -> usize {
        if h == 0 {
            // Level 0 buffers k raw values whatever the depth: fewer, larger compactions (one sort of k
            // values per k / 2 inputs instead of one of 8 per 4), and weight-1 items only make the
            // rank error smaller. About k more values kept.
            return self.k;
        }
        let depth = (self.levels.len() - 1 - h) as i32;
        let cap = (self.k as f64 * (2.0f64 / 3.0).powi(depth)).ceil() as usize;
        cap.max(MIN_LEVEL)
    }

    fn total_capacity(&self) -> usize {
        (0..self.levels.len()).map(|h| self.level_capacity(h)).sum()
    }

    fn coin(&mut self) -> usize {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) & 1) as usize
    }

    /// Halves the lowest level at or over its capacity; `false` when none is (nothing to do).
    fn compact(&mut self) -> bool {
        let Some(h) =
            (0..self.levels.len()).find(|&h| self.levels.get(h).map_or(0, Vec::len) >= self.level_capacity(h))
        else {
            return false;
        };
        if h + 1 >= MAX_LEVELS {
            return false;
        }
        if h + 1 == self.levels.len() {
            self.levels.push(Vec::new());
            self.capacity = self.total_capacity();
        }
        let offset = self.coin();
        let Some(level) = self.levels.get_mut(h) else {
            return false;
        };
        level.sort_unstable_by(f64::total_cmp);
        // An odd item stays behind at its weight, so the total weight is unchanged.
        let keep = (level.len() % 2 == 1).then(|| level.remove(0));
        let promoted: Vec<f64> = level.iter().skip(offset).step_by(2).copied().collect();
        level.clear();
        level.extend(keep);
        self.retained -= promoted.len();
        if let Some(up) = self.levels.get_mut(h + 1) {
            up.extend(promoted);
        }
        true
    }

    /// Every item with its weight, sorted by value.
    fn sorted_items(&self) -> Vec<(f64, u64)> {
        let mut items: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, l)| l.iter().map(move |&x| (x, 1u64 << h)))
            .collect();
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        items
    }

    /// The value at each probability in `probs` (each in [0, 1]): the smallest kept value whose
    /// cumulative weight reaches `p * n` (0 gives the minimum, 1 the maximum). Every answer is a value
    /// of the input.
    pub fn quantiles(&self, probs: &[f64]) -> Result<Vec<f64>> {
        if let Some(bad) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(EngineError::invalid(format!(
                "probabilities must be in [0, 1], got {bad}"
            )));
        }
        if self.n == 0 {
            return Err(EngineError::invalid("the sketch is empty: no quantiles"));
        }
        let items = self.sorted_items();
        let mut cum = Vec::with_capacity(items.len());
        let mut total = 0u64;
        for (_, w) in &items {
            total += w;
            cum.push(total);
        }
        Ok(probs
            .iter()
            .map(|&p| {
                if p <= 0.0 {
                    return self.min;
                }
                if p >= 1.0 {
                    return self.max;
                }
                let target = (p * self.n as f64).ceil().max(1.0) as u64;
                let i = cum.partition_point(|&c| c < target);
                items.get(i).map_or(self.max, |it| it.0)
            })
            .collect())
    }

    /// Estimated fraction of values `<= x` (or `< x` with `inclusive = false`).
    pub fn rank(&self, x: f64, inclusive: bool) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let below: u64 = self
            .levels
            .iter()
            .enumerate()
            .map(|(h, l)| l.iter().filter(|&&v| if inclusive { v <= x } else { v < x }).count() as u64 * (1u64 << h))
            .sum();
        below as f64 / self.n as f64
    }

    /// Rebuilds a sketch from its parts (the codec), checking that weights add up to `n`.
    pub fn from_parts(k: usize, n: u64, min: f64, max: f64, levels: Vec<Vec<f64>>, rng: u64) -> Result<Self> {
        let mut s = Self::new(k)?;
        if levels.is_empty() || levels.len() > MAX_LEVELS {
            return Err(EngineError::codec(format!(
                "sketch of {} levels is out of bounds",
                levels.len()
            )));
        }
        if levels.iter().flatten().any(|x| !x.is_finite() || *x < min || *x > max) {
            return Err(EngineError::codec("sketch holds a value outside its range"));
        }
        let weight = levels.iter().enumerate().try_fold(0u64, |acc, (h, l)| {
            (l.len() as u64).checked_mul(1u64 << h).and_then(|w| acc.checked_add(w))
        });
        if weight != Some(n) {
            return Err(EngineError::codec("sketch weights do not add up to its count"));
        }
        if n > 0 && !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(EngineError::codec("sketch range is invalid"));
        }
        s.retained = levels.iter().map(Vec::len).sum();
        s.levels = levels;
        s.capacity = s.total_capacity();
        s.n = n;
        s.rng = rng;
        if n > 0 {
            s.min = min;
            s.max = max;
        }
        Ok(s)
    }
}

struct Feed<'a>(&'a mut KllSketch);

impl BlockSink<f64> for Feed<'_> {
    #[inline(always)]
    fn block(&mut self, xs: &[f64]) {
        for &x in xs {
            self.0.push(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Worst distance between `p` and the true rank interval of each answer, over deciles.
    fn worst_error(sorted: &[f64], s: &KllSketch, probs: &[f64]) -> f64 {
        let n = sorted.len() as f64;
        let qs = s.quantiles(probs).unwrap();
        probs
            .iter()
            .zip(qs)
            .map(|(&p, q)| {
                let lt = sorted.partition_point(|&v| v < q) as f64 / n;
                let le = sorted.partition_point(|&v| v <= q) as f64 / n;
                if p < lt {
                    lt - p
                } else if p > le {
                    p - le
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max)
    }

    fn sketch_of(values: &[f64], k: usize) -> KllSketch {
        let mut s = KllSketch::new(k).unwrap();
        s.update(ArrayView1::from(values));
        s
    }

    const PROBS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

    #[test]
    fn small_inputs_are_exact() {
        let v: Vec<f64> = (0..150).map(|i| f64::from((i * 37) % 150)).collect();
        let s = sketch_of(&v, 200);
        assert_eq!(s.retained(), 150);
        assert_eq!(s.quantiles(&[0.0, 0.5, 1.0]).unwrap(), vec![0.0, 74.0, 149.0]);
    }

    #[test]
    fn skips_non_finite_and_reports_empty() {
        let s = sketch_of(&[f64::NAN, f64::INFINITY], 200);
        assert_eq!(s.n(), 0);
        assert!(s.quantiles(&[0.5]).is_err());
        assert!(KllSketch::new(4).is_err());
    }

    #[test]
    fn large_stream_stays_small_and_within_bound() {
        let v: Vec<f64> = (0..1_000_000u64)
            .map(|i| ((i * 2_654_435_761) % 1_000_003) as f64)
            .collect();
        let s = sketch_of(&v, 200);
        assert!(s.retained() < 4 * 200 + 64 * 8, "retained {}", s.retained());
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        assert!(worst_error(&sorted, &s, &PROBS) <= epsilon(200));
        assert_eq!(s.n(), 1_000_000);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn rank_error_within_bound(
            values in proptest::collection::vec(-1e6f64..1e6, 1..20_000),
            k in prop_oneof![Just(50usize), Just(100), Just(200)],
        ) {
            let s = sketch_of(&values, k);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert!(worst_error(&sorted, &s, &PROBS) <= epsilon(k));
        }

        #[test]
        fn merged_partitions_within_bound(
            values in proptest::collection::vec((0i32..500).prop_map(f64::from), 1..20_000),
            parts in 1usize..8,
        ) {
            let mut merged = KllSketch::new(100).unwrap();
            for chunk in values.chunks(values.len().div_ceil(parts)) {
                merged.merge(&sketch_of(chunk, 100)).unwrap();
            }
            prop_assert_eq!(merged.n(), values.len() as u64);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert!(worst_error(&sorted, &merged, &PROBS) <= epsilon(100));
            prop_assert_eq!(merged.min(), sorted[0]);
        }
    }
}
