//! Multi-feature profiles as bytes.

use super::categorical::PyCategoryCounts;
use super::errors::dtype_error;
use super::histogram::PyNumericHistogram;
use crate::codec::{self, Feature};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[pyfunction]
pub fn encode_profile<'py>(
    py: Python<'py>,
    features: Vec<(String, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(features.len());
    for (name, obj) in features {
        let f = if let Ok(h) = obj.cast::<PyNumericHistogram>() {
            Feature::Numeric(h.get().lock().clone())
        } else if let Ok(c) = obj.cast::<PyCategoryCounts>() {
            Feature::Categorical(c.get().lock().clone())
        } else {
            return Err(dtype_error(format!(
                "feature {name:?}: expected NumericHistogram or CategoryCounts"
            )));
        };
        out.push((name, f));
    }
    Ok(PyBytes::new(py, &codec::encode_profile(&out)))
}

#[pyfunction]
pub fn decode_profile<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let features = codec::decode_profile(data)?;
    features
        .into_iter()
        .map(|(name, f)| {
            let obj = match f {
                Feature::Numeric(h) => Bound::new(py, PyNumericHistogram::wrap(h))?.into_any(),
                Feature::Categorical(c) => Bound::new(py, PyCategoryCounts::wrap(c))?.into_any(),
            };
            Ok((name, obj))
        })
        .collect()
}
