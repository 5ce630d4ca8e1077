//! Ingest bodies read straight into counts: the `columns` map of a service ingest body (msgpack) is
//! parsed, checked and counted into a fresh profile in one pass of Rust, with no Python object per
//! value.
//!
//! [`msgpack::read_columns`] reads the map into borrowed columns ([`Batch`]) against a [`Schema`]
//! built once per baseline; [`fold`] applies the service's batch rules (equal lengths, row and
//! category limits, byte counts, the baseline's label domain) in the service's order, and counts
//! every column into a copy of an empty profile. Errors are [`EngineError::Invalid`] (a 422 naming
//! the column and the problem) or [`EngineError::Codec`] (bytes that are not msgpack: a 400).

mod fold;
pub mod json;
pub mod msgpack;

pub use fold::{fold, fold_json, fold_msgpack, Folded};

use crate::codec::Feature;
use hashbrown::HashMap;
use std::borrow::Cow;

/// One feature as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFeature {
    /// The feature's name (a column name of the body).
    pub name: String,
    /// Numerical (numbers) rather than categorical (labels).
    pub numeric: bool,
    /// A categorical feature whose baseline categories are integers: labels are read as integers.
    pub int_labels: bool,
}

/// The columns a body may hold, their kinds and the batch limits, built once per baseline.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The features, in baseline order.
    pub features: Vec<WireFeature>,
    /// Most rows in a batch (also the longest list accepted).
    pub max_rows: usize,
    /// Most distinct labels a batch may bring per categorical column.
    pub max_categories: usize,
    index: HashMap<String, usize>,
}

impl Schema {
    /// A schema of `features` in baseline order.
    pub fn new(features: Vec<WireFeature>, max_rows: usize, max_categories: usize) -> Self {
        let index = features.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
        Self {
            features,
            max_rows,
            max_categories,
            index,
        }
    }

    /// The schema of an empty profile's features; `int_labels` names the integer-labelled ones.
    pub fn of_profile(
        template: &[(String, Feature)],
        int_labels: &[String],
        max_rows: usize,
        max_categories: usize,
    ) -> Self {
        let features = template
            .iter()
            .map(|(name, f)| WireFeature {
                name: name.clone(),
                numeric: matches!(f, Feature::Numeric(_)),
                int_labels: int_labels.contains(name),
            })
            .collect();
        Self::new(features, max_rows, max_categories)
    }

    /// The position of column `name`, if it is a feature.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// A label as sent: a string, an integer (any msgpack integer) or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label<'a> {
    /// A string label.
    Str(&'a str),
    /// An integer label (the whole msgpack range, `i64::MIN..=u64::MAX`).
    Int(i128),
    /// `null`.
    Missing,
}

/// The dtypes a binary number column may declare, as both wire formats spell them.
const NUMBER_DTYPES: &[(&str, Dtype)] = &[
    ("<f8", Dtype::F8),
    ("<f4", Dtype::F4),
    ("<i8", Dtype::I8),
    ("<i4", Dtype::I4),
];
/// The dtypes a binary code column may declare.
const CODE_DTYPES: &[(&str, Dtype)] = &[
    ("<i8", Dtype::I8),
    ("<i4", Dtype::I4),
    ("<i2", Dtype::I2),
    ("|i1", Dtype::I1),
];

/// The dtype of a binary column (little-endian, as numpy spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f8`.
    F8,
    /// `<f4`.
    F4,
    /// `<i8`.
    I8,
    /// `<i4`.
    I4,
    /// `<i2`.
    I2,
    /// `|i1`.
    I1,
}

impl Dtype {
    /// Bytes per value.
    pub fn itemsize(self) -> usize {
        match self {
            Dtype::F8 | Dtype::I8 => 8,
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::I2 => 2,
            Dtype::I1 => 1,
        }
    }
    /// numpy's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F8 => "<f8",
            Dtype::F4 => "<f4",
            Dtype::I8 => "<i8",
            Dtype::I4 => "<i4",
            Dtype::I2 => "<i2",
            Dtype::I1 => "|i1",
        }
    }
}

/// `{dtype, data}`: raw little-endian values, borrowed from a msgpack body (bin) or decoded from a
/// JSON one (base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBytes<'a> {
    /// Their dtype.
    pub dtype: Dtype,
    /// Their bytes (any alignment).
    pub data: Cow<'a, [u8]>,
}

impl RawBytes<'_> {
    /// Whole values in the bytes.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.itemsize()
    }
    /// Whether there is no whole value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The codes of a coded column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawCodes<'a> {
    /// A list of integers.
    List(Vec<i128>),
    /// Binary codes.
    Raw(RawBytes<'a>),
}

/// One column of a body, read but not yet checked against the batch rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Col<'a> {
    /// A list of numbers (`null` read as NaN).
    Numbers(Vec<f64>),
    /// Binary numbers.
    RawNumbers(RawBytes<'a>),
    /// A list of labels.
    Labels(Vec<Label<'a>>),
    /// A dictionary and codes into it (negative = missing).
    Coded {
        /// The dictionary.
        categories: Vec<Label<'a>>,
        /// The codes.
        codes: RawCodes<'a>,
    },
}

impl Col<'_> {
    /// Rows, as the service counts them (whole values of binary data).
    pub fn len(&self) -> usize {
        match self {
            Col::Numbers(v) => v.len(),
            Col::RawNumbers(r) => r.len(),
            Col::Labels(v) => v.len(),
            Col::Coded {
                codes: RawCodes::List(v),
                ..
            } => v.len(),
            Col::Coded {
                codes: RawCodes::Raw(r),
                ..
            } => r.len(),
        }
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The columns of a body in baseline feature order (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<'a> {
    /// One slot per feature.
    pub columns: Vec<Option<Col<'a>>>,
}

#[cfg(test)]
mod tests;
