//! Bin edges for numerical features: quantile (from a reference), uniform, or explicit.
//!
//! Bins are left-closed, `[c_i, c_i+1)`, as numpy's `searchsorted(cuts, x, side="right")` assigns them,
//! and the two outer bins are open, so every non-NaN value lands in exactly one bin. The reference
//! range `[lower, upper]` is kept beside the cuts so production values beyond it are also counted as
//! out-of-range. Quantile cut points equal numpy's default `np.quantile` (linear interpolation) on the
//! reference without NaN or infinities, before ties are merged.

use crate::bracket::Pass;
use crate::error::{EngineError, Result};
use crate::kernel::{self, Element, Kind, Search, Tally, Validity};
use crate::kll::KllSketch;
use crate::quantile;
use ndarray::ArrayView1;

/// A reference's histogram on its own edges, as counting it would give: counts per bin, missing
/// (NaN and nulls) and out of range (the infinities: the range is the finite one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefCounts {
    /// Values per bin, infinities in the outer bins.
    pub counts: Vec<u64>,
    /// NaN values and nulls.
    pub missing: u64,
    /// Values outside the finite reference range.
    pub out_of_range: u64,
}

impl RefCounts {
    /// The counts on `cuts` from what the quantile pass kept; `None` when a cut lies outside its
    /// brackets.
    fn from_pass(pass: &Pass, cuts: &[f64]) -> Option<Self> {
        // Bin j holds the values >= cut j-1 and < cut j; "values >= c" includes +inf, bin 0 -inf.
        let present = pass.seen - pass.nan;
        let mut prev = present;
        let mut counts = Vec::with_capacity(cuts.len() + 1);
        for &c in cuts {
            let ge = pass.finite() - pass.below(c)? + pass.pos_inf;
            counts.push(prev.checked_sub(ge)?);
            prev = ge;
        }
        counts.push(prev);
        Some(Self {
            counts,
            missing: pass.nan,
            out_of_range: pass.pos_inf + pass.neg_inf,
        })
    }
}

/// Cut points and reference range shared by every histogram of one feature.
#[derive(Debug, Clone)]
pub struct BinEdges {
    cuts: Vec<f64>,
    lower: f64,
    upper: f64,
    search: Search,
}

impl PartialEq for BinEdges {
    fn eq(&self, other: &Self) -> bool {
        // Bitwise, so that a merge never mixes profiles whose edges differ in the last ulp.
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        bits(&self.cuts) == bits(&other.cuts)
            && self.lower.to_bits() == other.lower.to_bits()
            && self.upper.to_bits() == other.upper.to_bits()
    }
}

impl BinEdges {
    /// Explicit cut points: finite and strictly increasing. `lower`/`upper` bound the reference range
    /// (use infinities when unknown); `lower <= upper` is required.
    pub fn explicit(cuts: Vec<f64>, lower: f64, upper: f64) -> Result<Self> {
        if let Some(bad) = cuts.iter().find(|c| !c.is_finite()) {
            return Err(EngineError::invalid(format!("bin edges must be finite, got {bad}")));
        }
        if let Some(w) = cuts.windows(2).find(|w| matches!(w, [a, b] if a >= b)) {
            return Err(EngineError::invalid(format!(
                "bin edges must be strictly increasing, got {w:?}"
            )));
        }
        if lower.is_nan() || upper.is_nan() || lower > upper {
            return Err(EngineError::invalid(format!(
                "invalid reference range [{lower}, {upper}]"
            )));
        }
        let search = Search::new(&cuts, lower, upper);
        Ok(Self {
            cuts,
            lower,
            upper,
            search,
        })
    }

    /// Quantile edges: `bins - 1` cut points at numpy's linear quantiles of the finite reference values,
    /// then merged so that no bin is empty on the reference (heavy ties and discrete features give fewer
    /// bins; an all-equal reference gives one).
    pub fn quantile<T: Element>(reference: ArrayView1<'_, T>, bins: usize) -> Result<Self> {
        Self::quantile_masked(reference, None, bins)
    }

    /// [`BinEdges::quantile`] of a reference whose nulls are marked in `valid`.
    pub fn quantile_masked<T: Element>(
        reference: ArrayView1<'_, T>,
        valid: Option<Validity<'_>>,
        bins: usize,
    ) -> Result<Self> {
        Self::quantile_counted(reference, valid, bins).map(|(edges, _)| edges)
    }

