//! `IngestReader` for Python: the service's msgpack `columns` map read and counted by the engine.
//!
//! Built once per baseline (its empty profile, which features take integer labels, the limits);
//! `fold_msgpack` then reads one body's columns and returns the encoded profile of its rows, with
//! the GIL released for the whole read and count. Errors are the engine's: `InputError` (the
//! service's 422) and `CodecError` (bytes that are not msgpack: its 400).

use super::detach::run_detached;
use super::errors::dtype_error;
use crate::codec::{self, Feature};
use crate::wire::{self, Schema};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A body's `columns` as the caller holds them: `bytes`, or a uint8 NumPy view of the request body's
/// own memory (`np.frombuffer` over msgspec's `Raw`), which spares a copy of the whole columns map per
/// batch (`bytes(raw)` took 3 of a 1,000 x 25 fold's 38 us). The buffer protocol is not in the limited
/// API of Python 3.10, which the extension targets; NumPy's array API is.
enum Columns<'py> {
    Bytes(Bound<'py, PyBytes>),
    View(PyReadonlyArray1<'py, u8>),
}

impl<'py> Columns<'py> {
    fn of(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(Self::Bytes(bytes.clone()));
        }
        obj.extract::<PyReadonlyArray1<'py, u8>>()
            .map(Self::View)
            .map_err(|_| dtype_error("columns must be bytes or a 1-D uint8 array"))
    }

    fn as_slice(&self) -> PyResult<&[u8]> {
        match self {
            Self::Bytes(b) => Ok(b.as_bytes()),
            Self::View(v) => v
                .as_slice()
                .map_err(|_| dtype_error("columns must be a contiguous uint8 array")),
        }
    }
}

/// Reads ingest bodies of one baseline into counts.
#[pyclass(name = "IngestReader", module = "mlmon._engine", frozen)]
pub struct PyIngestReader {
    schema: Schema,
    template: Vec<(String, Feature)>,
}

#[pymethods]
impl PyIngestReader {
    #[new]
    #[pyo3(signature = (empty_profile, int_labels, max_rows, max_categories))]
    fn new(empty_profile: &[u8], int_labels: Vec<String>, max_rows: usize, max_categories: usize) -> PyResult<Self> {
        let template = codec::decode_profile(empty_profile)?;
        let schema = Schema::of_profile(&template, &int_labels, max_rows, max_categories);
        Ok(Self { schema, template })
    }

    fn fold_msgpack<'py>(&self, py: Python<'py>, columns: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let held = Columns::of(columns)?;
        let columns = held.as_slice()?;
        let folded = run_detached(py, columns.len(), || {
            wire::fold_msgpack(&self.schema, &self.template, columns)
        })?;
        Ok((PyBytes::new(py, &folded.profile), folded.rows))
    }

    /// The counts of a JSON `columns` map when the engine's strict reader accepts it; `None` leaves
    /// it to msgspec (escapes, repeated keys, anything to refuse: msgspec words the refusal).
    fn fold_json<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, u64)>> {
        let held = Columns::of(columns)?;
        let columns = held.as_slice()?;
        let folded = run_detached(py, columns.len(), || {
            wire::fold_json(&self.schema, &self.template, columns)
        })?;
        Ok(folded.map(|f| (PyBytes::new(py, &f.profile), f.rows)))
    }

    #[getter]
    fn names(&self) -> Vec<String> {
        self.schema.features.iter().map(|f| f.name.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!("IngestReader(features={})", self.schema.features.len())
    }
}
