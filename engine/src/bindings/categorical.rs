//! `CategoryCounts` for Python: value counting of object, `U`, integer and dictionary-code arrays.

use super::arrays::{numeric1, untyped, Numeric1};
use super::detach::run_detached;
use super::errors::{dtype_error, input_error};
use super::object_cache::ObjectCache;
use crate::categorical::{CategoryCounts, KeyRef};
use crate::codec;
use crate::counting::{
    count_arrow_strings, count_arrow_views, count_codes, count_ints, count_ucs4, ArrowStrings, ArrowViews, ByteCounts,
    Code,
};
use crate::identity::count_words;
use crate::profile::StrChunk;
use crate::sketch::Key;
use hashbrown::HashMap;
use ndarray::ArrayView1;
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::sync::{Mutex, MutexGuard};

/// One Python value as a category: `None` for missing.
pub(super) enum Value<'a> {
    Key(KeyRef<'a>),
    Bool(bool),
    Missing,
}

pub(super) fn classify<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Value<'a>> {
    if obj.is_none() {
        return Ok(Value::Missing);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // A lone surrogate has no UTF-8 form: no category can be it (Python's own error would not say
        // which feature or value).
        let text = s.to_str().map_err(|_| {
            dtype_error(format!(
                "{what}: a str with a lone surrogate ({}), which no category can be (it has no UTF-8 form)",
                s.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            ))
        })?;
        return Ok(Value::Key(KeyRef::Str(text)));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        let v: i64 = obj
            .extract()
            .map_err(|_| dtype_error(format!("{what}: integer category out of int64 range")))?;
        return Ok(Value::Key(KeyRef::Int(v)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        if f.value().is_nan() {
            return Ok(Value::Missing);
        }
    }
    let ty = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    Err(dtype_error(format!(
        "{what}: categories must be str or int (or None for missing), got {ty}"
    )))
}

pub(super) fn key_of(v: &Value<'_>) -> Option<KeyRef<'static>> {
    match v {
        Value::Bool(true) => Some(KeyRef::Str("True")),
        Value::Bool(false) => Some(KeyRef::Str("False")),
        _ => None,
    }
}

/// Distinct values of a batch with counts, owning what it must and borrowing the rest.
pub(super) struct Counted {
    pub(super) values: Vec<(Key, u64)>,
    pub(super) missing: u64,
}

fn count_values(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Counted> {
    let (arr, kind, size) = untyped(obj, 1, what)?;
    match kind {
        'O' => count_objects(obj, what),
        'U' => {
            let n = PyUntypedArrayMethods::len(arr);
            let rows = ucs4_rows(obj, arr, size)?;
            let view = rows.as_array();
            let counted = run_detached(py, n, || count_ucs4(view))?;
            Ok(Counted {
                values: counted.into_iter().map(|(s, c)| (Key::Str(s.into()), c)).collect(),
                missing: 0,
            })
        }
        'i' | 'u' => {
            let map = match numeric1(obj, what)? {
                Numeric1::I8(a) => detached_ints(py, a.as_array())?,
                Numeric1::I16(a) => detached_ints(py, a.as_array())?,
                Numeric1::I32(a) => detached_ints(py, a.as_array())?,
                Numeric1::I64(a) => detached_ints(py, a.as_array())?,
                Numeric1::U8(a) => detached_ints(py, a.as_array())?,
                Numeric1::U16(a) => detached_ints(py, a.as_array())?,
                Numeric1::U32(a) => detached_ints(py, a.as_array())?,
                _ => return Err(dtype_error(format!("{what}: unsupported integer dtype"))),
            };
            Ok(Counted {
                values: map.into_iter().map(|(k, c)| (Key::Int(k), c)).collect(),
                missing: 0,
            })
        }
        'b' => {
            let as_str = obj.call_method1("astype", ("U5",))?;
            count_values(py, &as_str, what)
        }
        _ => {
            let dt = obj.getattr("dtype")?.str()?.to_string();
            Err(dtype_error(format!(
                "{what}: unsupported dtype {dt} for categories (expected str, object or integers)"
            )))
        }
    }
}

pub(super) fn count_objects(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Counted> {
    let arr: PyReadonlyArray1<'_, Py<PyAny>> = obj.extract()?;
    let view = arr.as_array();
    // Count by object identity first: repeated values are usually the same object (interned or
    // deduplicated by pandas/pyarrow), so most rows cost one pointer probe, not a string hash.
    let distinct = match view.as_slice() {
        Some(objs) => count_words(objs.iter().map(|o| o.as_ptr() as usize)),
        None => count_words(view.iter().map(|o| o.as_ptr() as usize)),
    };
    let py = obj.py();
    let mut values: HashMap<Key, u64> = HashMap::new();
    let mut missing = 0u64;
    for (_, n, i) in distinct {
        let Some(o) = view.get(i) else { continue };
        let b = o.bind(py);
        let v = classify(b, what)?;
        let key = match (&v, key_of(&v)) {
            (_, Some(k)) => k.to_key(),
            (Value::Key(k), None) => k.to_key(),
            _ => {
                missing += n;
                continue;
            }
        };
        *values.entry(key).or_insert(0) += n;
    }
    Ok(Counted {
        values: values.into_iter().collect(),
        missing,
    })
}

fn dictionary(categories: &Bound<'_, PyAny>) -> PyResult<Vec<Option<Key>>> {
    let mut out = Vec::new();
    for item in categories.try_iter()? {
        let item = item?;
        let v = classify(&item, "categories")?;
        out.push(match (&v, key_of(&v)) {
            (_, Some(k)) => Some(k.to_key()),
            (Value::Key(k), None) => Some(k.to_key()),
            _ => None,
        });
    }
    Ok(out)
}

fn count_coded(py: Python<'_>, codes: &Bound<'_, PyAny>, categories: &Bound<'_, PyAny>) -> PyResult<Counted> {
    let dict = dictionary(categories)?;
    let (_, kind, _) = untyped(codes, 1, "codes")?;
    if kind != 'i' && kind != 'u' {
        return Err(dtype_error("codes: expected an integer array"));
    }
    let n_dict = dict.len();
    let arr = numeric1(codes, "codes")?;
    let (per_entry, mut missing) = match arr {
        Numeric1::I8(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::I16(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::I32(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::I64(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::U8(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::U16(a) => detached_codes(py, a.as_array(), n_dict)?,
        Numeric1::U32(a) => detached_codes(py, a.as_array(), n_dict)?,
        _ => return Err(dtype_error("codes: expected an integer array")),
    };
    let mut values = Vec::with_capacity(n_dict);
    for (k, n) in dict.into_iter().zip(per_entry) {
        match k {
            Some(k) if n > 0 => values.push((k, n)),
            Some(_) => {}
            None => missing += n,
        }
    }
    Ok(Counted { values, missing })
}

fn detached_ints<C: Code>(py: Python<'_>, view: ArrayView1<'_, C>) -> PyResult<HashMap<i64, u64>> {
    run_detached(py, view.len(), || Ok::<_, PyErr>(count_ints(view)))
}

fn detached_codes<C: Code>(py: Python<'_>, view: ArrayView1<'_, C>, n_dict: usize) -> PyResult<(Vec<u64>, u64)> {
    run_detached(py, view.len(), || count_codes(view, n_dict))
}

/// One Arrow string chunk as numpy views of its buffers: `offsets` + one data buffer (`string`,
/// `large_string`), or 16-byte `views` + the variadic data buffers (`string_view`).
pub(super) struct ArrowChunk<'py> {
    layout: Layout<'py>,
    validity: Option<PyReadonlyArray1<'py, u8>>,
    bit: usize,
}

enum Layout<'py> {
    Offsets32(PyReadonlyArray1<'py, i32>, PyReadonlyArray1<'py, u8>),
    Offsets64(PyReadonlyArray1<'py, i64>, PyReadonlyArray1<'py, u8>),
    Views(PyReadonlyArray1<'py, u8>, Vec<PyReadonlyArray1<'py, u8>>),
}

type ChunkTuple<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Option<PyReadonlyArray1<'py, u8>>,
    usize,
);

pub(super) fn arrow_chunks<'py>(chunks: &Bound<'py, PyAny>) -> PyResult<Vec<ArrowChunk<'py>>> {
    let shape =
        || dtype_error("arrow chunks: expected (offsets | views, data | [buffers], validity | None, bit offset)");
    let mut out = Vec::new();
    for item in chunks.try_iter()? {
        let (first, second, validity, bit): ChunkTuple<'py> = item?.extract().map_err(|_| shape())?;
        // A list of buffers means views; test the type, since a numpy array is a sequence too.
        let layout = if second.is_instance_of::<PyList>() || second.is_instance_of::<PyTuple>() {
            let buffers: Vec<PyReadonlyArray1<'py, u8>> = second.extract().map_err(|_| shape())?;
            Layout::Views(first.extract().map_err(|_| shape())?, buffers)
        } else {
            let data: PyReadonlyArray1<'py, u8> = second.extract().map_err(|_| shape())?;
            match first.extract::<PyReadonlyArray1<'py, i32>>() {
                Ok(o) => Layout::Offsets32(o, data),
                Err(_) => Layout::Offsets64(
                    first
                        .extract()
                        .map_err(|_| dtype_error("arrow offsets must be int32 or int64"))?,
                    data,
                ),
            }
        };
        out.push(ArrowChunk { layout, validity, bit });
    }
    Ok(out)
}

fn contiguous<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, what: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| dtype_error(format!("arrow {what} buffer must be contiguous")))
}

pub(super) fn borrow_chunk<'a>(c: &'a ArrowChunk<'_>) -> PyResult<(StrChunk<'a>, usize)> {
    let validity = match &c.validity {
        Some(v) => Some((contiguous(v, "validity")?, c.bit)),
        None => None,
    };
    Ok(match &c.layout {
        Layout::Offsets32(o, d) => {
            let offsets = contiguous(o, "offsets")?;
            (
                StrChunk::Offsets32(ArrowStrings {
                    offsets,
                    data: contiguous(d, "data")?,
                    validity,
                }),
                offsets.len(),
            )
        }
        Layout::Offsets64(o, d) => {
            let offsets = contiguous(o, "offsets")?;
            (
                StrChunk::Offsets64(ArrowStrings {
                    offsets,
                    data: contiguous(d, "data")?,
                    validity,
                }),
                offsets.len(),
            )
        }
        Layout::Views(v, bufs) => {
            let views = contiguous(v, "views")?;
            let buffers = bufs
                .iter()
                .map(|b| contiguous(b, "data"))
                .collect::<PyResult<Vec<_>>>()?;
            (
                StrChunk::Views(ArrowViews {
                    views,
                    buffers,
                    validity,
                }),
                views.len() / 16,
            )
        }
    })
}