    /// [`BinEdges::quantile_masked`], and the reference's own counts on the edges when the quantile
    /// pass could tell them (float input: what counting the reference again would give).
    pub fn quantile_counted<T: Element>(
        reference: ArrayView1<'_, T>,
        valid: Option<Validity<'_>>,
        bins: usize,
    ) -> Result<(Self, Option<RefCounts>)> {
        check_bins(bins)?;
        // The probabilities as np.linspace(0, 1, bins + 1)[1:-1] computes them: i * (1 / bins).
        let probs: Vec<f64> = (1..bins).map(|i| i as f64 * (1.0 / bins as f64)).collect();
        let (fitted, pass) = quantile::fit_counted(reference.view(), valid, &probs)?;
        // Integers are counted against integer thresholds; only floats compare as the pass did.
        let pass = pass.filter(|_| T::KIND == Kind::Float);
        let edges = match Self::provably_non_empty(&fitted) {
            Some(edges) => edges?,
            None => {
                let mut cuts = fitted.values;
                cuts.dedup_by(|later, earlier| later <= earlier);
                let edges = Self::explicit(cuts, fitted.lower, fitted.upper)?;
                let counts = match pass.as_ref().and_then(|p| RefCounts::from_pass(p, &edges.cuts)) {
                    Some(c) => c.counts,
                    None => edges.count_reference(reference, valid),
                };
                edges.without_empty_bins(&counts)?
            }
        };
        let counts = pass.and_then(|p| RefCounts::from_pass(&p, &edges.cuts));
        Ok((edges, counts))
    }

    /// Quantile edges from a [`KllSketch`]: cut points at the sketch's quantiles `i / bins` (each within
    /// the sketch's rank error of the exact ones), ties merged. Every answer of the sketch is a
    /// reference value, so each bin `[c_i, c_i+1)` holds its left cut and no bin is empty once cuts at
    /// the minimum are dropped.
    pub fn from_sketch(sketch: &KllSketch, bins: usize) -> Result<Self> {
        check_bins(bins)?;
        if sketch.n() == 0 {
            return Err(EngineError::invalid(
                "reference has no finite values: cannot fit bin edges",
            ));
        }
        let probs: Vec<f64> = (1..bins).map(|i| i as f64 * (1.0 / bins as f64)).collect();
        let mut cuts = sketch.quantiles(&probs)?;
        cuts.dedup_by(|later, earlier| later <= earlier);
        cuts.retain(|c| *c > sketch.min());
        Self::explicit(cuts, sketch.min(), sketch.max())
    }

    /// `bins` equal-width bins between the finite reference minimum and maximum.
    pub fn uniform<T: Element>(reference: ArrayView1<'_, T>, bins: usize) -> Result<Self> {
        check_bins(bins)?;
        let (lower, upper) = quantile::finite_range(reference)?;
        let width = (upper - lower) / bins as f64;
        let mut cuts: Vec<f64> = (1..bins).map(|i| lower + width * i as f64).collect();
        cuts.dedup_by(|later, earlier| later <= earlier);
        cuts.retain(|c| *c > lower && *c <= upper);
        Self::explicit(cuts, lower, upper)
    }

    /// The common case without a recount: when each bin `[c_i, c_i+1)` provably holds the order
    /// statistic `c_i` interpolated towards (and the first bin holds the minimum), no bin is empty.
    fn provably_non_empty(f: &quantile::Fitted) -> Option<Result<Self>> {
        let first = f.values.first()?;
        let inner_ok = f.uppers.iter().zip(f.values.iter().skip(1)).all(|(u, next)| u < next);
        let strictly = f.values.windows(2).all(|w| matches!(w, [a, b] if a < b));
        (f.lower < *first && inner_ok && strictly).then(|| Self::explicit(f.values.clone(), f.lower, f.upper))
    }

    /// The reference's count per bin.
    fn count_reference<T: Element>(&self, reference: ArrayView1<'_, T>, valid: Option<Validity<'_>>) -> Vec<u64> {
        let mut tally = Tally::new(&self.search);
        match valid {
            Some(v) => kernel::count_masked(&self.search, reference, v, &mut tally),
            None => kernel::count(&self.search, reference, &mut tally),
        }
        tally.finish().0
    }

    /// Drops cuts until every bin holds at least one reference value (`counts`, one per bin).
    fn without_empty_bins(self, counts: &[u64]) -> Result<Self> {
        let mut kept = Vec::with_capacity(self.cuts.len());
        let mut run = 0u64;
        // counts[i] is the bin left of cuts[i]: keep a cut only when the bin it closes is non-empty.
        for (&cut, &n) in self.cuts.iter().zip(counts) {
            run += n;
            if run > 0 {
                kept.push(cut);
                run = 0;
            }
        }
        if counts.last().copied().unwrap_or(0) == 0 {
            kept.pop();
        }
        Self::explicit(kept, self.lower, self.upper)
    }

