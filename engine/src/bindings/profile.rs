//! `Profile` for Python: every feature of a baseline, updated by a whole batch in one call.
//!
//! `update` borrows every column with the GIL held (numbers and codes as views, object strings
//! reduced to distinct values, since reading a `str` needs the GIL), then releases the GIL once for
//! all of them. Columns it cannot read exactly as the per-feature path would (lists, float16, object
//! arrays for numerical features, ...) are handed back by name for the caller's general path.

use super::arrow_chunks::{borrow_strings, hold_strings, HeldStrings};
use super::categorical::PyCategoryCounts;
use super::detach::run_detached;
use super::errors::{dtype_error, input_error};
use super::held::{column, hold, refuse_unreadable, Held};
use super::histogram::PyNumericHistogram;
use crate::categorical::CategoryCounts;
use crate::codec::Feature;
use crate::histogram::NumericHistogram;
use crate::profile::{self, Column, FeatureMut, Outcome, StrChunk};
use hashbrown::HashMap;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::sync::MutexGuard;

pub(super) enum Slot {
    Numeric(Py<PyNumericHistogram>),
    Categorical(Py<PyCategoryCounts>),
}

impl Slot {
    fn object<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Slot::Numeric(h) => h.bind(py).clone().into_any(),
            Slot::Categorical(c) => c.bind(py).clone().into_any(),
        }
    }
    fn address(&self) -> usize {
        match self {
            Slot::Numeric(h) => h.as_ptr() as usize,
            Slot::Categorical(c) => c.as_ptr() as usize,
        }
    }
    fn feature(&self) -> Feature {
        match self {
            Slot::Numeric(h) => Feature::Numeric(h.get().lock().clone()),
            Slot::Categorical(c) => Feature::Categorical(c.get().lock().clone()),
        }
    }
}

enum Guard<'a> {
    Numeric(MutexGuard<'a, NumericHistogram>),
    Categorical(MutexGuard<'a, CategoryCounts>),
}

pub(super) fn repr(py: Python<'_>, name: &str) -> String {
    PyString::new(py, name)
        .repr()
        .map_or_else(|_| format!("{name:?}"), |r| r.to_string())
}

/// The borrowed columns with their feature index, and the names of the columns left to the caller.
pub(super) type HeldColumns<'py> = (Vec<(usize, Held<'py>)>, Vec<String>);

/// What `update` returns: `(feature, values, missing)` per invalid column, and the names left over.
type Updated = (Vec<(String, u64, u64)>, Vec<String>);

/// The counts of every feature of a baseline.
#[pyclass(name = "Profile", module = "mlmon._engine", frozen)]
pub struct PyProfile {
    names: Vec<String>,
    slots: Vec<Slot>,
    index: HashMap<String, usize>,
}

