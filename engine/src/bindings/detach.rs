//! `run_detached`: the one place the GIL is released.

use super::errors::internal_error;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Below this many values the kernel is faster than dropping and retaking the GIL (CPython's
/// `HASHLIB_GIL_MINSIZE` is the same order, as in blake3-py).
pub const GIL_MINSIZE: usize = 4096;

/// Runs `f` with the GIL released when `n` is large enough, turning a panic into a clean `MlmonError`
/// (PyO3's `PanicException` derives from `BaseException`, which `except Exception` would not catch).
/// Errors are converted to Python exceptions only after the GIL is held again.
pub fn run_detached<T: Send, E: Send + Into<PyErr>>(
    py: Python<'_>,
    n: usize,
    f: impl FnOnce() -> Result<T, E> + Send,
) -> PyResult<T> {
    let guarded = move || catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(p.as_ref()));
    let out = if n < GIL_MINSIZE { guarded() } else { py.detach(guarded) };
    match out {
        Ok(r) => r.map_err(Into::into),
        Err(msg) => Err(internal_error(format!("internal error in the engine: {msg}"))),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}