    /// Inner cut points (`n_bins - 1` of them).
    pub fn cuts(&self) -> &[f64] {
        &self.cuts
    }
    /// Smallest finite reference value (or -inf when unknown).
    pub fn lower(&self) -> f64 {
        self.lower
    }
    /// Largest finite reference value (or +inf when unknown).
    pub fn upper(&self) -> f64 {
        self.upper
    }
    /// Number of bins, `cuts + 1`.
    pub fn n_bins(&self) -> usize {
        self.cuts.len() + 1
    }
    /// The prepared search used by the kernels.
    pub fn search(&self) -> &Search {
        &self.search
    }

    /// A representative position per bin, for Wasserstein distance: the midpoint of each inner bin; the
    /// open outer bins sit at the midpoint between the reference extreme and their cut (so an outer
    /// bin spans the reference's tail), or one neighbouring bin width beyond the cut when the range is
    /// unknown or degenerate. A single bin sits at the middle of the reference range (0 when unknown).
    pub fn positions(&self) -> Vec<f64> {
        let c = &self.cuts;
        let (Some(&first), Some(&last)) = (c.first(), c.last()) else {
            let mid = 0.5 * (self.lower + self.upper);
            return vec![if mid.is_finite() { mid } else { 0.0 }];
        };
        let inner: Vec<f64> = c.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let width = c.windows(2).map(|w| w[1] - w[0]).next().unwrap_or(1.0);
        let last_width = c.windows(2).map(|w| w[1] - w[0]).next_back().unwrap_or(width);
        let left = if self.lower.is_finite() && self.lower < first {
            0.5 * (self.lower + first)
        } else {
            first - 0.5 * width
        };
        let right = if self.upper.is_finite() && self.upper > last {
            0.5 * (last + self.upper)
        } else {
            last + 0.5 * last_width
        };
        let mut out = Vec::with_capacity(c.len() + 1);
        out.push(left);
        out.extend(inner);
        out.push(right);
        out
    }
}

fn check_bins(bins: usize) -> Result<()> {
    if bins == 0 || bins > 65_536 {
        return Err(EngineError::invalid(format!(
            "bins must be between 1 and 65536, got {bins}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: &[f64], bins: usize) -> Vec<f64> {
        BinEdges::quantile(ArrayView1::from(v), bins)
            .map(|e| e.cuts().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn sketch_edges_leave_no_bin_empty() {
        let mut s = KllSketch::new(200).unwrap();
        let v: Vec<f64> = (0..5000).map(|i| f64::from(i % 7)).collect();
        s.update(ArrayView1::from(&v[..]));
        let e = BinEdges::from_sketch(&s, 10).unwrap();
        assert_eq!(e.cuts(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!((e.lower(), e.upper()), (0.0, 6.0));
        assert!(BinEdges::from_sketch(&KllSketch::new(200).unwrap(), 10).is_err());
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // np.quantile([1..=10], [0.25, 0.5, 0.75]) == [3.25, 5.5, 7.75]
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(q(&v, 4), vec![3.25, 5.5, 7.75]);
    }

    #[test]
    fn all_equal_reference_gives_one_bin() {
        assert_eq!(q(&[3.0; 50], 10), Vec::<f64>::new());
    }

    #[test]
    fn ties_merge_into_non_empty_bins() {
        let mut v = vec![0.0; 4];
        v.extend([10.0; 4]);
        let cuts = q(&v, 10);
        assert_eq!(cuts, vec![5.0]);
    }

    #[test]
    fn nan_only_reference_is_an_error() {
        let e = BinEdges::quantile(ArrayView1::from(&[f64::NAN, f64::NAN][..]), 10);
        assert!(matches!(e, Err(EngineError::Invalid(m)) if m.contains("no finite")));
        let empty: [f64; 0] = [];
        assert!(BinEdges::quantile(ArrayView1::from(&empty[..]), 10).is_err());
    }

    #[test]
    fn explicit_edges_are_validated() {
        assert!(BinEdges::explicit(vec![1.0, 1.0], f64::NEG_INFINITY, f64::INFINITY).is_err());
        assert!(BinEdges::explicit(vec![f64::NAN], f64::NEG_INFINITY, f64::INFINITY).is_err());
        assert!(BinEdges::explicit(vec![1.0, 2.0], 3.0, 0.0).is_err());
    }

    #[test]
    fn uniform_spans_the_range() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        let e = BinEdges::uniform(ArrayView1::from(&v[..]), 4).unwrap_or_else(|_| unreachable!());
        assert_eq!(e.cuts(), &[25.0, 50.0, 75.0]);
        assert_eq!(e.positions(), vec![12.5, 37.5, 62.5, 87.5]);
    }
}
