//! The `mlmon._engine` extension module: the only code that knows Python exists. Each binding
//! borrows its arrays with the GIL held, checks dtype and shape, runs the pure-Rust kernel through
//! `run_detached`, then builds its result.

mod arrays;
mod arrow_chunks;
mod arrow_column;
mod arrow_stream;
mod blocks;
mod categorical;
mod codec;
mod detach;
mod errors;
mod held;
mod histogram;
mod object_cache;
mod profile;
mod profile_dict;
mod sketch;
mod stats;
mod values;
mod wire;

use pyo3::prelude::*;

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FORMAT_VERSION", crate::codec::FORMAT_VERSION)?;
    m.add("DEFAULT_EPS", crate::stats::DEFAULT_EPS)?;
    m.add("SIMD", simd_level())?;
    m.add_class::<histogram::PyBinEdges>()?;
    m.add_class::<histogram::PyNumericHistogram>()?;
    m.add_class::<categorical::PyCategoryCounts>()?;
    m.add_class::<sketch::PyQuantileSketch>()?;
    m.add_class::<profile::PyProfile>()?;
    m.add_class::<wire::PyIngestReader>()?;
    m.add_function(wrap_pyfunction!(histogram::update_2d, m)?)?;
    m.add_function(wrap_pyfunction!(histogram::fit_numeric, m)?)?;
    m.add_function(wrap_pyfunction!(stats::psi, m)?)?;
    m.add_function(wrap_pyfunction!(stats::kl_divergence, m)?)?;
    m.add_function(wrap_pyfunction!(stats::js_distance, m)?)?;
    m.add_function(wrap_pyfunction!(stats::hellinger, m)?)?;
    m.add_function(wrap_pyfunction!(stats::wasserstein, m)?)?;
    m.add_function(wrap_pyfunction!(stats::chi_square_gof, m)?)?;
    m.add_function(wrap_pyfunction!(stats::chi_square_contingency, m)?)?;
    m.add_function(wrap_pyfunction!(stats::chi_square_pooled, m)?)?;
    m.add_function(wrap_pyfunction!(stats::chi2_sf, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_profile, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_profile, m)?)?;
    Ok(())
}

/// Which kernel build the runtime dispatch picks on this CPU (reported by benchmarks).
fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    "baseline"
}
