//! `BinEdges` and `NumericHistogram` for Python, and `update_2d`.

use super::arrays::{f64_vec, numeric1, numeric2, with_view, with_view1, Numeric1, Numeric2};
use super::detach::run_detached;
use super::errors::{dtype_error, input_error};
use crate::binning::BinEdges;
use crate::codec;
use crate::fitting::{self, Reference};
use crate::histogram::{self, NumericHistogram};
use crate::kernel::Validity;
use numpy::{PyArray1, PyReadonlyArray1, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::{Mutex, MutexGuard};

/// What `BinEdges.__reduce__` returns: `(BinEdges.explicit, (cuts, lower, upper))`.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyArray1<f64>>, f64, f64));

/// Bin edges of one numerical feature (immutable).
#[pyclass(name = "BinEdges", module = "mlmon._engine", frozen)]
#[derive(Clone)]
pub struct PyBinEdges {
    pub inner: BinEdges,
}

#[pymethods]
impl PyBinEdges {
    #[staticmethod]
    #[pyo3(signature = (reference, bins = 10, validity = None, validity_offset = 0))]
    fn quantile(
        py: Python<'_>,
        reference: &Bound<'_, PyAny>,
        bins: usize,
        validity: Option<PyReadonlyArray1<'_, u8>>,
        validity_offset: usize,
    ) -> PyResult<Self> {
        let arr = numeric1(reference, "reference")?;
        let bits = bitmap(validity.as_ref())?;
        let valid = bits.map(|bits| Validity {
            bits,
            offset: validity_offset,
        });
        let inner = with_view1!(arr, |v| run_detached(py, v.len(), || BinEdges::quantile_masked(
            v, valid, bins
        ))?);
        Ok(Self { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (reference, bins = 10))]
    fn uniform(py: Python<'_>, reference: &Bound<'_, PyAny>, bins: usize) -> PyResult<Self> {
        let arr = numeric1(reference, "reference")?;
        let inner = with_view1!(arr, |v| run_detached(py, v.len(), || BinEdges::uniform(v, bins))?);
        Ok(Self { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (cuts, lower = f64::NEG_INFINITY, upper = f64::INFINITY))]
    fn explicit(cuts: &Bound<'_, PyAny>, lower: f64, upper: f64) -> PyResult<Self> {
        Ok(Self {
            inner: BinEdges::explicit(f64_vec(cuts, "cuts")?, lower, upper)?,
        })
    }

    #[getter]
    fn cuts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.cuts().to_pyarray(py)
    }
    #[getter]
    fn lower(&self) -> f64 {
        self.inner.lower()
    }
    #[getter]
    fn upper(&self) -> f64 {
        self.inner.upper()
    }
    #[getter]
    fn n_bins(&self) -> usize {
        self.inner.n_bins()
    }
    fn positions<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.positions().to_pyarray(py)
    }
    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
    fn __repr__(&self) -> String {
        format!(
            "BinEdges(cuts={:?}, lower={}, upper={})",
            self.inner.cuts(),
            self.inner.lower(),
            self.inner.upper()
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let ctor = py.get_type::<Self>().getattr("explicit")?;
        Ok((ctor, (self.cuts(py), self.inner.lower(), self.inner.upper())))
    }
}

/// Exact counts of one numerical feature; updates release the GIL and lock the counts.
#[pyclass(name = "NumericHistogram", module = "mlmon._engine", frozen)]
pub struct PyNumericHistogram {
    pub inner: Mutex<NumericHistogram>,
}

impl PyNumericHistogram {
    pub fn wrap(h: NumericHistogram) -> Self {
        Self { inner: Mutex::new(h) }
    }
    /// The counts, recovering from a poisoned lock (a panic is caught and reported at the boundary;
    /// counts are only written after a kernel finishes, so they are never half-updated).
    pub fn lock(&self) -> MutexGuard<'_, NumericHistogram> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyNumericHistogram {
    #[new]
    fn new(edges: &PyBinEdges) -> Self {
        Self::wrap(NumericHistogram::new(edges.inner.clone()))
    }

    /// Counts a 1-D array of float64, float32 or integers (any strides) without copying it; with a
    /// validity bitmap (floats only), values whose bit is clear count as missing.
    #[pyo3(signature = (values, validity = None, validity_offset = 0))]
    fn update(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        validity: Option<PyReadonlyArray1<'_, u8>>,
        validity_offset: usize,
    ) -> PyResult<()> {
        let arr: Numeric1<'_> = numeric1(values, "values")?;
        let bits = bitmap(validity.as_ref())?;
        with_view1!(arr, |v| run_detached(py, v.len(), || match bits {
            Some(bits) => self.lock().update_masked(
                v,
                Validity {
                    bits,
                    offset: validity_offset
                }
            ),
            None => {
                self.lock().update(v);
                Ok(())
            }
        }))
    }

    fn merge(&self, other: &Self) -> PyResult<()> {
        if std::ptr::eq(self, other) {
            let copy = self.lock().clone();
            return Ok(self.lock().merge(&copy)?);
        }
        let theirs = other.lock().clone();
        Ok(self.lock().merge(&theirs)?)
    }

    fn copy(&self) -> Self {
        Self::wrap(self.lock().clone())
    }
    fn reset(&self) {
        self.lock().reset();
    }

    #[getter]
    fn edges(&self) -> PyBinEdges {
        PyBinEdges {
            inner: self.lock().edges().clone(),
        }
    }
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        self.lock().counts().to_pyarray(py)
    }
    #[getter]
    fn missing(&self) -> u64 {
        self.lock().missing()
    }
    #[getter]
    fn out_of_range(&self) -> u64 {
        self.lock().out_of_range()
    }
    #[getter]
    fn total(&self) -> u64 {
        self.lock().total()
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &codec::encode_numeric(&self.lock()))
    }
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self::wrap(codec::decode_numeric(data)?))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<Self>().getattr("from_bytes")?, (self.to_bytes(py),)))
    }
    fn __eq__(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || *self.lock() == *other.lock()
    }
    fn __repr__(&self) -> String {
        let h = self.lock();
        format!(
            "NumericHistogram(n_bins={}, total={}, missing={})",
            h.edges().n_bins(),
            h.total(),
            h.missing()
        )
    }
}

