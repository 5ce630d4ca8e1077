//! Arrow string arrays handed over as numpy views of their buffers (`string`, `large_string`,
//! `string_view`): borrowed with the GIL held, counted from the bytes with it released.

use super::detach::run_detached;
use super::errors::dtype_error;
use super::values::Counted;
use crate::counting::{ArrowStrings, ArrowViews};
use crate::profile::StrChunk;
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

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
pub(super) fn count_arrow(py: Python<'_>, chunks: &Bound<'_, PyAny>) -> PyResult<Counted> {
    let chunks = arrow_chunks(chunks)?;
    let mut views = Vec::with_capacity(chunks.len());
    let mut rows = 0usize;
    for c in &chunks {
        let (view, n) = borrow_chunk(c)?;
        rows += n;
        views.push(view);
    }
    let (values, missing) = run_detached(py, rows, || crate::column::count_strings(&views))?;
    Ok(Counted { values, missing })
}

/// One string column handed to `Profile.update`: chunk tuples of numpy views, or the arrays of an
/// Arrow producer (a pandas column's `ChunkedArray`), imported without building the views in Python.
pub(super) enum HeldStrings<'py> {
    Chunks(Vec<ArrowChunk<'py>>),
    Arrow(Vec<arrow_array::ArrayRef>),
}

/// Holds one `strings` entry: a list of chunk tuples, or any Arrow producer of string arrays.
pub(super) fn hold_strings<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<HeldStrings<'py>> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return Ok(HeldStrings::Chunks(arrow_chunks(obj)?));
    }
    // The name is quoted as Python would (`repr`) only for an error.
    let feature = || super::profile::repr(obj.py(), name);
    let Some(arrays) = super::arrow_column::import_column(obj)? else {
        return Err(dtype_error(format!(
            "strings: feature {}: expected Arrow chunks or an Arrow producer",
            feature()
        )));
    };
    if let Some(a) = arrays
        .iter()
        .find(|a| super::arrow_stream::strings(a.as_ref()).is_none())
    {
        return Err(dtype_error(format!(
            "strings: feature {}: Arrow {} is not a string type",
            feature(),
            a.data_type()
        )));
    }
    Ok(HeldStrings::Arrow(arrays))
}

/// The held column as borrowed chunks.
pub(super) fn borrow_strings<'a>(held: &'a HeldStrings<'_>) -> PyResult<Vec<StrChunk<'a>>> {
    match held {
        HeldStrings::Chunks(chunks) => chunks.iter().map(|c| borrow_chunk(c).map(|b| b.0)).collect(),
        HeldStrings::Arrow(arrays) => Ok(arrays
            .iter()
            .filter_map(|a| super::arrow_stream::strings(a.as_ref()))
            .collect()),
    }
}
