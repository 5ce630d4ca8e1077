//! `NumericHistogram`: exact u64 counts per bin, plus missing (NaN) and out-of-range, aligned to one
//! feature's [`BinEdges`]. Merging is addition, so partial histograms from any number of workers,
//! replicas or partitions add up to the same answer as one pass.

use crate::binning::BinEdges;
use crate::error::{EngineError, Result};
use crate::kernel::{self, Element, Kind, Tally, Validity};
use ndarray::{ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// Counts of one numerical feature against fixed edges.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericHistogram {
    edges: BinEdges,
    counts: Vec<u64>,
    missing: u64,
    out_of_range: u64,
}

impl NumericHistogram {
    /// An empty histogram on `edges`.
    pub fn new(edges: BinEdges) -> Self {
        let counts = vec![0; edges.n_bins()];
        Self {
            edges,
            counts,
            missing: 0,
            out_of_range: 0,
        }
    }

    /// Rebuilds a histogram from its parts (the codec's constructor); lengths must agree.
    pub fn from_parts(edges: BinEdges, counts: Vec<u64>, missing: u64, out_of_range: u64) -> Result<Self> {
        if counts.len() != edges.n_bins() {
            return Err(EngineError::invalid(format!(
                "expected {} bin counts, got {}",
                edges.n_bins(),
                counts.len()
            )));
        }
        let h = Self {
            edges,
            counts,
            missing,
            out_of_range,
        };
        if h.checked_total().is_none() {
            return Err(EngineError::invalid("counts overflow u64"));
        }
        Ok(h)
    }

    /// Counts every value of a 1-D view (contiguous or strided) without copying it.
    pub fn update<T: Element>(&mut self, values: ArrayView1<'_, T>) {
        let mut tally = Tally::new(self.edges.search());
        kernel::count(self.edges.search(), values, &mut tally);
        self.absorb(&tally);
    }

    /// Counts a float array whose nulls are marked in `valid` (they count as missing); integer arrays
    /// with nulls must be converted to float first.
    pub fn update_masked<T: Element>(&mut self, values: ArrayView1<'_, T>, valid: Validity<'_>) -> Result<()> {
        if T::KIND != Kind::Float {
            return Err(EngineError::dtype(
                "a validity mask needs float values (convert integers with nulls to float64)",
            ));
        }
        valid.check(values.len())?;
        let mut tally = Tally::new(self.edges.search());
        kernel::count_masked(self.edges.search(), values, valid, &mut tally);
        self.absorb(&tally);
        Ok(())
    }

    fn absorb(&mut self, tally: &Tally) {
        let (missing, oor) = tally.finish_into(&mut self.counts);
        self.missing = self.missing.saturating_add(missing);
        self.out_of_range = self.out_of_range.saturating_add(oor);
    }

    /// Whether `other` can be merged into `self` (the same edges); changes nothing.
    pub fn check_mergeable(&self, other: &Self) -> Result<()> {
        if self.edges != other.edges {
            return Err(EngineError::mismatch(format!(
                "cannot merge histograms built on different bin edges ({} vs {} bins)",
                self.edges.n_bins(),
                other.edges.n_bins()
            )));
        }
        Ok(())
    }

    /// Adds `other`'s counts; both must share bitwise-identical edges.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        self.check_mergeable(other)?;
        for (c, n) in self.counts.iter_mut().zip(&other.counts) {
            *c = c.saturating_add(*n);
        }
        self.missing = self.missing.saturating_add(other.missing);
        self.out_of_range = self.out_of_range.saturating_add(other.out_of_range);
        Ok(())
    }

    /// Adds counts read elsewhere (bins in order, then missing and out-of-range), saturating like
    /// [`Self::merge`]; for the byte-level merge, which has matched the edges already.
    pub(crate) fn add_raw(&mut self, bins: impl IntoIterator<Item = u64>, missing: u64, out_of_range: u64) {
        for (c, n) in self.counts.iter_mut().zip(bins) {
            *c = c.saturating_add(n);
        }
        self.missing = self.missing.saturating_add(missing);
        self.out_of_range = self.out_of_range.saturating_add(out_of_range);
    }

    /// Zeroes every count, keeping the edges.
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.missing = 0;
        self.out_of_range = 0;
    }

    /// The edges the counts are aligned to.
    pub fn edges(&self) -> &BinEdges {
        &self.edges
    }
    /// Count per bin.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
    /// NaN values seen.
    pub fn missing(&self) -> u64 {
        self.missing
    }
    /// Values outside the reference range `[lower, upper]` (also counted in their outer bin).
    pub fn out_of_range(&self) -> u64 {
        self.out_of_range
    }
    /// All values seen, missing included.
    pub fn total(&self) -> u64 {
        self.checked_total().unwrap_or(u64::MAX)
    }

    fn checked_total(&self) -> Option<u64> {
        self.counts.iter().try_fold(self.missing, |acc, &c| acc.checked_add(c))
    }
}

