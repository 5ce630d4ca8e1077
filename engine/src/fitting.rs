//! Fitting the reference histograms of many numerical columns in one call: quantile edges, then the
//! reference counted on them (by the quantile pass itself for large float columns), one column per
//! task on the engine's pool.
//!
//! `Baseline.fit` used to make two engine calls per column from Python threads; with one call for the
//! whole frame the GIL is released once and rayon's work stealing keeps both cores busy however
//! uneven the columns are. Each column is fitted exactly as alone (same edges, same counts), so the
//! result never depends on the number of threads. Pure Rust: the bindings build the views.

use crate::binning::BinEdges;
use crate::column::Numbers;
use crate::error::Result;
use crate::histogram::NumericHistogram;
use crate::kernel::{Element, Validity};
use ndarray::ArrayView1;
use rayon::prelude::*;

/// Below this many values in all the columns together the calling thread fits them alone: handing
/// columns to the pool costs a few microseconds each, which a small frame does not repay. The same
/// order as `update_2d`'s threshold; not tuned separately (`Baseline.fit` only calls this above
/// `mlmon._parallel.PARALLEL_MIN_VALUES`, 1M values, where the pool always pays).
pub const PARALLEL_MIN_VALUES: usize = 1 << 17;

/// One numerical reference column: its values and, for nullable float columns, the validity bitmap.
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a> {
    /// The values, any kernel dtype, contiguous or strided.
    pub numbers: Numbers<'a>,
    /// Nulls (bit clear) for float columns whose missing values live in a bitmap.
    pub valid: Option<Validity<'a>>,
}

/// The reference histogram of each column (`bins` quantile bins, ties merged, the reference counted),
/// in input order; a column that cannot be fitted gives its own error and does not stop the others.
pub fn fit_histograms(columns: &[Reference<'_>], bins: usize, threads: usize) -> Vec<Result<NumericHistogram>> {
    let values: usize = columns.iter().map(|c| c.numbers.len()).sum();
    let workers = threads.min(columns.len());
    let pool = if workers > 1 && values >= PARALLEL_MIN_VALUES && !crate::parallel::forked() {
        crate::parallel::pool(threads)
    } else {
        None
    };
    match pool {
        Some(pool) => pool.install(|| columns.par_iter().with_max_len(1).map(|c| fit_one(c, bins)).collect()),
        None => columns.iter().map(|c| fit_one(c, bins)).collect(),
    }
}

/// One column's histogram, through the same calls as fitting it alone.
pub fn fit_one(column: &Reference<'_>, bins: usize) -> Result<NumericHistogram> {
    match column.numbers {
        Numbers::F64(v) => fit_view(v, column.valid, bins),
        Numbers::F32(v) => fit_view(v, column.valid, bins),
        Numbers::I64(v) => fit_view(v, column.valid, bins),
        Numbers::I32(v) => fit_view(v, column.valid, bins),
        Numbers::I16(v) => fit_view(v, column.valid, bins),
        Numbers::I8(v) => fit_view(v, column.valid, bins),
        Numbers::U8(v) => fit_view(v, column.valid, bins),
        Numbers::U16(v) => fit_view(v, column.valid, bins),
        Numbers::U32(v) => fit_view(v, column.valid, bins),
    }
}

fn fit_view<T: Element>(v: ArrayView1<'_, T>, valid: Option<Validity<'_>>, bins: usize) -> Result<NumericHistogram> {
    let (edges, counted) = BinEdges::quantile_counted(v, valid, bins)?;
    if let Some(c) = counted {
        // The quantile pass already counted the reference: no second pass over it.
        return NumericHistogram::from_parts(edges, c.counts, c.missing, c.out_of_range);
    }
    let mut hist = NumericHistogram::new(edges);
    match valid {
        Some(valid) => hist.update_masked(v, valid)?,
        None => hist.update(v),
    }
    Ok(hist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_equals_one_column_at_a_time_on_any_thread_count() {
        let a: Vec<f64> = (0..300_000_i64).map(|i| ((i * 7919) % 10_007) as f64 * 0.5).collect();
        let b: Vec<i32> = (0..200_000).map(|i| (i % 13) - 6).collect();
        let empty: Vec<f64> = vec![f64::NAN; 10];
        let cols = [
            Reference {
                numbers: Numbers::F64(ArrayView1::from(&a[..])),
                valid: None,
            },
            Reference {
                numbers: Numbers::I32(ArrayView1::from(&b[..])),
                valid: None,
            },
            Reference {
                numbers: Numbers::F64(ArrayView1::from(&empty[..])),
                valid: None,
            },
        ];
        let one: Vec<Result<NumericHistogram>> = cols.iter().map(|c| fit_one(c, 10)).collect();
        for threads in [1, 2, 3] {
            assert_eq!(fit_histograms(&cols, 10, threads), one);
        }
        assert!(one.get(2).is_some_and(|r| r.is_err()));
    }
}
