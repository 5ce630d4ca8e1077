//! One column of a batch borrowed, with the GIL held, for `Profile`'s detached count: numbers and
//! codes as views, object strings reduced to their feature's slots (reading a `str` needs the GIL).

use super::arrays::{numeric1_of, Numeric1};
use super::categorical::PyCategoryCounts;
use super::errors::dtype_error;
use super::object_cache::Slotted;
use super::profile::{repr, Slot};
use super::values::ucs4_rows;
use crate::profile::{Codes, Column};
use crate::sketch::Key;
use numpy::{PyArrayDescrMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// One column borrowed for the detached count.
pub(super) enum Held<'py> {
    Numbers(Numeric1<'py>),
    Bool(PyReadonlyArray1<'py, bool>),
    Ucs4(PyReadonlyArray2<'py, u32>),
    Slotted(Slotted, u64),
    Invalid(u64),
}

/// Borrows `obj` for a numerical (`numeric`) or categorical feature; `None` leaves it to the caller.
pub(super) fn hold<'py>(obj: &Bound<'py, PyAny>, slot: &Slot) -> PyResult<Option<(Held<'py>, usize)>> {
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
pub(super) fn refuse_unreadable(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
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

pub(super) fn column<'a>(held: &'a Held<'_>) -> Column<'a> {
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
