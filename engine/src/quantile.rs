//! Exact quantiles of a reference column without sorting it and without copying it.
//!
//! Cut points must equal numpy's default `np.quantile` (linear interpolation), so the order statistics
//! they interpolate are computed exactly. A full sort is wasteful for nine cut points, and numpy's
//! partition still copies the data; instead one pass over the input (any dtype, strided or not)
//! counts the values below narrow brackets around each wanted rank, found from a sorted random
//! sample, and keeps only the values inside the brackets. The order statistics are then selected
//! inside those small buckets. If the sample was unlucky and a rank falls outside its bracket, the
//! exact fallback copies the finite values and selects in them: the answer never depends on chance,
//! only the speed does.

use crate::error::{EngineError, Result};
use crate::kernel::{f64_blocks, widen_f64, BlockSink, Element, MaskNulls, Validity, BLOCK};
use ndarray::{ArrayView1, Axis};
use rayon::prelude::*;

/// Below this many values the direct copy-and-select path is cheaper than sampling.
const SMALL: usize = 1 << 17;
/// Largest sample used to place the brackets; rank error of a bracket end is about n / sqrt(sample).
const SAMPLE: usize = 1 << 16;
/// One sampled value per this many inputs below the cap: sorting the sample must stay cheap beside the
/// pass (a 64K sort costs as much as the pass over 1M values), while wider brackets only cost a few
/// more values kept.
const SAMPLE_EVERY: usize = 64;
/// Inputs at least this large are split across cores.
const PARALLEL_MIN: usize = 1 << 20;
/// Most probabilities fitted through brackets; beyond, the exact path is as fast.
const MAX_BRACKETS: usize = 64;

/// The result of fitting: quantile values and the finite range of the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// One value per requested probability.
    pub values: Vec<f64>,
    /// Per probability, the upper order statistic it interpolated towards (`x[floor(h) + 1]`): a data
    /// value `>=` the quantile, which lets callers prove a bin non-empty without recounting.
    pub uppers: Vec<f64>,
    /// Smallest finite value.
    pub lower: f64,
    /// Largest finite value.
    pub upper: f64,
    /// Number of finite values.
    pub n: usize,
}

/// numpy's linear interpolation `_lerp`, bit for bit: `b - d * (1 - t)` when `t >= 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Ranks (0-based) numpy reads for probability `p` over `n` values, and the interpolation weight.
fn ranks(n: usize, p: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let i = (lo as usize).min(n - 1);
    (i, (i + 1).min(n - 1), h - lo)
}

/// Linear quantiles of the finite values of `data` at each of `probs` (each in [0, 1]); values whose
/// bit in `valid` is clear are nulls and left out, like NaN.
pub fn fit<T: Element>(data: ArrayView1<'_, T>, valid: Option<Validity<'_>>, probs: &[f64]) -> Result<Fitted> {
    if let Some(v) = valid {
        v.check(data.len())?;
    }
    if data.len() >= SMALL && !probs.is_empty() && probs.len() <= MAX_BRACKETS {
        if let Some(f) = bracketed(data.view(), valid, probs) {
            return Ok(f);
        }
    }
    let mut values = finite_values(data, valid)?;
    let (lower, upper) = min_max(&values);
    let n = values.len();
    let mut wanted: Vec<usize> = probs
        .iter()
        .flat_map(|&p| {
            let (a, b, _) = ranks(n, p);
            [a, b]
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    multi_select(&mut values, &wanted);
    let at = |i: usize| values.get(i).copied().unwrap_or(f64::NAN);
    let (mut out, mut uppers) = (Vec::with_capacity(probs.len()), Vec::with_capacity(probs.len()));
    for &p in probs {
        let (a, b, t) = ranks(n, p);
        out.push(lerp(at(a), at(b), t));
        uppers.push(at(b));
    }
    Ok(Fitted {
        values: out,
        uppers,
        lower,
        upper,
        n,
    })
}

/// Finite, non-null values of `data` as f64 (a copy); an error when there are none.
pub fn finite_values<T: Element>(data: ArrayView1<'_, T>, valid: Option<Validity<'_>>) -> Result<Vec<f64>> {
    let out: Vec<f64> = data
        .iter()
        .enumerate()
        .filter(|(i, _)| valid.is_none_or(|v| v.get(*i)))
        .map(|(_, x)| widen_f64(*x))
        .filter(|x| x.is_finite())
        .collect();
    if out.is_empty() {
        let what = if data.is_empty() {
            "reference is empty"
        } else {
            "reference has no finite values"
        };
        return Err(EngineError::invalid(format!("{what}: cannot fit bin edges")));
    }
    Ok(out)
}

/// Smallest and largest finite value; an error when there are none.
pub fn finite_range<T: Element>(data: ArrayView1<'_, T>) -> Result<(f64, f64)> {
    let (lo, hi) = data
        .iter()
        .map(|x| widen_f64(*x))
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if lo > hi {
        let what = if data.is_empty() {
            "reference is empty"
        } else {
            "reference has no finite values"
        };
        return Err(EngineError::invalid(format!("{what}: cannot fit bin edges")));
    }
    Ok((lo, hi))
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
        (lo.min(x), hi.max(x))
    })
}

