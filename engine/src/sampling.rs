//! The random sample of a large reference and the value brackets placed from it around each wanted
//! rank ([`crate::bracket`] keeps the values of the grid cells the brackets touch). The sample only
//! steers where values are kept; the answers never depend on it.

use crate::kernel::{widen_f64, Element, Validity};
use ndarray::ArrayView1;

/// Largest sample used to place the brackets; rank error of a bracket end is about n / sqrt(sample).
/// 16K values: the brackets then keep about a quarter of a 1M column rather than an eighth, but
/// keeping is cheap (one branch-free store a value), while reading and selecting in a 64K sample
/// cost 0.9 ms a 1M column against 0.35 for 16K (measured on the pipeline workload's columns).
const SAMPLE: usize = 1 << 14;
/// One sampled value per this many inputs below the cap.
const SAMPLE_EVERY: usize = 16;
/// Smallest sample (inputs this small take the copy-and-select path anyway).
const SAMPLE_MIN: usize = 2048;

/// A random sample of the finite values (reproducible: a fixed xorshift seed).
pub(crate) fn sample<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>) -> Option<Vec<f64>> {
    let len = data.len();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let size = (len / SAMPLE_EVERY).clamp(SAMPLE_MIN, SAMPLE);
    let stride = (len / size).max(1) as u64;
    // The positions first, the reads after: the reads then depend on nothing but their position,
    // so many cache misses are in flight at once (read as they were drawn, a sparse sample cost a
    // miss latency each: 20 ns a value at 16K values).
    let positions: Vec<usize> = (0..size)
        .map(|k| {
            // Stratified: one random position in each stretch of `stride` values, so that the reads go
            // forward through memory and the sample spreads evenly.
            // xorshift64*: reproducible, and good enough to place each position.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
            k * stride as usize + ((u128::from(r) * u128::from(stride)) >> 64) as usize
        })
        .collect();
    let sample: Vec<f64> = match (data.as_slice(), valid) {
        (Some(xs), None) => positions
            .iter()
            .filter_map(|&i| xs.get(i))
            .map(|&x| widen_f64(x))
            .collect(),
        _ => positions
            .iter()
            .filter(|&&i| valid.is_none_or(|v| v.get(i)))
            .filter_map(|&i| data.get(i))
            .map(|&x| widen_f64(x))
            .collect(),
    };
    let mut sample = sample;
    sample.retain(|x| x.is_finite());
    (sample.len() >= size / 4).then_some(sample)
}

/// Disjoint closed brackets `[lo_j, hi_j]` around each probability's position in the sample, about
/// four standard deviations of the sample rank wide on each side. Only the ends are selected from the
/// sample; the outermost ends are the finite extremes, so that infinities are never inside.
pub(crate) fn brackets(sample: &mut [f64], probs: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let s = sample.len();
    let last = (s - 1) as f64;
    let ends: Vec<(Option<usize>, Option<usize>)> = probs
        .iter()
        .map(|&p| {
            let centre = p * last;
            let spread = 4.0 * (s as f64 * p * (1.0 - p)).sqrt() + 8.0;
            let (lo, hi) = ((centre - spread).floor(), (centre + spread).ceil());
            ((lo > 0.0).then_some(lo as usize), (hi < last).then_some(hi as usize))
        })
        .collect();
    let mut wanted: Vec<usize> = ends.iter().flat_map(|&(a, b)| a.into_iter().chain(b)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    crate::quantile::multi_select(sample, &wanted);
    let at = |i: Option<usize>, none: f64| i.and_then(|i| sample.get(i).copied()).unwrap_or(none);
    let (mut los, mut his): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for &(a, b) in &ends {
        let (lo, hi) = (at(a, f64::MIN), at(b, f64::MAX));
        match his.last_mut() {
            Some(prev_hi) if lo <= *prev_hi => *prev_hi = prev_hi.max(hi),
            _ => {
                los.push(lo);
                his.push(hi);
            }
        }
    }
    (los, his)
}
