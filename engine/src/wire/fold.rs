//! A read batch checked and counted: the service's batch rules, then one update per feature.
//!
//! The checks run in the order of the service's Python path (`mlmon.service.ingest.count.fold`) so a
//! body with several problems is refused for the same one: row counts first, then the category
//! limit, then each column in baseline order (byte counts, codes, labels outside int64).

use super::{json, msgpack, Batch, Col, Dtype, Label, RawBytes, RawCodes, Schema};
use crate::codec::{self, Feature};
use crate::column::{Codes, Column, Numbers};
use crate::error::{EngineError, Result};
use crate::profile::update_features;
use crate::sketch::Key;
use hashbrown::{HashMap, HashSet};
use ndarray::ArrayView1;

/// One batch's counts: the encoded profile of its rows and how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// The codec bytes of the batch's profile (what `encode_profile` writes).
    pub profile: Vec<u8>,
    /// Rows in the batch.
    pub rows: u64,
}

/// Reads a msgpack `columns` map against `schema` and counts it into a copy of `template` (an empty
/// profile of the same features): [`msgpack::read_columns`] then [`fold`].
///
/// Errors: as those two.
pub fn fold_msgpack(schema: &Schema, template: &[(String, Feature)], body: &[u8]) -> Result<Folded> {
    let batch = msgpack::read_columns(schema, body)?;
    fold(schema, template, batch)
}

/// Reads a JSON `columns` map against `schema` and counts it into a copy of `template`, when the
/// strict JSON reader accepts it ([`json::read_columns`]); `Ok(None)` when it does not, and the
/// caller's general decoder decides.
///
/// Errors: as [`fold`] (the batch rules).
pub fn fold_json(schema: &Schema, template: &[(String, Feature)], body: &[u8]) -> Result<Option<Folded>> {
    match json::read_columns(schema, body) {
        Some(batch) => fold(schema, template, batch).map(Some),
        None => Ok(None),
    }
}

fn column_error(name: &str, msg: impl std::fmt::Display) -> EngineError {
    EngineError::invalid(format!("column '{name}': {msg}"))
}

/// `n` with thousands separators, as Python's `{n:,}`.
fn commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn row_count(schema: &Schema, batch: &Batch<'_>) -> Result<usize> {
    let mut rows: Option<usize> = None;
    for (f, col) in schema.features.iter().zip(&batch.columns) {
        let Some(col) = col else { continue };
        let n = col.len();
        match rows {
            None => rows = Some(n),
            Some(r) if r != n => {
                return Err(EngineError::invalid(format!(
                    "column '{}' has {n} rows, other columns have {r}",
                    f.name
                )))
            }
            Some(_) => {}
        }
    }
    let rows = rows.ok_or_else(|| EngineError::invalid("columns: the batch has none of the model's features"))?;
    if rows == 0 {
        return Err(EngineError::invalid("the batch has no rows"));
    }
    if rows > schema.max_rows {
        let limit = schema.max_rows;
        return Err(EngineError::invalid(format!(
            "the batch has {rows} rows, more than the limit of {limit}"
        )));
    }
    Ok(rows)
}

/// Refuses more distinct labels in a categorical column than the limit, before any per-category
/// state exists (a dictionary longer than the limit, or a list of more distinct values; only a list
/// longer than the limit is counted).
fn check_categories(schema: &Schema, batch: &Batch<'_>) -> Result<()> {
    let limit = schema.max_categories;
    for (f, col) in schema.features.iter().zip(&batch.columns) {
        let (distinct, what) = match col {
            Some(Col::Coded { categories, .. }) if categories.len() > limit => (categories.len(), "a dictionary of "),
            Some(Col::Labels(labels)) if labels.len() > limit => {
                let set: HashSet<&Label<'_>> = labels.iter().filter(|l| **l != Label::Missing).collect();
                (set.len(), "")
            }
            _ => continue,
        };
        if distinct > limit {
            return Err(EngineError::invalid(format!(
                "column '{}': {what}{} distinct categories, more than the limit of {} per batch \
                 (MLMON_MAX_CATEGORIES)",
                f.name,
                commas(distinct),
                commas(limit)
            )));
        }
    }
    Ok(())
}

