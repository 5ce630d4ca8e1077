//! `QuantileSketch` for Python: the KLL sketch behind edges fitted in one streaming pass or per
//! partition.

use super::arrays::{numeric1, with_view1, Numeric1};
use super::detach::run_detached;
use super::errors::dtype_error;
use super::histogram::PyBinEdges;
use crate::binning::BinEdges;
use crate::codec;
use crate::kernel::Validity;
use crate::kll::{self, KllSketch};
use numpy::{PyArray1, PyReadonlyArray1, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::{Mutex, MutexGuard};

/// A mergeable quantile sketch of one numerical feature; updates release the GIL and lock it.
#[pyclass(name = "QuantileSketch", module = "mlmon._engine", frozen)]
pub struct PyQuantileSketch {
    inner: Mutex<KllSketch>,
}

impl PyQuantileSketch {
    fn wrap(s: KllSketch) -> Self {
        Self { inner: Mutex::new(s) }
    }
    fn lock(&self) -> MutexGuard<'_, KllSketch> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyQuantileSketch {
    #[new]
    #[pyo3(signature = (k = 200))]
    fn new(k: usize) -> PyResult<Self> {
        Ok(Self::wrap(KllSketch::new(k)?))
    }

    #[pyo3(signature = (values, validity = None, validity_offset = 0))]
    fn update(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        validity: Option<PyReadonlyArray1<'_, u8>>,
        validity_offset: usize,
    ) -> PyResult<()> {
        let arr: Numeric1<'_> = numeric1(values, "values")?;
        let bits = validity
            .as_ref()
            .map(|v| {
                v.as_slice()
                    .map_err(|_| dtype_error("validity bitmap must be a contiguous uint8 array"))
            })
            .transpose()?;
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
        let theirs = other.lock().clone();
        Ok(self.lock().merge(&theirs)?)
    }

    fn quantiles<'py>(&self, py: Python<'py>, probs: Vec<f64>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(self.lock().quantiles(&probs)?.to_pyarray(py))
    }

    #[pyo3(signature = (x, inclusive = true))]
    fn rank(&self, x: f64, inclusive: bool) -> f64 {
        self.lock().rank(x, inclusive)
    }

    #[pyo3(signature = (bins = 10))]
    fn edges(&self, bins: usize) -> PyResult<PyBinEdges> {
        Ok(PyBinEdges {
            inner: BinEdges::from_sketch(&self.lock(), bins)?,
        })
    }

    #[getter]
    fn k(&self) -> usize {
        self.lock().k()
    }
    #[getter]
    fn n(&self) -> u64 {
        self.lock().n()
    }
    #[getter]
    fn min(&self) -> f64 {
        self.lock().min()
    }
    #[getter]
    fn max(&self) -> f64 {
        self.lock().max()
    }
    #[getter]
    fn retained(&self) -> usize {
        self.lock().retained()
    }
    #[getter]
    fn epsilon(&self) -> f64 {
        kll::epsilon(self.lock().k())
    }
    #[staticmethod]
    fn epsilon_for(k: usize) -> f64 {
        kll::epsilon(k)
    }

    fn copy(&self) -> Self {
        Self::wrap(self.lock().clone())
    }
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &codec::encode_sketch(&self.lock()))
    }
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self::wrap(codec::decode_sketch(data)?))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<Self>().getattr("from_bytes")?, (self.to_bytes(py),)))
    }
    fn __eq__(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || *self.lock() == *other.lock()
    }
    fn __repr__(&self) -> String {
        let s = self.lock();
        format!("QuantileSketch(k={}, n={}, retained={})", s.k(), s.n(), s.retained())
    }
}
