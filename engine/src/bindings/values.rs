//! Python values as categories: object, `U`, integer and bool arrays and dictionary codes, counted
//! into (category, count) pairs for `CategoryCounts`, the profile and the object cache.

use super::arrays::{numeric1, untyped, Numeric1};
use super::detach::run_detached;
use super::errors::dtype_error;
use crate::categorical::KeyRef;
use crate::counting::{count_codes, count_ints, count_ucs4, Code};
use crate::identity::count_words;
use crate::sketch::Key;
use hashbrown::HashMap;
use ndarray::ArrayView1;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

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

pub(super) fn count_values(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Counted> {
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

pub(super) fn count_coded(
    py: Python<'_>,
    codes: &Bound<'_, PyAny>,
    categories: &Bound<'_, PyAny>,
) -> PyResult<Counted> {
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
