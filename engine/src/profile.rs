//! `Profile`: the counts of every feature of a baseline, in baseline order, updated by whole batches.
//!
//! A batch is a list of borrowed columns ([`Column`]); [`update_features`] counts all of them in one
//! call, on the calling thread for small batches and across columns on the engine's pool for large
//! ones. Counting happens in two phases: every categorical column is first reduced to value counts
//! (the only step that can fail: codes out of range, invalid code points), then everything is added,
//! so a batch with one bad column changes nothing. The kernels are the histogram and categorical
//! ones; this module only routes columns to them. Bytes use the codec's profile layout, so a
//! `Profile`'s bytes are what `encode_profile` writes, and [`merge_bytes`] merges two encoded
//! profiles without Python.

use crate::categorical::CategoryCounts;
use crate::codec::{self, Feature};
use crate::column::{dispatch, slot_strings};
pub use crate::column::{Codes, Column, Numbers, StrChunk};
use crate::counting::{count_codes, count_ints, count_ucs4, Code};
use crate::error::{EngineError, Result};
use crate::histogram::NumericHistogram;
pub use crate::profile_merge::{merge_all, merge_bytes};
use crate::sketch::Key;
use rayon::prelude::*;
use std::borrow::Cow;

/// Values in a batch above which columns are counted in parallel: below it, waking workers costs
/// more than the counting (the same order as `histogram::update_2d`'s threshold).
pub const PARALLEL_MIN_VALUES: usize = 1 << 18;

/// What happened to one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted into its feature.
    Counted,
    /// Values of a type the feature cannot hold (strings for a numerical feature): not counted.
    /// `missing` of them were missing anyway, so `values - missing` are invalid values.
    Invalid {
        /// Rows of the column.
        values: u64,
        /// Missing values among them.
        missing: u64,
    },
    /// Readable, but not counted: a strict update refused the batch for another column.
    Refused,
}

/// A mutable borrow of one feature's counts, wherever they live.
#[derive(Debug)]
pub enum FeatureMut<'a> {
    /// A numerical feature.
    Numeric(&'a mut NumericHistogram),
    /// A categorical feature.
    Categorical(&'a mut CategoryCounts),
}

impl Feature {
    /// A mutable borrow for [`update_features`].
    pub fn as_mut(&mut self) -> FeatureMut<'_> {
        match self {
            Feature::Numeric(h) => FeatureMut::Numeric(h),
            Feature::Categorical(c) => FeatureMut::Categorical(c),
        }
    }
}