/// Places the k-th smallest value at index k for every k in `wanted` (sorted, unique).
fn multi_select(values: &mut [f64], wanted: &[usize]) {
    let mid = wanted.len() / 2;
    let Some(&k) = wanted.get(mid) else { return };
    if k >= values.len() {
        return;
    }
    values.select_nth_unstable_by(k, f64::total_cmp);
    let (left, right) = values.split_at_mut(k);
    let (lw, rw) = wanted.split_at(mid);
    multi_select(left, lw);
    let shifted: Vec<usize> = rw.iter().skip(1).map(|&w| w - k - 1).collect();
    if let Some(rest) = right.get_mut(1..) {
        multi_select(rest, &shifted);
    }
}

/// Sample-guided single pass; `None` when a rank escaped its bracket or the data is mostly non-finite.
fn bracketed<T: Element>(data: ArrayView1<'_, T>, valid: Option<Validity<'_>>, probs: &[f64]) -> Option<Fitted> {
    let sample = sorted_sample(&data, valid)?;
    let (los, his) = brackets(&sample, probs);
    let mut pass = parallel_pass(&data, valid, &los, &his);
    if pass.n == 0 {
        return None;
    }
    let n = pass.n;
    let mut buckets = pass.split();
    let (mut out, mut uppers) = (Vec::with_capacity(probs.len()), Vec::with_capacity(probs.len()));
    for &p in probs {
        let (a, b, t) = ranks(n, p);
        let hi = order_stat(&pass.below, &mut buckets, b)?;
        out.push(lerp(order_stat(&pass.below, &mut buckets, a)?, hi, t));
        uppers.push(hi);
    }
    Some(Fitted {
        values: out,
        uppers,
        lower: pass.min,
        upper: pass.max,
        n,
    })
}

/// The k-th smallest finite value, if its rank lies inside one of the brackets.
fn order_stat(below: &[u64], buckets: &mut [Vec<f64>], k: usize) -> Option<f64> {
    for (b, bucket) in below.iter().zip(buckets.iter_mut()) {
        let start = *b as usize;
        if k >= start && k < start + bucket.len() {
            let (_, v, _) = bucket.select_nth_unstable_by(k - start, f64::total_cmp);
            return Some(*v);
        }
    }
    None
}

fn sorted_sample<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>) -> Option<Vec<f64>> {
    let len = data.len() as u64;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let size = (data.len() / SAMPLE_EVERY).clamp(SMALL / SAMPLE_EVERY, SAMPLE);
    let mut sample = Vec::with_capacity(size);
    for _ in 0..size {
        // xorshift64*: reproducible, and good enough to spread sample positions.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let i = ((u128::from(r) * u128::from(len)) >> 64) as usize;
        if let (Some(&x), true) = (data.get(i), valid.is_none_or(|v| v.get(i))) {
            let v = widen_f64(x);
            if v.is_finite() {
                sample.push(v);
            }
        }
    }
    if sample.len() < size / 4 {
        return None;
    }
    sample.sort_unstable_by(f64::total_cmp);
    Some(sample)
}