impl PyProfile {
    fn build(names: Vec<String>, slots: Vec<Slot>) -> PyResult<Self> {
        let mut index = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if index.insert(name.clone(), i).is_some() {
                return Err(input_error(format!("duplicate feature {name:?}")));
            }
        }
        let mut addresses: Vec<usize> = slots.iter().map(Slot::address).collect();
        addresses.sort_unstable();
        if addresses.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(input_error("the same counts object appears twice in a profile"));
        }
        Ok(Self { names, slots, index })
    }

    fn from_features(py: Python<'_>, features: Vec<(String, Feature)>) -> PyResult<Self> {
        let mut names = Vec::with_capacity(features.len());
        let mut slots = Vec::with_capacity(features.len());
        for (name, f) in features {
            names.push(name);
            slots.push(match f {
                Feature::Numeric(h) => Slot::Numeric(Py::new(py, PyNumericHistogram::wrap(h))?),
                Feature::Categorical(c) => Slot::Categorical(Py::new(py, PyCategoryCounts::wrap(c))?),
            });
        }
        Self::build(names, slots)
    }

    /// A copy of every feature's counts, in order.
    fn owned(&self) -> Vec<(String, Feature)> {
        self.names
            .iter()
            .cloned()
            .zip(self.slots.iter().map(Slot::feature))
            .collect()
    }

    pub(super) fn slot(&self, i: usize) -> PyResult<&Slot> {
        self.slots
            .get(i)
            .ok_or_else(|| input_error(format!("feature index {i} out of range")))
    }

    /// Borrows the columns of `dict` that are features, with the GIL held; the rest are skipped.
    pub(super) fn hold_all<'py>(&self, dict: &Bound<'py, PyDict>) -> PyResult<HeldColumns<'py>> {
        let mut features = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let Ok(key) = k.cast::<PyString>() else { continue };
            if let Some(&i) = self.index.get(key.to_str()?) {
                features.push((i, v));
            }
        }
        self.hold_features(features)
    }

    /// Borrows each `(feature index, column)`, with the GIL held; the columns the engine does not read
    /// are left to the caller, by name.
    pub(super) fn hold_features<'py>(&self, features: Vec<(usize, Bound<'py, PyAny>)>) -> PyResult<HeldColumns<'py>> {
        let mut held = Vec::with_capacity(features.len());
        let mut skipped = Vec::new();
        let mut rows: Option<usize> = None;
        for (i, v) in features {
            let name = self.names.get(i).map_or("?", String::as_str);
            let Some((h, n)) = hold(&v, self.slot(i)?)? else {
                refuse_unreadable(&v, name)?;
                skipped.push(name.to_string());
                continue;
            };
            match rows {
                Some(r) if r != n => {
                    return Err(input_error(format!(
                        "feature {}: {n} values, but other columns have {r}",
                        repr(v.py(), name)
                    )))
                }
                _ => rows = Some(n),
            }
            held.push((i, h));
        }
        Ok((held, skipped))
    }
}

impl PyProfile {
    /// The string columns of `strings` (name to a list of chunk tuples, or to an Arrow producer) that
    /// are features.
    fn hold_strings<'py>(&self, strings: &Bound<'py, PyAny>) -> PyResult<Vec<(usize, HeldStrings<'py>)>> {
        let dict = strings
            .cast::<PyDict>()
            .map_err(|_| dtype_error("strings: expected a dict of column name to Arrow strings"))?;
        let mut out = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let Ok(key) = k.cast::<PyString>() else { continue };
            let name = key.to_str()?;
            if let Some(&i) = self.index.get(name) {
                out.push((i, hold_strings(&v, name)?));
            }
        }
        Ok(out)
    }

    /// Refuses a feature given twice (its counts would be locked twice, or counted here and handed
    /// back in `skipped` for the caller to count again) and columns of different lengths.
    fn check_batch(&self, py: Python<'_>, indices: &[usize], cols: &[Column<'_>], skipped: &[String]) -> PyResult<()> {
        let mut seen = indices.to_vec();
        seen.extend(skipped.iter().filter_map(|n| self.index.get(n.as_str())));
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w.first() == w.get(1)) {
            let name = w.first().and_then(|&i| self.names.get(i)).map_or("?", String::as_str);
            return Err(input_error(format!(
                "feature {} is given twice (as an array, Arrow strings or a block row)",
                repr(py, name)
            )));
        }
        let first = cols.first().map(Column::len);
        for (i, c) in indices.iter().zip(cols) {
            if Some(c.len()) != first {
                let name = self.names.get(*i).map_or("?", String::as_str);
                return Err(input_error(format!(
                    "feature {}: {} values, but other columns have {}",
                    repr(py, name),
                    c.len(),
                    first.unwrap_or(0)
                )));
            }
        }
        Ok(())
    }

    /// Counts `batches` (each a column per feature of `indices`, in that order) in one detached call;
    /// returns `(feature, values, missing)` per invalid column. Nothing is counted on an error.
    pub(super) fn count(
        &self,
        py: Python<'_>,
        indices: &[usize],
        batches: &[Vec<Column<'_>>],
        threads: Option<usize>,
        strict: bool,
    ) -> PyResult<Vec<(String, u64, u64)>> {
        let targets: Vec<&Slot> = indices.iter().map(|&i| self.slot(i)).collect::<PyResult<_>>()?;
        let total: usize = batches.iter().flatten().map(Column::len).sum();
        let threads = threads.unwrap_or_else(crate::parallel::cores);
        let outcome = run_detached(py, total, || {
            let mut guards = lock_all(&targets);
            let mut features: Vec<FeatureMut<'_>> = guards
                .iter_mut()
                .map(|g| match g {
                    Guard::Numeric(h) => FeatureMut::Numeric(h),
                    Guard::Categorical(c) => FeatureMut::Categorical(c),
                })
                .collect();
            Ok::<_, PyErr>(profile::update_batches(&mut features, batches, threads, strict))
        })?;
        let name_of = |j: usize| {
            indices
                .get(j)
                .and_then(|i| self.names.get(*i))
                .map_or("?", String::as_str)
        };
        let outcomes = outcome.map_err(|(j, e)| {
            let prefix = format!("feature {}", repr(py, name_of(j)));
            super::errors::to_py(crate::error::EngineError::prefixed(&prefix, e))
        })?;
        let mut invalid = Vec::new();
        for (j, o) in outcomes.iter().enumerate() {
            if let Outcome::Invalid { values, missing } = o {
                invalid.push((name_of(j).to_string(), *values, *missing));
            }
        }
        Ok(invalid)
    }

    /// The features' names, in order.
    pub(super) fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// How many features the profile has.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// The index of feature `name` and whether it is numerical.
    pub(super) fn feature(&self, name: &str) -> Option<(usize, bool)> {
        let i = *self.index.get(name)?;
        Some((i, matches!(self.slots.get(i)?, Slot::Numeric(_))))
    }
}