/// Work below which `update_2d` stays on the calling thread: splitting costs more than it saves.
const PARALLEL_MIN_VALUES: usize = 1 << 18;

/// Updates one histogram per column of a rows x features view (C or F order, or strided) in one call.
///
/// Large inputs are split by rows across up to `threads` rayon workers, each counting into its own
/// tallies, which are then added: exact, so the result is identical to one thread.
pub fn update_2d<T: Element>(
    hists: &mut [&mut NumericHistogram],
    values: ArrayView2<'_, T>,
    threads: usize,
) -> Result<()> {
    let (rows, cols) = values.dim();
    if cols != hists.len() {
        return Err(EngineError::invalid(format!(
            "array has {cols} columns but {} histograms were given",
            hists.len()
        )));
    }
    let workers = if rows * cols < PARALLEL_MIN_VALUES || crate::parallel::forked() {
        1
    } else {
        threads.max(1)
    };
    let chunk = rows.div_ceil(workers).max(1);
    let count_rows = |part: ArrayView2<'_, T>| -> Vec<Tally> {
        let mut tallies: Vec<Tally> = hists.iter().map(|h| Tally::new(h.edges.search())).collect();
        let columns_contiguous = part.nrows() <= 1 || part.strides().first() == Some(&1);
        if columns_contiguous {
            for ((h, t), col) in hists.iter().zip(&mut tallies).zip(part.axis_iter(Axis(1))) {
                kernel::count(h.edges.search(), col, t);
            }
        } else {
            count_row_major(hists, part, &mut tallies);
        }
        tallies
    };
    let pool = if workers > 1 {
        crate::parallel::pool(workers)
    } else {
        None
    };
    let partials: Vec<Vec<Tally>> = match pool {
        Some(pool) => {
            let parts: Vec<ArrayView2<'_, T>> = values.axis_chunks_iter(Axis(0), chunk).collect();
            pool.install(|| parts.into_par_iter().map(count_rows).collect())
        }
        None => vec![count_rows(values)],
    };
    for part in &partials {
        for (h, t) in hists.iter_mut().zip(part) {
            h.absorb(t);
        }
    }
    Ok(())
}

/// Row-major input: each block of rows is read once, in order, and transposed into per-column
/// scratch (widened exactly), so the kernels see contiguous columns instead of striding through
/// memory once per column.
fn count_row_major<T: Element>(hists: &[&mut NumericHistogram], part: ArrayView2<'_, T>, tallies: &mut [Tally]) {
    match T::KIND {
        Kind::Float => transpose_count(hists, part, tallies, |x: T| x.to_f64()),
        Kind::Int => transpose_count(hists, part, tallies, |x: T| x.to_i64()),
    }
}

