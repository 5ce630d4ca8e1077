//! `Profile` for Python: every feature of a baseline, updated by a whole batch in one call.
//!
//! `update` borrows every column with the GIL held (numbers and codes as views, object strings
//! reduced to distinct values, since reading a `str` needs the GIL), then releases the GIL once for
//! all of them. Columns it cannot read exactly as the per-feature path would (lists, float16, object
//! arrays for numerical features, ...) are handed back by name for the caller's general path.

use super::arrays::{numeric1_of, Numeric1};
use super::arrow_chunks::{arrow_chunks, borrow_chunk, ArrowChunk};
use super::categorical::PyCategoryCounts;
use super::detach::run_detached;
use super::errors::{dtype_error, input_error};
use super::histogram::PyNumericHistogram;
use super::object_cache::Slotted;
use super::values::ucs4_rows;
use crate::categorical::CategoryCounts;
use crate::codec::Feature;
use crate::histogram::NumericHistogram;
use crate::profile::{self, Codes, Column, FeatureMut, Outcome, StrChunk};
use crate::sketch::Key;
use hashbrown::HashMap;
use numpy::{PyArrayDescrMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::sync::MutexGuard;

enum Slot {
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

/// One column borrowed for the detached count.
enum Held<'py> {
    Numbers(Numeric1<'py>),
    Bool(PyReadonlyArray1<'py, bool>),
    Ucs4(PyReadonlyArray2<'py, u32>),
    Slotted(Slotted, u64),
    Invalid(u64),
}

/// Borrows `obj` for a numerical (`numeric`) or categorical feature; `None` leaves it to the caller.
fn hold<'py>(obj: &Bound<'py, PyAny>, slot: &Slot) -> PyResult<Option<(Held<'py>, usize)>> {
    let numeric = matches!(slot, Slot::Numeric(_));
    let Ok(arr) = obj.cast::<PyUntypedArray>() else {
        return Ok(None);
    };
    if arr.ndim() != 1 || !arr.dtype().is_native_byteorder().unwrap_or(true) {
        return Ok(None);
    }
    let n = PyUntypedArrayMethods::len(arr);
    let dtype = arr.dtype();
    let (kind, size) = (char::from(dtype.kind()), dtype.itemsize());
    let held = match (kind, numeric) {
        ('f', true) | ('i' | 'u', _) => numeric1_of(obj, kind, size)?.map(Held::Numbers),
        ('b', true) | ('U', true) => Some(Held::Invalid(n as u64)),
        ('b', false) => Some(Held::Bool(obj.extract()?)),
        ('U', false) => Some(Held::Ucs4(ucs4_rows(obj, arr, size)?)),
        // A failure (values no category can be) is the caller's to account as invalid values.
        ('O', false) => match slot {
            Slot::Categorical(c) => cached(obj, c.get()).map(|s| Held::Slotted(s, n as u64)),
            Slot::Numeric(_) => None,
        },
        _ => None,
    };
    Ok(held.map(|h| (h, n)))
}

/// An object array reduced to its feature's slots through the feature's object cache; `None` if a
/// value is no category.
fn cached(obj: &Bound<'_, PyAny>, counts: &PyCategoryCounts) -> Option<Slotted> {
    let arr: PyReadonlyArray1<'_, Py<PyAny>> = obj.extract().ok()?;
    let mut cache = counts.cache.lock().unwrap_or_else(|e| e.into_inner());
    let inner = counts.lock();
    cache.count(obj.py(), arr.as_array(), &inner, "values").ok()
}

/// The error the per-feature path raises for an array no feature can read (complex numbers,
/// datetimes, records), raised before anything is counted.
fn refuse_unreadable(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
    let Ok(arr) = obj.cast::<PyUntypedArray>() else {
        return Ok(());
    };
    let kind = char::from(arr.dtype().kind());
    if arr.ndim() != 1 || "biufOUS".contains(kind) {
        return Ok(());
    }
    Err(dtype_error(format!(
        "feature {}: unsupported dtype {} (expected numbers, strings or bools)",
        repr(obj.py(), name),
        arr.dtype().str()?
    )))
}

/// The dictionary of a boolean column's codes (the labels the per-feature path gives booleans).
pub(super) fn bool_dictionary() -> Vec<Option<Key>> {
    vec![Some(Key::Str("False".into())), Some(Key::Str("True".into()))]
}

fn column<'a>(held: &'a Held<'_>) -> Column<'a> {
    match held {
        Held::Numbers(a) => Column::Numbers(a.numbers()),
        Held::Bool(a) => Column::Codes {
            codes: Codes::Bool(a.as_array()),
            dictionary: bool_dictionary(),
        },
        Held::Ucs4(a) => Column::Ucs4(a.as_array()),
        Held::Slotted(s, rows) => Column::Slotted {
            delta: &s.delta,
            unseen: &s.unseen,
            rows: *rows,
        },
        // Strings or booleans for a numerical feature: empty codes make the engine report them invalid.
        Held::Invalid(rows) => Column::Counted {
            values: &[],
            missing: 0,
            rows: *rows,
        },
    }
}

fn repr(py: Python<'_>, name: &str) -> String {
    PyString::new(py, name)
        .repr()
        .map_or_else(|_| format!("{name:?}"), |r| r.to_string())
}

/// The borrowed columns with their feature index, and the names of the columns left to the caller.
type HeldColumns<'py> = (Vec<(usize, Held<'py>)>, Vec<String>);

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

    fn slot(&self, i: usize) -> PyResult<&Slot> {
        self.slots
            .get(i)
            .ok_or_else(|| input_error(format!("feature index {i} out of range")))
    }

    /// Borrows the columns of `dict` that are features, with the GIL held; the rest are skipped.
    fn hold_all<'py>(&self, dict: &Bound<'py, PyDict>) -> PyResult<HeldColumns<'py>> {
        let py = dict.py();
        let mut held = Vec::with_capacity(dict.len());
        let mut skipped = Vec::new();
        let mut rows: Option<usize> = None;
        for (k, v) in dict.iter() {
            let Ok(key) = k.cast::<PyString>() else { continue };
            let name = key.to_str()?;
            let Some(&i) = self.index.get(name) else { continue };
            let Some((h, n)) = hold(&v, self.slot(i)?)? else {
                refuse_unreadable(&v, name)?;
                skipped.push(name.to_string());
                continue;
            };
            match rows {
                Some(r) if r != n => {
                    return Err(input_error(format!(
                        "feature {}: {n} values, but other columns have {r}",
                        repr(py, name)
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
    /// The Arrow string chunks of `strings` (name to a list of chunk tuples) that are features.
    fn hold_strings<'py>(&self, strings: &Bound<'py, PyAny>) -> PyResult<Vec<(usize, Vec<ArrowChunk<'py>>)>> {
        let dict = strings
            .cast::<PyDict>()
            .map_err(|_| dtype_error("strings: expected a dict of column name to Arrow chunks"))?;
        let mut out = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let Ok(key) = k.cast::<PyString>() else { continue };
            if let Some(&i) = self.index.get(key.to_str()?) {
                out.push((i, arrow_chunks(&v)?));
            }
        }
        Ok(out)
    }

    /// Refuses a feature given twice (its counts would be locked twice) and columns of different lengths.
    fn check_batch(&self, py: Python<'_>, indices: &[usize], cols: &[Column<'_>]) -> PyResult<()> {
        let mut seen = indices.to_vec();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w.first() == w.get(1)) {
            let name = w.first().and_then(|&i| self.names.get(i)).map_or("?", String::as_str);
            return Err(input_error(format!(
                "feature {} is given both as an array and as Arrow strings",
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

    #[pyo3(signature = (columns, strings = None, threads = None, strict = false))]
    fn update(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyAny>,
        strings: Option<&Bound<'_, PyAny>>,
        threads: Option<usize>,
        strict: bool,
    ) -> PyResult<Updated> {
        let dict = columns
            .cast::<PyDict>()
            .map_err(|_| dtype_error("columns: expected a dict of column name to array"))?;
        let (held, skipped) = self.hold_all(dict)?;
        if strict && !skipped.is_empty() {
            return Ok((Vec::new(), skipped));
        }
        let chunk_sets = match strings {
            Some(s) => self.hold_strings(s)?,
            None => Vec::new(),
        };
        let mut views: Vec<(usize, Vec<StrChunk<'_>>)> = Vec::with_capacity(chunk_sets.len());
        for (i, chunks) in &chunk_sets {
            let borrowed = chunks
                .iter()
                .map(|c| borrow_chunk(c).map(|b| b.0))
                .collect::<PyResult<_>>()?;
            views.push((*i, borrowed));
        }
        let mut cols: Vec<Column<'_>> = held.iter().map(|(_, h)| column(h)).collect();
        cols.extend(views.iter().map(|(_, v)| Column::Strings(v)));
        let indices: Vec<usize> = held
            .iter()
            .map(|(i, _)| *i)
            .chain(views.iter().map(|(i, _)| *i))
            .collect();
        self.check_batch(py, &indices, &cols)?;
        let invalid = self.count(py, &indices, &[cols], threads, strict)?;
        Ok((invalid, skipped))
    }
}