/// Locks every target in address order (so concurrent updates of overlapping profiles cannot
/// deadlock) and returns the guards in target order.
fn lock_all<'a>(targets: &[&'a Slot]) -> Vec<Guard<'a>> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&j| targets.get(j).map_or(0, |s| s.address()));
    let mut guards: Vec<Option<Guard<'a>>> = targets.iter().map(|_| None).collect();
    for j in order {
        if let (Some(slot), Some(target)) = (guards.get_mut(j), targets.get(j)) {
            *slot = Some(match target {
                Slot::Numeric(h) => Guard::Numeric(h.get().lock()),
                Slot::Categorical(c) => Guard::Categorical(c.get().lock()),
            });
        }
    }
    guards.into_iter().flatten().collect()
}

#[pymethods]
impl PyProfile {
    #[new]
    fn new(features: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<Self> {
        let mut names = Vec::with_capacity(features.len());
        let mut slots = Vec::with_capacity(features.len());
        for (name, obj) in features {
            let slot = if let Ok(h) = obj.cast::<PyNumericHistogram>() {
                Slot::Numeric(h.clone().unbind())
            } else if let Ok(c) = obj.cast::<PyCategoryCounts>() {
                Slot::Categorical(c.clone().unbind())
            } else {
                return Err(dtype_error(format!(
                    "feature {name:?}: expected NumericHistogram or CategoryCounts"
                )));
            };
            names.push(name);
            slots.push(slot);
        }
        Self::build(names, slots)
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        Self::from_features(py, crate::codec::decode_profile(data)?)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &crate::codec::encode_profile(&self.owned()))
    }