/// Disjoint closed brackets `[lo_j, hi_j]` around each probability's position in the sample, about
/// four standard deviations of the sample rank wide on each side.
fn brackets(sample: &[f64], probs: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let s = sample.len();
    let last = (s - 1) as f64;
    let (mut los, mut his): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for &p in probs {
        let centre = p * last;
        let spread = 4.0 * (s as f64 * p * (1.0 - p)).sqrt() + 8.0;
        let (lo_i, hi_i) = ((centre - spread).floor(), (centre + spread).ceil());
        let lo = if lo_i <= 0.0 {
            f64::NEG_INFINITY
        } else {
            sample.get(lo_i as usize).copied().unwrap_or(f64::NEG_INFINITY)
        };
        let hi = if hi_i >= last {
            f64::INFINITY
        } else {
            sample.get(hi_i as usize).copied().unwrap_or(f64::INFINITY)
        };
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

/// State of the single pass: finite values below each bracket, the values inside any bracket,
/// range and size.
struct Pass {
    los: Vec<f64>,
    his: Vec<f64>,
    below: Vec<u64>,
    inside: Vec<f64>,
    len: usize,
    min: f64,
    max: f64,
    n: usize,
}

impl Pass {
    fn new(los: Vec<f64>, his: Vec<f64>) -> Self {
        let below = vec![0; los.len()];
        Self {
            los,
            his,
            below,
            inside: Vec::new(),
            len: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            n: 0,
        }
    }

    /// The collected values, one bucket per bracket (found by a vectorized compare-and-sum).
    fn split(&mut self) -> Vec<Vec<f64>> {
        let mut buckets = vec![Vec::new(); self.los.len()];
        for chunk in self.inside.chunks(BLOCK) {
            let mut ids = [0usize; BLOCK];
            let ids = &mut ids[..chunk.len()];
            for &lo in self.los.iter().skip(1) {
                ids.iter_mut().zip(chunk).for_each(|(i, &x)| *i += usize::from(x >= lo));
            }
            for (&j, &x) in ids.iter().zip(chunk) {
                if let Some(b) = buckets.get_mut(j) {
                    b.push(x);
                }
            }
        }
        buckets
    }
}

/// Runs the pass over row chunks on all cores (exact: counts add, buckets concatenate).
fn parallel_pass<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, los: &[f64], his: &[f64]) -> Pass {
    let workers = if data.len() >= PARALLEL_MIN {
        crate::parallel::cores()
    } else {
        1
    };
    let pool = if workers > 1 {
        crate::parallel::pool(workers)
    } else {
        None
    };
    let one = |(start, part): (usize, ArrayView1<'_, T>)| {
        let mut pass = Pass::new(los.to_vec(), his.to_vec());
        run_pass(&part, valid.map(|v| v.shifted(start)), &mut pass);
        pass
    };
    let Some(pool) = pool else { return one((0, data.view())) };
    let chunk = data.len().div_ceil(workers).max(1);
    let parts: Vec<(usize, ArrayView1<'_, T>)> = data
        .axis_chunks_iter(Axis(0), chunk)
        .enumerate()
        .map(|(i, p)| (i * chunk, p))
        .collect();
    let passes: Vec<Pass> = pool.install(|| parts.into_par_iter().map(one).collect());
    let mut total = Pass::new(los.to_vec(), his.to_vec());
    for p in passes {
        total.below.iter_mut().zip(&p.below).for_each(|(a, b)| *a += b);
        total.inside.extend_from_slice(&p.inside);
        total.len += p.len;
        total.min = total.min.min(p.min);
        total.max = total.max.max(p.max);
        total.n += p.n;
    }
    total
}

fn run_pass<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, pass: &mut Pass) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU reports AVX2, the only feature `run_pass_avx2` is compiled for.
            unsafe { run_pass_avx2(data, valid, pass) };
            return;
        }
    }
    run_pass_generic(data, valid, pass);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_pass_avx2<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, pass: &mut Pass) {
    run_pass_generic(data, valid, pass);
}

#[inline(always)]
fn run_pass_generic<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, pass: &mut Pass) {
    match valid {
        Some(valid) => f64_blocks(
            data.view(),
            &mut MaskNulls {
                inner: pass,
                valid,
                pos: 0,
            },
        ),
        None => f64_blocks(data.view(), pass),
    }
}

impl BlockSink<f64> for Pass {
    #[inline(always)]
    fn block(&mut self, xs: &[f64]) {
        pass_block(xs, self);
    }
}

