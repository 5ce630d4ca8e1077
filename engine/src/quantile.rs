//! Exact quantiles of a reference column without sorting it and without copying it.
//!
//! Cut points must equal numpy's default `np.quantile` (linear interpolation), so the order statistics
//! they interpolate are computed exactly. A full sort is wasteful for nine cut points, and numpy's
//! partition still copies the data; instead one pass over the input (any dtype, strided or not)
//! counts every value in a cell of a grid placed from a random sample, and keeps only the values of
//! the cells around each wanted rank ([`crate::bracket`]). The order statistics are then selected
//! inside the one cell each falls in. If the sample was unlucky and a rank falls in a cell whose
//! values were not kept, the exact fallback copies the finite values and selects in them: the answer
//! never depends on chance, only the speed does.

use crate::bracket::{self, Pass};
use crate::error::{EngineError, Result};
use crate::kernel::{widen_f64, Element, Validity};
use ndarray::ArrayView1;

/// Below this many values the direct copy-and-select path is cheaper than sampling.
const SMALL: usize = 1 << 17;

/// The result of fitting: quantile values and the finite range of the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// One value per requested probability.
    pub values: Vec<f64>,
    /// Per probability, the upper order statistic it interpolated towards (`x[floor(h) + 1]`): a data
    /// value `>=` the quantile, which lets callers prove a bin non-empty without recounting.
    pub uppers: Vec<f64>,
    /// Smallest finite value (a zero is `+0.0`).
    pub lower: f64,
    /// Largest finite value (a zero is `+0.0`).
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
    fit_counted(data, valid, probs).map(|(f, _)| f)
}

/// [`fit`], and for a large input the bracket pass that found the quantiles (see
/// [`crate::bracket`]), which can count the reference below values near them without another pass.
pub fn fit_counted<T: Element>(
    data: ArrayView1<'_, T>,
    valid: Option<Validity<'_>>,
    probs: &[f64],
) -> Result<(Fitted, Option<Pass>)> {
    if let Some(v) = valid {
        v.check(data.len())?;
    }
    if data.len() >= SMALL {
        if let Some(mut pass) = bracket::pass(data.view(), valid, probs) {
            if let Some(f) = from_pass(&mut pass, probs) {
                return Ok((f, Some(pass)));
            }
        }
    }
    exact(data, valid, probs).map(|f| (f, None))
}

/// The order statistics (0-based ranks, sorted, distinct) that the quantiles of `probs` interpolate.
fn wanted_ranks(n: usize, probs: &[f64]) -> Vec<usize> {
    let mut wanted: Vec<usize> = probs
        .iter()
        .flat_map(|&p| {
            let (a, b, _) = ranks(n, p);
            [a, b]
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// The quantiles from the order statistics inside the brackets; `None` when one escaped them.
fn from_pass(pass: &mut Pass, probs: &[f64]) -> Option<Fitted> {
    let n = pass.finite() as usize;
    let wanted = wanted_ranks(n, probs);
    let stats = pass.order_stats(&wanted)?;
    let at = |k: usize| wanted.binary_search(&k).ok().and_then(|i| stats.get(i).copied());
    let (mut out, mut uppers) = (Vec::with_capacity(probs.len()), Vec::with_capacity(probs.len()));
    for &p in probs {
        let (a, b, t) = ranks(n, p);
        let hi = at(b)?;
        out.push(lerp(at(a)?, hi, t));
        uppers.push(hi);
    }
    Some(Fitted {
        values: out,
        uppers,
        // `+ 0.0` turns -0.0 into +0.0: which zero the pass met first depends on the SIMD lanes and
        // the thread split, and edges compare by bits, so equal references must give equal bits.
        lower: pass.min + 0.0,
        upper: pass.max + 0.0,
        n,
    })
}

/// Copy the finite values and select the order statistics in the copy.
fn exact<T: Element>(data: ArrayView1<'_, T>, valid: Option<Validity<'_>>, probs: &[f64]) -> Result<Fitted> {
    let mut values = finite_values(data, valid)?;
    let (lower, upper) = min_max(&values);
    let n = values.len();
    let wanted = wanted_ranks(n, probs);
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
        lower: lower + 0.0, // as in `from_pass`: one zero whatever the order of the data
        upper: upper + 0.0,
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
pub(crate) fn multi_select(values: &mut [f64], wanted: &[usize]) {
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

#[cfg(test)]
#[path = "quantile_tests.rs"]
mod exactness;
