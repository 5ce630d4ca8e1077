//! `IngestReader` for Python: the service's msgpack `columns` map read and counted by the engine.
//!
//! Built once per baseline (its empty profile, which features take integer labels, the limits);
//! `fold_msgpack` then reads one body's columns and returns the encoded profile of its rows, with
//! the GIL released for the whole read and count. Errors are the engine's: `InputError` (the
//! service's 422) and `CodecError` (bytes that are not msgpack: its 400).

use super::detach::run_detached;
use crate::codec::{self, Feature};
use crate::wire::{self, Schema};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

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

    fn fold_msgpack<'py>(&self, py: Python<'py>, columns: &[u8]) -> PyResult<(Bound<'py, PyBytes>, u64)> {
        let folded = run_detached(py, columns.len(), || {
            wire::fold_msgpack(&self.schema, &self.template, columns)
        })?;
        Ok((PyBytes::new(py, &folded.profile), folded.rows))
    }

    /// The counts of a JSON `columns` map when the engine's strict reader accepts it; `None` leaves
    /// it to msgspec (escapes, repeated keys, anything to refuse: msgspec words the refusal).
    fn fold_json<'py>(&self, py: Python<'py>, columns: &[u8]) -> PyResult<Option<(Bound<'py, PyBytes>, u64)>> {
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