#[inline(always)]
fn pass_block(xs: &[f64], pass: &mut Pass) {
    // Four independent lanes so the min/max/count reductions vectorize.
    let (mut lo, mut hi) = ([pass.min; 4], [pass.max; 4]);
    let (mut finite, mut neg_inf) = ([0u64; 4], [0u64; 4]);
    let mut quads = xs.chunks_exact(4);
    for q in quads.by_ref() {
        for k in 0..4 {
            let x = q.get(k).copied().unwrap_or(f64::NAN);
            let ok = x.is_finite();
            finite[k] += u64::from(ok);
            neg_inf[k] += u64::from(x == f64::NEG_INFINITY);
            lo[k] = lo[k].min(if ok { x } else { f64::INFINITY });
            hi[k] = hi[k].max(if ok { x } else { f64::NEG_INFINITY });
        }
    }
    for &x in quads.remainder() {
        let ok = x.is_finite();
        finite[0] += u64::from(ok);
        neg_inf[0] += u64::from(x == f64::NEG_INFINITY);
        lo[0] = lo[0].min(if ok { x } else { f64::INFINITY });
        hi[0] = hi[0].max(if ok { x } else { f64::NEG_INFINITY });
    }
    pass.min = lo.iter().copied().fold(f64::INFINITY, f64::min);
    pass.max = hi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    pass.n += finite.iter().sum::<u64>() as usize;
    let neg_inf: u64 = neg_inf.iter().sum();
    let mut hit = [0u64; BLOCK];
    let hit = &mut hit[..xs.len().min(BLOCK)];
    for ((b, &l), &h) in pass.below.iter_mut().zip(&pass.los).zip(&pass.his) {
        // One sweep per bracket: count what lies below it and flag what lies inside it.
        let mut under = 0u64;
        for (f, &x) in hit.iter_mut().zip(xs) {
            under += u64::from(x < l);
            *f |= u64::from(x >= l) & u64::from(x <= h);
        }
        // -inf is below every finite bound but is not a finite value: take it back out.
        *b += under - if l > f64::NEG_INFINITY { neg_inf } else { 0 };
    }
    // Branch-free append: write every value, advance only past those inside a bracket. The mask
    // keeps the index provably in bounds, so the loop has no checks and no branches.
    let mut local = [0f64; BLOCK];
    let mut len = 0usize;
    for (&f, &x) in hit.iter().zip(xs) {
        local[len & (BLOCK - 1)] = x;
        len += (f & u64::from(x.is_finite())) as usize;
    }
    pass.inside.extend_from_slice(&local[..len.min(BLOCK)]);
    pass.len += len;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numpy_like(v: &[f64], probs: &[f64]) -> Vec<f64> {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        probs
            .iter()
            .map(|&p| {
                let (a, b, t) = ranks(s.len(), p);
                lerp(s[a], s[b], t)
            })
            .collect()
    }

    #[test]
    fn bracketed_pass_equals_sorting() {
        let n = 300_000;
        let mut state = 7u64;
        let v: Vec<f64> = (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if i % 97 == 0 {
                    f64::NAN
                } else {
                    ((state >> 11) as f64 / (1u64 << 53) as f64).powi(3) * 1e3
                }
            })
            .collect();
        let probs: Vec<f64> = (1..10).map(|i| i as f64 * 0.1).collect();
        let got = fit(ArrayView1::from(&v[..]), None, &probs).unwrap();
        assert_eq!(got.values, numpy_like(&v, &probs));
        assert_eq!(got.n, v.iter().filter(|x| x.is_finite()).count());
    }

    #[test]
    fn heavy_ties_still_exact() {
        let v: Vec<f64> = (0..200_000).map(|i| f64::from(i % 3)).collect();
        let probs = [0.1, 0.5, 0.9];
        assert_eq!(
            fit(ArrayView1::from(&v[..]), None, &probs).unwrap().values,
            numpy_like(&v, &probs)
        );
    }

    #[test]
    fn small_path_matches() {
        let v = [5.0, 1.0, f64::INFINITY, 3.0, f64::NAN, 2.0];
        assert_eq!(
            fit(ArrayView1::from(&v[..]), None, &[0.25, 0.5]).unwrap().values,
            numpy_like(&v, &[0.25, 0.5])
        );
    }
}