fn transpose_count<T: Element, W: Element + Default>(
    hists: &[&mut NumericHistogram],
    part: ArrayView2<'_, T>,
    tallies: &mut [Tally],
    widen: impl Fn(T) -> W,
) {
    let cols = part.ncols();
    if cols == 0 {
        return;
    }
    let mut scratch = vec![W::default(); cols * kernel::BLOCK];
    for rows in part.axis_chunks_iter(Axis(0), kernel::BLOCK) {
        let n = rows.nrows();
        for (j, dst) in scratch.chunks_exact_mut(kernel::BLOCK).enumerate() {
            match rows.as_slice() {
                // C-contiguous block: a strided walk over one flat slice, no per-element index maths.
                Some(flat) => dst
                    .iter_mut()
                    .zip(flat.iter().skip(j).step_by(cols))
                    .for_each(|(d, &x)| *d = widen(x)),
                None => dst.iter_mut().zip(rows.column(j)).for_each(|(d, &x)| *d = widen(x)),
            }
        }
        for (j, (h, t)) in hists.iter().zip(tallies.iter_mut()).enumerate() {
            let col = scratch.get(j * kernel::BLOCK..j * kernel::BLOCK + n).unwrap_or(&[]);
            kernel::count(h.edges.search(), ArrayView1::from(col), t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn edges() -> BinEdges {
        BinEdges::explicit(vec![0.0, 1.0], -1.0, 2.0).unwrap()
    }

    #[test]
    fn empty_batch_changes_nothing() {
        let mut h = NumericHistogram::new(edges());
        let empty: [f64; 0] = [];
        h.update(ArrayView1::from(&empty[..]));
        assert_eq!(h.total(), 0);
    }

    #[test]
    fn all_nan_batch_is_all_missing() {
        let mut h = NumericHistogram::new(edges());
        h.update(ArrayView1::from(&[f64::NAN; 7][..]));
        assert_eq!((h.missing(), h.counts().iter().sum::<u64>()), (7, 0));
    }

    #[test]
    fn merge_of_halves_equals_whole() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i) / 300.0 - 1.5).collect();
        let mut whole = NumericHistogram::new(edges());
        whole.update(ArrayView1::from(&v[..]));
        let mut a = NumericHistogram::new(edges());
        let mut b = NumericHistogram::new(edges());
        a.update(ArrayView1::from(&v[..500]));
        b.update(ArrayView1::from(&v[500..]));
        a.merge(&b).unwrap();
        assert_eq!(a, whole);
    }

    #[test]
    fn masked_counts_equal_nan_filled_counts() {
        let n = 300_000;
        let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 100.0).collect();
        // Every 7th value is null; its slot holds garbage that must never be binned.
        let mut bits = vec![0u8; n / 8 + 2];
        let mut filled = v.clone();
        for i in 0..n {
            if i % 7 == 0 {
                filled[i] = f64::NAN;
            } else {
                bits[(i + 3) / 8] |= 1 << ((i + 3) % 8);
            }
        }
        let valid = Validity { bits: &bits, offset: 3 };
        let masked = BinEdges::quantile_masked(ArrayView1::from(&v[..]), Some(valid), 10).unwrap();
        let plain = BinEdges::quantile(ArrayView1::from(&filled[..]), 10).unwrap();
        assert_eq!(masked, plain);
        let mut a = NumericHistogram::new(plain.clone());
        a.update_masked(ArrayView1::from(&v[..]), valid).unwrap();
        let mut b = NumericHistogram::new(plain);
        b.update(ArrayView1::from(&filled[..]));
        assert_eq!(a, b);
        let short = Validity {
            bits: &bits[..2],
            offset: 0,
        };
        assert!(a.update_masked(ArrayView1::from(&v[..]), short).is_err());
        let ints = [1i64, 2];
        assert!(matches!(
            a.update_masked(ArrayView1::from(&ints[..]), valid),
            Err(EngineError::Dtype(_))
        ));
    }

    #[test]
    fn merge_refuses_other_edges() {
        let mut a = NumericHistogram::new(edges());
        let b = NumericHistogram::new(BinEdges::explicit(vec![0.5], -1.0, 2.0).unwrap());
        assert!(matches!(a.merge(&b), Err(EngineError::Mismatch(_))));
    }

    #[test]
    fn update_2d_matches_columns_in_both_orders() {
        let rows = 300_000;
        let c = Array2::from_shape_fn((rows, 3), |(i, j)| ((i * (j + 7)) % 1001) as f64 / 250.0 - 1.0);
        let f = c.t().as_standard_layout().into_owned().reversed_axes();
        for arr in [c.view(), f.view()] {
            let mut hs: Vec<NumericHistogram> = (0..3).map(|_| NumericHistogram::new(edges())).collect();
            let mut refs: Vec<&mut NumericHistogram> = hs.iter_mut().collect();
            update_2d(&mut refs, arr, 2).unwrap();
            for (j, h) in hs.iter().enumerate() {
                let mut one = NumericHistogram::new(edges());
                one.update(arr.column(j));
                assert_eq!(h, &one);
            }
        }
    }
}
