//! The statistics as Python functions over small count vectors (held with the GIL: microseconds).

use super::arrays::f64_vec;
use super::histogram::PyBinEdges;
use crate::special;
use crate::stats::{self, ChiSquare};
use pyo3::prelude::*;

// Defaults are literals so Python sees them in `__text_signature__` (stubtest checks them); the
// `python_defaults_match` test in `stats.rs` pins them to `stats::DEFAULT_EPS` and `DEFAULT_MIN_EXPECTED`.

fn pair(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, Vec<f64>)> {
    Ok((f64_vec(a, "expected")?, f64_vec(b, "actual")?))
}

fn triple(c: ChiSquare) -> (f64, u64, f64) {
    (c.statistic, c.dof, c.p_value)
}

#[pyfunction]
#[pyo3(signature = (expected, actual, eps = 1e-4))]
pub fn psi(expected: &Bound<'_, PyAny>, actual: &Bound<'_, PyAny>, eps: f64) -> PyResult<f64> {
    let (e, a) = pair(expected, actual)?;
    Ok(stats::psi(&e, &a, eps)?)
}

#[pyfunction]
#[pyo3(signature = (expected, actual, eps = 1e-4))]
pub fn kl_divergence(expected: &Bound<'_, PyAny>, actual: &Bound<'_, PyAny>, eps: f64) -> PyResult<f64> {
    let (e, a) = pair(expected, actual)?;
    Ok(stats::kl_divergence(&e, &a, eps)?)
}

#[pyfunction]
pub fn js_distance(expected: &Bound<'_, PyAny>, actual: &Bound<'_, PyAny>) -> PyResult<f64> {
    let (e, a) = pair(expected, actual)?;
    Ok(stats::js_distance(&e, &a)?)
}

#[pyfunction]
pub fn hellinger(expected: &Bound<'_, PyAny>, actual: &Bound<'_, PyAny>) -> PyResult<f64> {
    let (e, a) = pair(expected, actual)?;
    Ok(stats::hellinger(&e, &a)?)
}

#[pyfunction]
pub fn wasserstein(
    positions: &Bound<'_, PyAny>,
    expected: &Bound<'_, PyAny>,
    actual: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    let x = match positions.cast::<PyBinEdges>() {
        Ok(edges) => edges.get().inner.positions(),
        Err(_) => f64_vec(positions, "positions")?,
    };
    let (e, a) = pair(expected, actual)?;
    Ok(stats::wasserstein(&x, &e, &a)?)
}

#[pyfunction]
pub fn chi_square_gof(
    observed: &Bound<'_, PyAny>,
    expected_proportions: &Bound<'_, PyAny>,
) -> PyResult<(f64, u64, f64)> {
    let (o, p) = (
        f64_vec(observed, "observed")?,
        f64_vec(expected_proportions, "expected_proportions")?,
    );
    Ok(triple(stats::chi_square_gof(&o, &p)?))
}

#[pyfunction]
pub fn chi_square_contingency(reference: &Bound<'_, PyAny>, current: &Bound<'_, PyAny>) -> PyResult<(f64, u64, f64)> {
    let (r, c) = (f64_vec(reference, "reference")?, f64_vec(current, "current")?);
    Ok(triple(stats::chi_square_contingency(&r, &c)?))
}

#[pyfunction]
#[pyo3(signature = (reference, current, min_expected = 5.0))]
pub fn chi_square_pooled(
    reference: &Bound<'_, PyAny>,
    current: &Bound<'_, PyAny>,
    min_expected: f64,
) -> PyResult<(f64, u64, f64)> {
    let (r, c) = (f64_vec(reference, "reference")?, f64_vec(current, "current")?);
    Ok(triple(stats::chi_square_pooled(&r, &c, min_expected)?))
}

#[pyfunction]
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    special::chi2_sf(x, dof)
}
