//! The exception classes raised by the engine, and the one mapping from [`EngineError`].
//!
//! `create_exception!` allows a single base class, but the family must also subclass the builtins
//! (`CodecError` is a `ValueError`, `DtypeError` a `TypeError`, as pydantic's `ValidationError` is a
//! `ValueError`), so the classes are built once at import with `type(name, bases, ns)`.

use crate::error::EngineError;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

static MLMON_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INPUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SCHEMA_MISMATCH_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CODEC_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DTYPE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Name, docstring, builtin base and the cell holding the class.
type Spec<'py> = (
    &'static str,
    &'static str,
    Bound<'py, PyType>,
    &'static PyOnceLock<Py<PyType>>,
);

fn make(py: Python<'_>, name: &str, doc: &str, bases: Vec<Bound<'_, PyType>>) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__doc__", doc)?;
    ns.set_item("__module__", "mlmon._engine")?;
    let ty = py.get_type::<PyType>().call1((name, PyTuple::new(py, bases)?, ns))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

fn cell<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>) -> Bound<'py, PyType> {
    match cell.get(py) {
        Some(t) => t.bind(py).clone(),
        // Before the module initialized its classes (cannot happen through import): fall back.
        None => py.get_type::<PyException>(),
    }
}

/// Builds the classes and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = make(
        py,
        "MlmonError",
        "Base class of every error mlmon raises.",
        vec![py.get_type::<PyException>()],
    )?;
    let base_b = base.bind(py).clone();
    let value = py.get_type::<PyValueError>();
    let type_err = py.get_type::<PyTypeError>();
    let specs: [Spec<'_>; 4] = [
        (
            "InputError",
            "Input values are unusable: empty, out of range, mismatched lengths.",
            value.clone(),
            &INPUT_ERROR,
        ),
        (
            "SchemaMismatchError",
            "Profiles built on different edges or categories, or data that does not match a schema.",
            value.clone(),
            &SCHEMA_MISMATCH_ERROR,
        ),
        (
            "CodecError",
            "Bytes that are not a valid encoded mlmon profile.",
            value,
            &CODEC_ERROR,
        ),
        (
            "DtypeError",
            "An array or value of a type mlmon cannot read.",
            type_err,
            &DTYPE_ERROR,
        ),
    ];
    m.add("MlmonError", base.clone_ref(py))?;
    let _ = MLMON_ERROR.set(py, base);
    for (name, doc, builtin, slot) in specs {
        let ty = make(py, name, doc, vec![base_b.clone(), builtin])?;
        m.add(name, ty.clone_ref(py))?;
        let _ = slot.set(py, ty);
    }
    Ok(())
}

fn raise(cell_ref: &'static PyOnceLock<Py<PyType>>, msg: String) -> PyErr {
    Python::attach(|py| PyErr::from_type(cell(py, cell_ref), msg))
}

/// An `InputError` with `msg`.
pub fn input_error(msg: impl Into<String>) -> PyErr {
    raise(&INPUT_ERROR, msg.into())
}

/// A `DtypeError` with `msg`.
pub fn dtype_error(msg: impl Into<String>) -> PyErr {
    raise(&DTYPE_ERROR, msg.into())
}

/// An `MlmonError` for failures that are the engine's, not the caller's (a caught panic).
pub fn internal_error(msg: impl Into<String>) -> PyErr {
    raise(&MLMON_ERROR, msg.into())
}

/// The one mapping from engine errors to Python exceptions.
pub fn to_py(e: EngineError) -> PyErr {
    match e {
        EngineError::Dtype(m) => raise(&DTYPE_ERROR, m),
        EngineError::Invalid(m) => raise(&INPUT_ERROR, m),
        EngineError::Mismatch(m) => raise(&SCHEMA_MISMATCH_ERROR, m),
        EngineError::Codec(m) => raise(&CODEC_ERROR, m),
    }
}

impl From<EngineError> for PyErr {
    fn from(e: EngineError) -> Self {
        to_py(e)
    }
}