/// Numbers owned in their dtype (binary data is copied out: it has any alignment in the body).
enum Owned {
    F64(Vec<f64>),
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I16(Vec<i16>),
    I8(Vec<i8>),
}

impl Owned {
    fn view(&self) -> Numbers<'_> {
        match self {
            Owned::F64(v) => Numbers::F64(ArrayView1::from(v.as_slice())),
            Owned::F32(v) => Numbers::F32(ArrayView1::from(v.as_slice())),
            Owned::I64(v) => Numbers::I64(ArrayView1::from(v.as_slice())),
            Owned::I32(v) => Numbers::I32(ArrayView1::from(v.as_slice())),
            Owned::I16(v) => Numbers::I16(ArrayView1::from(v.as_slice())),
            Owned::I8(v) => Numbers::I8(ArrayView1::from(v.as_slice())),
        }
    }
}

fn decode<const N: usize, T>(data: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    data.chunks_exact(N)
        .map(|c| f(<[u8; N]>::try_from(c).unwrap_or([0; N])))
        .collect()
}

fn owned(raw: &RawBytes<'_>) -> Owned {
    match raw.dtype {
        Dtype::F8 => Owned::F64(decode(&raw.data, f64::from_le_bytes)),
        Dtype::F4 => Owned::F32(decode(&raw.data, f32::from_le_bytes)),
        Dtype::I8 => Owned::I64(decode(&raw.data, i64::from_le_bytes)),
        Dtype::I4 => Owned::I32(decode(&raw.data, i32::from_le_bytes)),
        Dtype::I2 => Owned::I16(decode(&raw.data, i16::from_le_bytes)),
        Dtype::I1 => Owned::I8(decode(&raw.data, i8::from_le_bytes)),
    }
}

/// What one feature counts: numbers, codes into a dictionary, or values already counted.
enum Prepared {
    Numbers(Owned),
    Codes(Owned, Vec<Option<Key>>),
    Counted(Vec<(Key, u64)>, u64),
}

fn out_of_range(what: &str) -> String {
    format!("{what}: integer category out of int64 range")
}

/// A canonical integer spelling (`0`, `7`, `-7`; not `07`, `+7`, `-0`): its value, `Err` when it is one
/// but outside int64, `None` when the label is no such spelling.
fn canonical_int(s: &str) -> Option<std::result::Result<i64, ()>> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && digits.len() == s.len() || !digits.starts_with('0'));
    canonical.then(|| s.parse::<i64>().map_err(|_| ()))
}

/// A label in the baseline's domain (`mlmon.Baseline.labels_in_domain`): canonical integer strings
/// become integers for an integer-labelled feature, integers become strings for any other.
fn in_domain(label: &Label<'_>, ints: bool, what: &str) -> std::result::Result<Option<Key>, String> {
    let int = |v: i128| i64::try_from(v).map(Key::Int).map_err(|_| out_of_range(what));
    Ok(match *label {
        Label::Missing => None,
        Label::Str(s) if ints => match canonical_int(s) {
            Some(Ok(v)) => Some(Key::Int(v)),
            Some(Err(())) => return Err(out_of_range(what)),
            None => Some(Key::Str(s.into())),
        },
        Label::Str(s) => Some(Key::Str(s.into())),
        Label::Int(v) if ints => Some(int(v)?),
        Label::Int(v) => Some(Key::Str(v.to_string().into())),
    })
}