/// Value counts of Arrow string arrays straight from their buffers: no Python string objects and no
/// dictionary encoding; the GIL is released while hashing.
fn count_arrow(py: Python<'_>, chunks: &Bound<'_, PyAny>) -> PyResult<Counted> {
    let chunks = arrow_chunks(chunks)?;
    let mut views = Vec::with_capacity(chunks.len());
    let mut rows = 0usize;
    for c in &chunks {
        let (view, n) = borrow_chunk(c)?;
        rows += n;
        views.push(view);
    }
    let (map, missing) = run_detached(py, rows, || {
        let mut map = ByteCounts::default();
        let mut missing = 0u64;
        for view in &views {
            missing += match view {
                StrChunk::Offsets32(a) => count_arrow_strings(a, &mut map)?,
                StrChunk::Offsets64(a) => count_arrow_strings(a, &mut map)?,
                StrChunk::Views(a) => count_arrow_views(a, &mut map)?,
            };
        }
        Ok::<_, crate::error::EngineError>((map, missing))
    })?;
    let mut values = Vec::new();
    for (bytes, n) in map.into_counts() {
        let s = std::str::from_utf8(bytes).map_err(|_| input_error("arrow string data is not valid UTF-8"))?;
        values.push((Key::Str(s.into()), n));
    }
    Ok(Counted { values, missing })
}

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

/// A numpy `U` array as rows of UCS4 code points (n x chars), the layout the string kernels read; a
/// strided array is copied first, since its rows cannot be viewed as one 2-D buffer.
pub fn ucs4_rows<'py>(
    obj: &Bound<'py, PyAny>,
    arr: &Bound<'py, numpy::PyUntypedArray>,
    itemsize: usize,
) -> PyResult<PyReadonlyArray2<'py, u32>> {
    let n = PyUntypedArrayMethods::len(arr);
    let contiguous = if arr.is_c_contiguous() {
        obj.clone()
    } else {
        obj.call_method0("copy")?
    };
    contiguous
        .call_method1("view", ("<u4",))?
        .call_method1("reshape", ((n, itemsize / 4),))?
        .extract()
}