    #[staticmethod]
    fn merge_bytes<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let merged = py.detach(|| profile::merge_bytes(a, b))?;
        Ok(PyBytes::new(py, &merged))
    }

    #[staticmethod]
    fn merge_all<'py>(py: Python<'py>, blobs: Vec<Bound<'py, PyBytes>>) -> PyResult<Bound<'py, PyBytes>> {
        let views: Vec<&[u8]> = blobs.iter().map(|b| b.as_bytes()).collect();
        let merged = py.detach(|| profile::merge_all(views.iter().copied()))?;
        Ok(PyBytes::new(py, &merged))
    }

    fn merge(&self, other: &Self) -> PyResult<()> {
        let mut merged = profile::Profile::new(self.owned())?;
        let theirs = profile::Profile::new(other.owned())?;
        if let Some((name, _)) = theirs.features().iter().find(|(n, _)| !self.index.contains_key(n)) {
            return Err(super::errors::to_py(crate::error::EngineError::mismatch(format!(
                "feature {name:?} is not in this profile"
            ))));
        }
        merged.merge(&theirs)?;
        for (slot, (_, f)) in self.slots.iter().zip(merged.features()) {
            match (slot, f) {
                (Slot::Numeric(h), Feature::Numeric(m)) => *h.get().lock() = m.clone(),
                (Slot::Categorical(c), Feature::Categorical(m)) => *c.get().lock() = m.clone(),
                _ => {}
            }
        }
        Ok(())
    }

    fn empty_like(&self, py: Python<'_>) -> PyResult<Self> {
        let empty = profile::Profile::new(self.owned())?.empty_like();
        Self::from_features(py, empty.features().to_vec())
    }

    #[getter]
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    #[getter]
    fn features<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyAny>)> {
        self.names
            .iter()
            .cloned()
            .zip(self.slots.iter().map(|s| s.object(py)))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.names.len()
    }

    fn __repr__(&self) -> String {
        format!("Profile(features={})", self.names.len())
    }

    /// Counts every record batch of an object speaking the Arrow PyCapsule interface, in one call;
    /// `None` (nothing read) for a schema the engine leaves to the caller, or, with `strict`, one
    /// missing a feature.
    #[pyo3(signature = (data, threads = None, strict = false))]
    fn update_arrow(
        &self,
        data: &Bound<'_, PyAny>,
        threads: Option<usize>,
        strict: bool,
    ) -> PyResult<super::arrow_stream::ArrowUpdated> {
        super::arrow_stream::update(self, data, threads, strict)
    }

    /// A user's own dict of 1-D numpy arrays, checked, counted and booked in one call.
    #[pyo3(signature = (columns, strict = false))]
    fn update_dict(
        &self,
        columns: &Bound<'_, PyAny>,
        strict: bool,
    ) -> PyResult<Option<super::profile_dict::DictUpdated>> {
        super::profile_dict::update(self, columns, strict)
    }

    #[pyo3(signature = (columns, strings = None, threads = None, strict = false, blocks = None))]
    fn update(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyAny>,
        strings: Option<&Bound<'_, PyAny>>,
        threads: Option<usize>,
        strict: bool,
        blocks: Option<Vec<(Bound<'_, PyAny>, Vec<String>)>>,
    ) -> PyResult<Updated> {
        let dict = columns
            .cast::<PyDict>()
            .map_err(|_| dtype_error("columns: expected a dict of column name to array"))?;
        let (held, mut skipped) = self.hold_all(dict)?;
        let blocks = blocks.unwrap_or_default();
        let held_blocks = blocks
            .iter()
            .map(|(a, names)| super::blocks::hold_block(self, a, names))
            .collect::<PyResult<Vec<_>>>()?;
        let mut block_cols = Vec::new();
        for b in &held_blocks {
            block_cols.extend(super::blocks::rows(b, &self.names, &mut skipped));
        }
        if strict && !skipped.is_empty() {
            return Ok((Vec::new(), skipped));
        }
        let chunk_sets = match strings {
            Some(s) => self.hold_strings(s)?,
            None => Vec::new(),
        };
        let mut views: Vec<(usize, Vec<StrChunk<'_>>)> = Vec::with_capacity(chunk_sets.len());
        for (i, held) in &chunk_sets {
            views.push((*i, borrow_strings(held)?));
        }
        let mut cols: Vec<Column<'_>> = held.iter().map(|(_, h)| column(h)).collect();
        cols.extend(views.iter().map(|(_, v)| Column::Strings(v)));
        cols.extend(block_cols.iter().map(|(_, n)| Column::Numbers(*n)));
        let indices: Vec<usize> = held
            .iter()
            .map(|(i, _)| *i)
            .chain(views.iter().map(|(i, _)| *i))
            .chain(block_cols.iter().map(|(i, _)| *i))
            .collect();
        self.check_batch(py, &indices, &cols, &skipped)?;
        let invalid = self.count(py, &indices, &[cols], threads, strict)?;
        Ok((invalid, skipped))
    }
}