fn count_labels(labels: &[Label<'_>], ints: bool) -> std::result::Result<(Vec<(Key, u64)>, u64), String> {
    // Distinct labels as sent first (a borrowed probe per row), then each one converted once.
    let mut raw: HashMap<&Label<'_>, u64> = HashMap::new();
    for l in labels {
        *raw.entry(l).or_insert(0) += 1;
    }
    let mut keys: HashMap<Key, u64> = HashMap::with_capacity(raw.len());
    let mut missing = 0u64;
    for (l, n) in raw {
        match in_domain(l, ints, "values")? {
            Some(k) => *keys.entry(k).or_insert(0) += n,
            None => missing += n,
        }
    }
    Ok((keys.into_iter().collect(), missing))
}

fn code_list(codes: &[i128]) -> std::result::Result<Owned, String> {
    let v: Option<Vec<i64>> = codes.iter().map(|&c| i64::try_from(c).ok()).collect();
    v.map(Owned::I64)
        .ok_or_else(|| "a code does not fit in 64 bits".to_string())
}

fn prepare(schema: &Schema, i: usize, col: Option<Col<'_>>, rows: usize) -> std::result::Result<Prepared, String> {
    let (numeric, ints) = schema
        .features
        .get(i)
        .map_or((true, false), |f| (f.numeric, f.int_labels));
    Ok(match col {
        None if numeric => Prepared::Numbers(Owned::F64(vec![f64::NAN; rows])),
        None => Prepared::Counted(Vec::new(), rows as u64),
        Some(Col::Numbers(v)) => Prepared::Numbers(Owned::F64(v)),
        Some(Col::RawNumbers(raw)) => {
            let (len, size) = (raw.data.len(), raw.dtype.itemsize());
            if len % size != 0 {
                return Err(format!(
                    "{len} bytes is not a multiple of {size} ({})",
                    raw.dtype.name()
                ));
            }
            Prepared::Numbers(owned(&raw))
        }
        Some(Col::Labels(labels)) => {
            let (values, missing) = count_labels(&labels, ints)?;
            Prepared::Counted(values, missing)
        }
        Some(Col::Coded { categories, codes }) => {
            let codes = match codes {
                RawCodes::Raw(raw) if raw.data.len() % raw.dtype.itemsize() != 0 => {
                    return Err(format!(
                        "codes of {} bytes are not {}",
                        raw.data.len(),
                        raw.dtype.name()
                    ))
                }
                RawCodes::Raw(raw) => owned(&raw),
                RawCodes::List(list) => code_list(&list)?,
            };
            let dictionary = categories
                .iter()
                .map(|l| in_domain(l, ints, "categories"))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Prepared::Codes(codes, dictionary)
        }
    })
}

fn count_into(feature: &mut Feature, prepared: &Prepared, rows: usize) -> Result<()> {
    let column = match prepared {
        Prepared::Numbers(n) => Column::Numbers(n.view()),
        Prepared::Codes(codes, dictionary) => Column::Codes {
            codes: Codes::Int(codes.view()),
            dictionary: dictionary.clone(),
        },
        Prepared::Counted(values, missing) => Column::Counted {
            values,
            missing: *missing,
            rows: rows as u64,
        },
    };
    update_features(&mut [feature.as_mut()], &[column], 1, false)
        .map(|_| ())
        .map_err(|(_, e)| e)
}

/// Checks a read batch against the service's batch rules and counts it into a copy of `template`
/// (an empty profile of `schema`'s features, in the same order).
///
/// Errors: [`EngineError::Invalid`] naming the column and the problem (unequal lengths, no rows, too
/// many rows or categories, odd byte counts, codes out of range, integer labels outside int64).
pub fn fold(schema: &Schema, template: &[(String, Feature)], batch: Batch<'_>) -> Result<Folded> {
    if template.len() != schema.features.len() {
        return Err(EngineError::invalid(
            "the profile and the schema have different features",
        ));
    }
    let rows = row_count(schema, &batch)?;
    check_categories(schema, &batch)?;
    let mut features = template.to_vec();
    for (i, ((name, feature), col)) in features.iter_mut().zip(batch.columns).enumerate() {
        let prepared = prepare(schema, i, col, rows).map_err(|m| column_error(name, m))?;
        count_into(feature, &prepared, rows).map_err(|e| column_error(name, e))?;
    }
    Ok(Folded {
        profile: codec::encode_profile(&features),
        rows: rows as u64,
    })
}