fn bitmap<'a>(validity: Option<&'a PyReadonlyArray1<'_, u8>>) -> PyResult<Option<&'a [u8]>> {
    validity
        .map(|v| {
            v.as_slice()
                .map_err(|_| dtype_error("validity bitmap must be a contiguous uint8 array"))
        })
        .transpose()
}

/// Updates one histogram per column of a 2-D array in one call, across `threads` workers.
#[pyfunction]
#[pyo3(signature = (histograms, values, threads = None))]
pub fn update_2d(
    py: Python<'_>,
    histograms: Vec<Bound<'_, PyNumericHistogram>>,
    values: &Bound<'_, PyAny>,
    threads: Option<usize>,
) -> PyResult<()> {
    let arr: Numeric2<'_> = numeric2(values, "values")?;
    let mut refs: Vec<&PyNumericHistogram> = histograms.iter().map(|h| h.get()).collect();
    // Lock in address order so that concurrent calls over overlapping histograms cannot deadlock.
    let mut order: Vec<usize> = (0..refs.len()).collect();
    order.sort_by_key(|&i| refs.get(i).map_or(0, |r| *r as *const _ as usize));
    if order.windows(2).any(|w| std::ptr::eq(refs[w[0]], refs[w[1]])) {
        return Err(input_error("the same histogram appears twice in update_2d"));
    }
    let threads = threads.unwrap_or_else(crate::parallel::cores);
    let n = values.len().unwrap_or(0) * refs.len().max(1);
    let refs_slice = std::mem::take(&mut refs);
    with_view!(arr, Numeric2, |v| run_detached(py, n, || {
        let mut guards: Vec<Option<MutexGuard<'_, NumericHistogram>>> = refs_slice.iter().map(|_| None).collect();
        for &i in &order {
            if let (Some(slot), Some(h)) = (guards.get_mut(i), refs_slice.get(i)) {
                *slot = Some(h.lock());
            }
        }
        let mut hs: Vec<&mut NumericHistogram> = guards.iter_mut().flatten().map(|g| &mut **g).collect();
        histogram::update_2d(&mut hs, v, threads)
    }))
}

/// One reference column for `fit_numeric`: the values, and a validity bitmap with its first bit.
type RefColumn<'py> = (Bound<'py, PyAny>, Option<PyReadonlyArray1<'py, u8>>, usize);

/// Fits the reference histogram of every column in one call (quantile edges, then the reference
/// counted), the GIL released once and the columns spread over `threads` workers; each histogram
/// is the one `NumericHistogram(BinEdges.quantile(x, bins)).update(x)` gives. The first column that
/// cannot be fitted raises its error (the caller names the feature).
#[pyfunction]
#[pyo3(signature = (columns, bins = 10, threads = None))]
pub fn fit_numeric(
    py: Python<'_>,
    columns: Vec<RefColumn<'_>>,
    bins: usize,
    threads: Option<usize>,
) -> PyResult<Vec<PyNumericHistogram>> {
    let arrays: Vec<Numeric1<'_>> = columns
        .iter()
        .map(|(values, _, _)| numeric1(values, "values"))
        .collect::<PyResult<_>>()?;
    let bitmaps: Vec<Option<&[u8]>> = columns
        .iter()
        .map(|(_, validity, _)| bitmap(validity.as_ref()))
        .collect::<PyResult<_>>()?;
    let refs: Vec<Reference<'_>> = arrays
        .iter()
        .zip(&bitmaps)
        .zip(&columns)
        .map(|((arr, bits), (_, _, offset))| Reference {
            numbers: arr.numbers(),
            valid: bits.map(|bits| Validity { bits, offset: *offset }),
        })
        .collect();
    let threads = threads.unwrap_or_else(crate::parallel::cores);
    let n = refs.iter().map(|r| r.numbers.len()).sum();
    let fitted = run_detached(py, n, || {
        fitting::fit_histograms(&refs, bins, threads)
            .into_iter()
            .collect::<crate::error::Result<Vec<_>>>()
    })?;
    Ok(fitted.into_iter().map(PyNumericHistogram::wrap).collect())
}
