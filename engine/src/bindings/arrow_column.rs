//! One column from an Arrow producer through the Arrow PyCapsule interface: `__arrow_c_stream__` (a
//! pyarrow `ChunkedArray`, a polars `Series`, ...) or `__arrow_c_array__` (one array), imported by
//! arrow-rs' C Data Interface without copying the buffers.

use super::errors::{dtype_error, input_error};
use arrow_array::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{make_array, ArrayRef};
use arrow_schema::ArrowError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

pub(super) fn arrow_error(e: ArrowError) -> PyErr {
    input_error(format!("cannot read the Arrow data: {e}"))
}

/// The capsule `obj.method()` returns, checked by name.
fn capsule_pointer(capsule: &Bound<'_, PyAny>, name: &std::ffi::CStr, what: &str) -> PyResult<*mut std::ffi::c_void> {
    let capsule = capsule
        .cast::<PyCapsule>()
        .map_err(|_| dtype_error(format!("{what} did not return a capsule")))?;
    Ok(capsule.pointer_checked(Some(name))?.as_ptr())
}

/// The array of `obj.__arrow_c_array__()`.
pub(super) fn c_array(obj: &Bound<'_, PyAny>) -> PyResult<ArrayRef> {
    let pair = obj.call_method0(pyo3::intern!(obj.py(), "__arrow_c_array__"))?;
    let pair = pair
        .cast::<PyTuple>()
        .map_err(|_| dtype_error("__arrow_c_array__ did not return a (schema, array) pair"))?;
    let schema_ptr = capsule_pointer(&pair.get_item(0)?, c"arrow_schema", "__arrow_c_array__")?;
    let array_ptr = capsule_pointer(&pair.get_item(1)?, c"arrow_array", "__arrow_c_array__")?;
    // SAFETY: named capsules of the C Data Interface: the schema stays owned by its capsule (read by
    // reference), the array is moved out (its capsule then holds a released array).
    let data = unsafe {
        let schema = &*schema_ptr.cast::<FFI_ArrowSchema>();
        from_ffi(FFI_ArrowArray::from_raw(array_ptr.cast()), schema)
    }
    .map_err(arrow_error)?;
    Ok(make_array(data))
}

/// The stream capsule of `obj.__arrow_c_stream__()`, moved out of its capsule.
pub(super) fn c_stream(obj: &Bound<'_, PyAny>) -> PyResult<FFI_ArrowArrayStream> {
    let capsule = obj.call_method0(pyo3::intern!(obj.py(), "__arrow_c_stream__"))?;
    let ptr = capsule_pointer(&capsule, c"arrow_array_stream", "__arrow_c_stream__")?;
    // SAFETY: the capsule holds an initialized ArrowArrayStream (its name says so); `from_raw` moves it
    // out and leaves a released stream behind, which the capsule's destructor skips.
    Ok(unsafe { FFI_ArrowArrayStream::from_raw(ptr.cast()) })
}

/// Every chunk of one column from an Arrow producer, or `None` when `obj` speaks neither protocol.
pub(super) fn import_column(obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<ArrayRef>>> {
    let py = obj.py();
    if obj.hasattr(pyo3::intern!(py, "__arrow_c_stream__"))? {
        let reader = ArrayStreamReader::try_new(c_stream(obj)?).map_err(arrow_error)?;
        return Ok(Some(reader.collect::<Result<Vec<_>, _>>().map_err(arrow_error)?));
    }
    if obj.hasattr(pyo3::intern!(py, "__arrow_c_array__"))? {
        return Ok(Some(vec![c_array(obj)?]));
    }
    Ok(None)
}
