//! NumPy input: dtype dispatch over borrowed arrays, contiguous or strided, never copied.

use super::errors::{dtype_error, input_error};
use crate::column::Numbers;
use numpy::{PyArrayDescrMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// A 1-D numeric array of any supported dtype, borrowed read-only.
pub enum Numeric1<'py> {
    F64(PyReadonlyArray1<'py, f64>),
    F32(PyReadonlyArray1<'py, f32>),
    I64(PyReadonlyArray1<'py, i64>),
    I32(PyReadonlyArray1<'py, i32>),
    I16(PyReadonlyArray1<'py, i16>),
    I8(PyReadonlyArray1<'py, i8>),
    U8(PyReadonlyArray1<'py, u8>),
    U16(PyReadonlyArray1<'py, u16>),
    U32(PyReadonlyArray1<'py, u32>),
}

/// A 2-D numeric array of any supported dtype, borrowed read-only.
pub enum Numeric2<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
    I64(PyReadonlyArray2<'py, i64>),
    I32(PyReadonlyArray2<'py, i32>),
}

/// The array as an `ndarray` view bound to `$v`, whatever its dtype, then `$body`.
macro_rules! with_view {
    ($arr:expr, $enum:ident, |$v:ident| $body:expr) => {
        match $arr {
            $enum::F64(a) => {
                let $v = a.as_array();
                $body
            }
            $enum::F32(a) => {
                let $v = a.as_array();
                $body
            }
            $enum::I64(a) => {
                let $v = a.as_array();
                $body
            }
            $enum::I32(a) => {
                let $v = a.as_array();
                $body
            }
        }
    };
}
pub(crate) use with_view;

/// Like [`with_view`] for every 1-D dtype.
macro_rules! with_view1 {
    ($arr:expr, |$v:ident| $body:expr) => {
        match $arr {
            Numeric1::F64(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::F32(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::I64(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::I32(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::I16(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::I8(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::U8(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::U16(a) => {
                let $v = a.as_array();
                $body
            }
            Numeric1::U32(a) => {
                let $v = a.as_array();
                $body
            }
        }
    };
}
pub(crate) use with_view1;

/// The untyped array behind `obj`, with its dtype's one-character kind and item size, and a check of
/// its number of dimensions.
pub fn untyped<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    ndim: usize,
    what: &str,
) -> PyResult<(&'a Bound<'py, PyUntypedArray>, char, usize)> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        let ty = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        dtype_error(format!("{what}: expected a numpy array, got {ty}"))
    })?;
    if arr.ndim() != ndim {
        return Err(input_error(format!(
            "{what}: expected a {ndim}-D array, got {}-D",
            arr.ndim()
        )));
    }
    let dtype = arr.dtype();
    let kind = char::from(dtype.kind());
    Ok((arr, kind, dtype.itemsize()))
}

fn unsupported(what: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    let dt = obj
        .getattr("dtype")
        .and_then(|d| d.str())
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into());
    dtype_error(format!(
        "{what}: unsupported dtype {dt} (expected float64, float32 or an integer type)"
    ))
}

/// Borrows a 1-D numeric array.
pub fn numeric1<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Numeric1<'py>> {
    let (_, kind, size) = untyped(obj, 1, what)?;
    numeric1_of(obj, kind, size)?.ok_or_else(|| unsupported(what, obj))
}

/// Borrows a 1-D array whose dtype kind and item size the caller has read; `None` for a dtype that
/// is not one of [`Numeric1`]'s.
pub fn numeric1_of<'py>(obj: &Bound<'py, PyAny>, kind: char, size: usize) -> PyResult<Option<Numeric1<'py>>> {
    Ok(Some(match (kind, size) {
        ('f', 8) => Numeric1::F64(obj.extract()?),
        ('f', 4) => Numeric1::F32(obj.extract()?),
        ('i', 8) => Numeric1::I64(obj.extract()?),
        ('i', 4) => Numeric1::I32(obj.extract()?),
        ('i', 2) => Numeric1::I16(obj.extract()?),
        ('i', 1) => Numeric1::I8(obj.extract()?),
        ('u', 1) => Numeric1::U8(obj.extract()?),
        ('u', 2) => Numeric1::U16(obj.extract()?),
        ('u', 4) => Numeric1::U32(obj.extract()?),
        _ => return Ok(None),
    }))
}

impl Numeric1<'_> {
    /// The borrowed array as the engine's column of numbers.
    pub fn numbers(&self) -> Numbers<'_> {
        match self {
            Numeric1::F64(a) => Numbers::F64(a.as_array()),
            Numeric1::F32(a) => Numbers::F32(a.as_array()),
            Numeric1::I64(a) => Numbers::I64(a.as_array()),
            Numeric1::I32(a) => Numbers::I32(a.as_array()),
            Numeric1::I16(a) => Numbers::I16(a.as_array()),
            Numeric1::I8(a) => Numbers::I8(a.as_array()),
            Numeric1::U8(a) => Numbers::U8(a.as_array()),
            Numeric1::U16(a) => Numbers::U16(a.as_array()),
            Numeric1::U32(a) => Numbers::U32(a.as_array()),
        }
    }
}

/// Borrows a 2-D numeric array (rows x features).
pub fn numeric2<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Numeric2<'py>> {
    let (_, kind, size) = untyped(obj, 2, what)?;
    Ok(match (kind, size) {
        ('f', 8) => Numeric2::F64(obj.extract()?),
        ('f', 4) => Numeric2::F32(obj.extract()?),
        ('i', 8) => Numeric2::I64(obj.extract()?),
        ('i', 4) => Numeric2::I32(obj.extract()?),
        _ => return Err(unsupported(what, obj)),
    })
}

/// A 1-D float64 vector from a numpy array (any numeric dtype) or a sequence of numbers: the small
/// count vectors the statistics take.
pub fn f64_vec(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<'_, f64>>() {
        return Ok(a.as_array().iter().copied().collect());
    }
    if obj.cast::<PyUntypedArray>().is_ok() {
        let arr = numeric1(obj, what)?;
        return Ok(with_view1!(arr, |v| v
            .iter()
            .map(|x| crate::kernel::Element::to_f64(*x))
            .collect()));
    }
    obj.extract::<Vec<f64>>()
        .map_err(|_| dtype_error(format!("{what}: expected a 1-D array or sequence of numbers")))
}