/// A column reduced for its feature: nothing left to fail.
enum Prepared<'c, 'a> {
    Bin(&'c Numbers<'a>),
    Values(Vec<(Key, u64)>, u64),
    Borrowed(&'c [(Key, u64)], u64),
    /// Borrowed from a column already slotted, or owned (Arrow strings slotted here).
    Slotted(Cow<'c, [u64]>, Cow<'c, [(Key, u64)]>),
    Invalid(u64, u64),
}

fn codes_missing(codes: &Codes<'_>) -> u64 {
    match codes {
        Codes::Bool(_) => 0,
        Codes::Int(n) => dispatch!(n, |v| v.iter().filter(|&&c| Code::get(c) < 0).count() as u64, |_w| 0),
    }
}

fn coded_values(per_entry: Vec<u64>, missing: u64, dictionary: &[Option<Key>]) -> (Vec<(Key, u64)>, u64) {
    let mut missing = missing;
    let mut values = Vec::with_capacity(dictionary.len());
    for (k, n) in dictionary.iter().zip(per_entry) {
        match k {
            Some(k) if n > 0 => values.push((k.clone(), n)),
            Some(_) => {}
            None => missing += n,
        }
    }
    (values, missing)
}

/// Reduces `column` for its feature: `categories` is the feature's counts for a categorical one,
/// `None` for a numerical one (read only, to slot Arrow strings straight into its categories).
fn prepare<'c, 'a>(categories: Option<&CategoryCounts>, column: &'c Column<'a>) -> Result<Prepared<'c, 'a>> {
    let rows = column.len() as u64;
    Ok(match (categories, column) {
        (None, Column::Numbers(n)) => Prepared::Bin(n),
        (None, Column::Codes { codes, .. }) => Prepared::Invalid(rows, codes_missing(codes)),
        (None, Column::Ucs4(_)) => Prepared::Invalid(rows, 0),
        (None, Column::Strings(chunks)) => Prepared::Invalid(rows, chunks.iter().map(StrChunk::nulls).sum()),
        (None, Column::Counted { missing, .. }) => Prepared::Invalid(rows, *missing),
        (None, Column::Slotted { delta, .. }) => Prepared::Invalid(rows, delta.last().copied().unwrap_or(0)),
        (Some(_), Column::Numbers(n)) => {
            let ints = dispatch!(n, |v| Some(count_ints(*v)), |_w| None)
                .ok_or_else(|| EngineError::dtype("float values must be converted to integer categories first"))?;
            Prepared::Values(ints.into_iter().map(|(k, c)| (Key::Int(k), c)).collect(), 0)
        }
        (Some(_), Column::Codes { codes, dictionary }) => {
            let (per_entry, missing) = match codes {
                Codes::Bool(v) => count_codes(*v, dictionary.len())?,
                Codes::Int(n) => dispatch!(n, |v| count_codes(*v, dictionary.len())?, |_w| return Err(
                    EngineError::dtype("codes must be integers")
                )),
            };
            let (values, missing) = coded_values(per_entry, missing, dictionary);
            Prepared::Values(values, missing)
        }
        (Some(_), Column::Ucs4(rows)) => {
            let counted = count_ucs4(*rows)?;
            Prepared::Values(counted.into_iter().map(|(s, c)| (Key::Str(s.into()), c)).collect(), 0)
        }
        (Some(c), Column::Strings(chunks)) => {
            let (delta, unseen) = slot_strings(chunks, c)?;
            Prepared::Slotted(Cow::Owned(delta), Cow::Owned(unseen))
        }
        (Some(_), Column::Counted { values, missing, .. }) => Prepared::Borrowed(values, *missing),
        (Some(_), Column::Slotted { delta, unseen, .. }) => {
            Prepared::Slotted(Cow::Borrowed(delta), Cow::Borrowed(unseen))
        }
    })
}

fn apply(target: &mut FeatureMut<'_>, prepared: &Prepared<'_, '_>) -> Outcome {
    match (target, prepared) {
        (FeatureMut::Numeric(h), Prepared::Bin(n)) => {
            dispatch!(n, |v| h.update(*v), |w| h.update(*w));
            Outcome::Counted
        }
        (FeatureMut::Categorical(c), Prepared::Values(values, missing)) => {
            c.add_value_counts(values.iter().map(|(k, n)| (k.as_key_ref(), *n)), *missing);
            Outcome::Counted
        }
        (FeatureMut::Categorical(c), Prepared::Borrowed(values, missing)) => {
            c.add_value_counts(values.iter().map(|(k, n)| (k.as_key_ref(), *n)), *missing);
            Outcome::Counted
        }
        (FeatureMut::Categorical(c), Prepared::Slotted(delta, unseen)) => {
            c.add_slots(delta, unseen);
            Outcome::Counted
        }
        (_, Prepared::Invalid(values, missing)) => Outcome::Invalid {
            values: *values,
            missing: *missing,
        },
        // `prepare` matched the feature's kind, so the remaining pairs cannot occur; counting nothing
        // is the safe answer if they ever did.
        _ => Outcome::Counted,
    }
}

/// Counts `columns[i]` into `targets[i]` for every `i`, all in one call, with up to `threads` workers
/// when the batch holds at least [`PARALLEL_MIN_VALUES`] values. With `strict`, a batch with any
/// invalid column counts nothing: the invalid columns say so and the others are [`Outcome::Refused`].
///
/// Errors: the index of the first column that cannot be counted, and why; nothing is counted then.
pub fn update_features(
    targets: &mut [FeatureMut<'_>],
    columns: &[Column<'_>],
    threads: usize,
    strict: bool,
) -> std::result::Result<Vec<Outcome>, (usize, EngineError)> {
    update_batches(targets, &[columns.to_vec()], threads, strict)
}

/// [`update_features`] for several batches of the same columns (the record batches of one Arrow
/// stream): `batches[b][i]` is counted into `targets[i]`. Every column of every batch is reduced
/// before anything is added, so the whole call counts everything or (on an error, or with `strict` and
/// an invalid column) nothing.
pub fn update_batches(
    targets: &mut [FeatureMut<'_>],
    batches: &[Vec<Column<'_>>],
    threads: usize,
    strict: bool,
) -> std::result::Result<Vec<Outcome>, (usize, EngineError)> {
    if let Some(b) = batches.iter().find(|b| b.len() != targets.len()) {
        let msg = format!("{} columns for {} features", b.len(), targets.len());
        return Err((0, EngineError::invalid(msg)));
    }
    if batches.is_empty() {
        return Ok(targets.iter().map(|_| Outcome::Counted).collect());
    }
    let values: usize = batches.iter().flatten().map(Column::len).sum();
    let pool = if threads > 1 && targets.len() > 1 && values >= PARALLEL_MIN_VALUES {
        crate::parallel::pool(threads.min(targets.len()))
    } else {
        None
    };
    let parallel = pool.is_some();
    let per_target = batches.len();
    let mut run = move || {
        // Read only while the columns are reduced (Arrow strings are slotted against the categories);
        // released before anything is added.
        let kinds: Vec<Option<&CategoryCounts>> = targets
            .iter()
            .map(|t| match t {
                FeatureMut::Numeric(_) => None,
                FeatureMut::Categorical(c) => Some(&**c),
            })
            .collect();
        // Column-major and flat: target i's pieces, one per batch, are `prepared[i * per_target..]`
        // (one allocation for the batch, not one per feature).
        let prepared: Vec<Prepared<'_, '_>> = if parallel {
            // One task per column (`with_max_len(1)`): columns differ in cost by 5x (strings against
            // numbers), and rayon's default split kept the string columns, which sit together at
            // the end, on one thread (a 1M-row frame: 35 ms where the columns alone took 25).
            let nested: Vec<Vec<Prepared<'_, '_>>> = kinds
                .par_iter()
                .with_max_len(1)
                .enumerate()
                .map(|(i, &categories)| {
                    let pieces = batches.iter().filter_map(|b| b.get(i));
                    pieces.map(|c| prepare(categories, c).map_err(|e| (i, e))).collect()
                })
                .collect::<std::result::Result<_, _>>()?;
            nested.into_iter().flatten().collect()
        } else {
            let mut flat = Vec::with_capacity(kinds.len() * per_target);
            for (i, &categories) in kinds.iter().enumerate() {
                for c in batches.iter().filter_map(|b| b.get(i)) {
                    flat.push(prepare(categories, c).map_err(|e| (i, e))?);
                }
            }
            flat
        };
        drop(kinds);
        if strict && prepared.iter().any(|p| matches!(p, Prepared::Invalid(..))) {
            return Ok(prepared.chunks(per_target).map(refused).collect());
        }
        let add = |(t, ps): (&mut FeatureMut<'_>, &[Prepared<'_, '_>])| {
            ps.iter().map(|p| apply(t, p)).fold(Outcome::Counted, combine)
        };
        Ok(if parallel {
            targets
                .par_iter_mut()
                .zip(prepared.par_chunks(per_target))
                .with_max_len(1)
                .map(add)
                .collect()
        } else {
            targets.iter_mut().zip(prepared.chunks(per_target)).map(add).collect()
        })
    };
    match pool {
        Some(pool) => pool.install(run),
        None => run(),
    }
}

/// One column's outcome from its pieces' (all of one kind, as a stream has one schema).
fn combine(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Invalid { values, missing }, Outcome::Invalid { values: v, missing: m }) => Outcome::Invalid {
            values: values + v,
            missing: missing + m,
        },
        (Outcome::Invalid { values, missing }, _) | (_, Outcome::Invalid { values, missing }) => {
            Outcome::Invalid { values, missing }
        }
        (Outcome::Refused, _) | (_, Outcome::Refused) => Outcome::Refused,
        _ => Outcome::Counted,
    }
}

/// A refused column's outcome: its invalid values, or [`Outcome::Refused`].
fn refused(pieces: &[Prepared<'_, '_>]) -> Outcome {
    pieces
        .iter()
        .map(|p| match p {
            Prepared::Invalid(values, missing) => Outcome::Invalid {
                values: *values,
                missing: *missing,
            },
            _ => Outcome::Refused,
        })
        .fold(Outcome::Refused, |a, b| match (a, b) {
            (Outcome::Refused, b) => b,
            (a, Outcome::Refused) => a,
            (a, b) => combine(a, b),
        })
}

/// The counts of an ordered set of named features.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    features: Vec<(String, Feature)>,
}

impl Profile {
    /// A profile of `features`, in order; names must be unique.
    pub fn new(features: Vec<(String, Feature)>) -> Result<Self> {
        for (i, (name, _)) in features.iter().enumerate() {
            if features.iter().take(i).any(|(n, _)| n == name) {
                return Err(EngineError::invalid(format!("duplicate feature {name:?}")));
            }
        }
        Ok(Self { features })
    }

    /// The features, in order.
    pub fn features(&self) -> &[(String, Feature)] {
        &self.features
    }

    /// The features, mutably, for the byte-level merge (which keeps names and kinds).
    pub(crate) fn features_mut(&mut self) -> &mut [(String, Feature)] {
        &mut self.features
    }

    /// The position of feature `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|(n, _)| n == name)
    }

    /// The same features with every count zeroed.
    pub fn empty_like(&self) -> Self {
        let features = self
            .features
            .iter()
            .map(|(n, f)| {
                let f = match f {
                    Feature::Numeric(h) => Feature::Numeric(NumericHistogram::new(h.edges().clone())),
                    Feature::Categorical(c) => Feature::Categorical(c.empty_like()),
                };
                (n.clone(), f)
            })
            .collect();
        Self { features }
    }

    /// Counts a batch of named columns; names that are not features are skipped (`None`).
    pub fn update(&mut self, columns: &[(&str, Column<'_>)], threads: usize) -> Result<Vec<Option<Outcome>>> {
        let mut slots: Vec<Option<usize>> = Vec::with_capacity(columns.len());
        for (name, _) in columns {
            let i = self.index(name);
            if i.is_some() && slots.contains(&i) {
                return Err(EngineError::invalid(format!("feature {name:?} is given twice")));
            }
            slots.push(i);
        }
        let mut targets: Vec<(usize, FeatureMut<'_>)> = self
            .features
            .iter_mut()
            .enumerate()
            .filter_map(|(i, (_, f))| slots.contains(&Some(i)).then(|| (i, f.as_mut())))
            .collect();
        // Align the borrowed features with the column order.
        targets.sort_by_key(|(i, _)| slots.iter().position(|s| *s == Some(*i)));
        let cols: Vec<Column<'_>> = columns
            .iter()
            .zip(&slots)
            .filter(|(_, s)| s.is_some())
            .map(|((_, c), _)| c.clone())
            .collect();
        let mut targets: Vec<FeatureMut<'_>> = targets.into_iter().map(|(_, t)| t).collect();
        let outcomes = update_features(&mut targets, &cols, threads, false).map_err(|(i, e)| {
            let name = columns.iter().zip(&slots).filter(|(_, s)| s.is_some()).nth(i);
            let name = name.map_or("?", |((n, _), _)| *n);
            EngineError::prefixed(&format!("feature {name:?}"), e)
        })?;
        let mut outcomes = outcomes.into_iter();
        Ok(slots.iter().map(|s| s.and_then(|_| outcomes.next())).collect())
    }

    /// Adds `other`'s counts feature by feature (matched by name); features only `other` has are
    /// appended, so merging partials that saw different columns keeps every feature. Nothing changes
    /// if any feature differs in kind, edges or categories.
    pub fn merge(&mut self, other: &Profile) -> Result<()> {
        // Check every feature before changing any, so a mismatch leaves `self` as it was without the
        // copy of the whole profile per merge that merging a clone would cost (merge_all of a group
        // commit merges hundreds). Names are unique in a profile, so an appended feature is never
        // merged into later in the same call.
        for (name, theirs) in &other.features {
            if let Some((_, mine)) = self.index(name).and_then(|i| self.features.get(i)) {
                check_feature(name, mine, theirs)?;
            }
        }
        for (name, theirs) in &other.features {
            match self.index(name).and_then(|i| self.features.get_mut(i)) {
                Some((_, mine)) => merge_feature(name, mine, theirs)?,
                None => self.features.push((name.clone(), theirs.clone())),
            }
        }
        Ok(())
    }

    /// The codec's profile bytes (what `encode_profile` writes).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode_profile(&self.features)
    }

    /// Reads [`Profile::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            features: codec::decode_profile(bytes)?,
        })
    }
}

fn check_feature(name: &str, mine: &Feature, theirs: &Feature) -> Result<()> {
    let r = match (mine, theirs) {
        (Feature::Numeric(a), Feature::Numeric(b)) => a.check_mergeable(b),
        (Feature::Categorical(a), Feature::Categorical(b)) => a.check_mergeable(b),
        _ => {
            return Err(EngineError::mismatch(format!(
                "feature {name:?} is numerical in one profile, categorical in another"
            )))
        }
    };
    r.map_err(|e| EngineError::prefixed(&format!("feature {name:?}"), e))
}

fn merge_feature(name: &str, mine: &mut Feature, theirs: &Feature) -> Result<()> {
    let r = match (mine, theirs) {
        (Feature::Numeric(a), Feature::Numeric(b)) => a.merge(b),
        (Feature::Categorical(a), Feature::Categorical(b)) => a.merge(b),
        _ => {
            return Err(EngineError::mismatch(format!(
                "feature {name:?} is numerical in one profile, categorical in another"
            )))
        }
    };
    r.map_err(|e| EngineError::prefixed(&format!("feature {name:?}"), e))
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
