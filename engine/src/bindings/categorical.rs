//! `CategoryCounts` for Python: the class, its constructors from each input kind, and its accessors.
//! Reading the inputs lives in `values` (Python values and codes) and `arrow_chunks` (Arrow buffers).

use super::arrow_chunks::count_arrow;
use super::errors::input_error;
use super::object_cache::ObjectCache;
use super::values::{classify, count_coded, count_values, key_of, Counted, Value};
use crate::categorical::CategoryCounts;
use crate::codec;
use crate::sketch::Key;
use hashbrown::HashMap;
use numpy::{PyArray1, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::sync::{Mutex, MutexGuard};

fn key_to_py<'py>(py: Python<'py>, k: &Key) -> PyResult<Bound<'py, PyAny>> {
    Ok(match k {
        Key::Str(s) => PyString::new(py, s).into_any(),
        Key::Int(i) => i.into_pyobject(py)?.into_any(),
    })
}

/// Exact counts of one categorical feature; updates lock the counts.
#[pyclass(name = "CategoryCounts", module = "mlmon._engine", frozen)]
pub struct PyCategoryCounts {
    pub inner: Mutex<CategoryCounts>,
    /// Python objects already resolved to this feature's slots (see `object_cache`).
    pub(super) cache: Mutex<ObjectCache>,
}

impl PyCategoryCounts {
    pub fn wrap(c: CategoryCounts) -> Self {
        Self {
            inner: Mutex::new(c),
            cache: Mutex::new(ObjectCache::default()),
        }
    }
    pub fn lock(&self) -> MutexGuard<'_, CategoryCounts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn absorb(&self, counted: Counted) {
        let refs = counted.values.iter().map(|(k, n)| (k.as_key_ref(), *n));
        self.lock().add_value_counts(refs, counted.missing);
    }
}

#[pymethods]
impl PyCategoryCounts {
    #[staticmethod]
    #[pyo3(signature = (values, max_categories = 10000, top_k = 20))]
    fn fit(py: Python<'_>, values: &Bound<'_, PyAny>, max_categories: usize, top_k: usize) -> PyResult<Self> {
        let c = count_values(py, values, "reference")?;
        Ok(Self::wrap(CategoryCounts::fit(
            c.values,
            c.missing,
            max_categories,
            top_k,
        )?))
    }

    #[staticmethod]
    #[pyo3(signature = (codes, categories, max_categories = 10000, top_k = 20))]
    fn fit_codes(
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        categories: &Bound<'_, PyAny>,
        max_categories: usize,
        top_k: usize,
    ) -> PyResult<Self> {
        let c = count_coded(py, codes, categories)?;
        Ok(Self::wrap(CategoryCounts::fit(
            merge_dups(c.values),
            c.missing,
            max_categories,
            top_k,
        )?))
    }

    #[staticmethod]
    #[pyo3(signature = (chunks, max_categories = 10000, top_k = 20))]
    fn fit_arrow(py: Python<'_>, chunks: &Bound<'_, PyAny>, max_categories: usize, top_k: usize) -> PyResult<Self> {
        let c = count_arrow(py, chunks)?;
        Ok(Self::wrap(CategoryCounts::fit(
            c.values,
            c.missing,
            max_categories,
            top_k,
        )?))
    }

    #[staticmethod]
    #[pyo3(signature = (values, counts, missing = 0, max_categories = 10000, top_k = 20))]
    fn fit_counts(
        values: &Bound<'_, PyAny>,
        counts: Vec<u64>,
        missing: u64,
        max_categories: usize,
        top_k: usize,
    ) -> PyResult<Self> {
        let values: Vec<Bound<'_, PyAny>> = values.try_iter()?.collect::<PyResult<_>>()?;
        if values.len() != counts.len() {
            return Err(input_error(format!(
                "fit_counts: {} values but {} counts",
                values.len(),
                counts.len()
            )));
        }
        let mut keyed = Vec::with_capacity(values.len());
        let mut missing = missing;
        for (v, n) in values.iter().zip(counts) {
            match classify(v, "values")? {
                Value::Missing => missing += n,
                Value::Key(k) => keyed.push((k.to_key(), n)),
                b @ Value::Bool(_) => {
                    if let Some(k) = key_of(&b) {
                        keyed.push((k.to_key(), n));
                    }
                }
            }
        }
        Ok(Self::wrap(CategoryCounts::fit(
            merge_dups(keyed),
            missing,
            max_categories,
            top_k,
        )?))
    }

    fn update_arrow(&self, py: Python<'_>, chunks: &Bound<'_, PyAny>) -> PyResult<()> {
        let counted = count_arrow(py, chunks)?;
        self.absorb(counted);
        Ok(())
    }

    fn update(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<()> {
        let counted = count_values(py, values, "values")?;
        self.absorb(counted);
        Ok(())
    }

    fn update_codes(&self, py: Python<'_>, codes: &Bound<'_, PyAny>, categories: &Bound<'_, PyAny>) -> PyResult<()> {
        let counted = count_coded(py, codes, categories)?;
        self.absorb(counted);
        Ok(())
    }

    fn merge(&self, other: &Self) -> PyResult<()> {
        let theirs = other.lock().clone();
        Ok(self.lock().merge(&theirs)?)
    }
    fn empty_like(&self) -> Self {
        Self::wrap(self.lock().empty_like())
    }
    fn copy(&self) -> Self {
        Self::wrap(self.lock().clone())
    }
    fn reset(&self) {
        self.lock().reset();
    }

    #[getter]
    fn categories<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.lock().categories().iter().map(|k| key_to_py(py, k)).collect()
    }
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        self.lock().category_counts().to_pyarray(py)
    }
    #[getter]
    fn distribution<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        self.lock().distribution().to_pyarray(py)
    }
    #[getter]
    fn other(&self) -> u64 {
        self.lock().other()
    }
    #[getter]
    fn unseen(&self) -> u64 {
        self.lock().unseen()
    }
    #[getter]
    fn missing(&self) -> u64 {
        self.lock().missing()
    }
    #[getter]
    fn total(&self) -> u64 {
        self.lock().total()
    }
    #[getter]
    fn cardinality(&self) -> u64 {
        self.lock().cardinality()
    }
    #[getter]
    fn folded(&self) -> bool {
        self.lock().folded().is_some()
    }

    #[pyo3(signature = (k = None))]
    fn top_unseen<'py>(&self, py: Python<'py>, k: Option<usize>) -> PyResult<Vec<(Bound<'py, PyAny>, u64)>> {
        let entries = self.lock().top_unseen().sorted();
        let k = k.unwrap_or(entries.len());
        entries
            .iter()
            .take(k)
            .map(|(key, n, _)| Ok((key_to_py(py, key)?, *n)))
            .collect()
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &codec::encode_categorical(&self.lock()))
    }
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self::wrap(codec::decode_categorical(data)?))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<Self>().getattr("from_bytes")?, (self.to_bytes(py),)))
    }
    fn __eq__(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || *self.lock() == *other.lock()
    }
    fn __repr__(&self) -> String {
        let c = self.lock();
        format!(
            "CategoryCounts(categories={}, total={}, unseen={})",
            c.categories().len(),
            c.total(),
            c.unseen()
        )
    }
}

fn merge_dups(values: Vec<(Key, u64)>) -> Vec<(Key, u64)> {
    let mut map: HashMap<Key, u64> = HashMap::new();
    for (k, n) in values {
        *map.entry(k).or_insert(0) += n;
    }
    map.into_iter().collect()
}
