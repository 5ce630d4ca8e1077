//! 2-D numeric blocks for `Profile.update`: a pandas frame keeps its columns of one dtype as the rows
//! of one 2-D array, so handing over the block (with each row's column name) borrows every such
//! column in one extraction, where a view per column cost Python and the binding a call each.

use super::arrays::{numeric2, Numeric2};
use super::errors::input_error;
use super::profile::PyProfile;
use crate::column::Numbers;
use ndarray::Axis;
use pyo3::prelude::*;

/// A borrowed block and the feature (if any) of each of its rows.
pub(super) struct HeldBlock<'py> {
    array: Numeric2<'py>,
    features: Vec<Option<(usize, bool)>>,
}

/// Borrows `array` (rows x values) whose row `r` is column `names[r]`.
pub(super) fn hold_block<'py>(
    profile: &PyProfile,
    array: &Bound<'py, PyAny>,
    names: &[String],
) -> PyResult<HeldBlock<'py>> {
    let held = numeric2(array, "blocks")?;
    let rows = super::arrays::with_view!(&held, Numeric2, |v| v.nrows());
    if rows != names.len() {
        return Err(input_error(format!(
            "blocks: a block of {rows} columns with {} names",
            names.len()
        )));
    }
    Ok(HeldBlock {
        array: held,
        features: names.iter().map(|n| profile.feature(n)).collect(),
    })
}

/// The block's rows that are features, as columns of numbers; float rows of a categorical feature
/// (which the per-feature path converts to integer categories first) are added to `skipped`, by the
/// name `features` (the profile's feature names) gives them.
pub(super) fn rows<'a>(
    block: &'a HeldBlock<'_>,
    features: &[String],
    skipped: &mut Vec<String>,
) -> Vec<(usize, Numbers<'a>)> {
    let floats = matches!(block.array, Numeric2::F64(_) | Numeric2::F32(_));
    let mut out = Vec::with_capacity(block.features.len());
    for (r, feature) in block.features.iter().enumerate() {
        let Some((i, numeric)) = *feature else { continue };
        if floats && !numeric {
            skipped.extend(features.get(i).cloned());
            continue;
        }
        out.push((i, row(&block.array, r)));
    }
    out
}

/// Row `r` (checked by the caller) as a view of the block.
fn row<'a>(array: &'a Numeric2<'_>, r: usize) -> Numbers<'a> {
    match array {
        Numeric2::F64(a) => Numbers::F64(a.as_array().index_axis_move(Axis(0), r)),
        Numeric2::F32(a) => Numbers::F32(a.as_array().index_axis_move(Axis(0), r)),
        Numeric2::I64(a) => Numbers::I64(a.as_array().index_axis_move(Axis(0), r)),
        Numeric2::I32(a) => Numbers::I32(a.as_array().index_axis_move(Axis(0), r)),
    }
}
