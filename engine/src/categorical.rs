//! `CategoryCounts`: exact counts of a categorical feature against the reference's categories.
//!
//! Reference categories get dense ids. Production values map to their id, to `other` (a reference
//! category folded away because the reference had more than `max_categories`), or to `unseen`; missing
//! values get their own slot. Updates arrive as value counts (see [`crate::counting`]), so each distinct
//! value of a batch is looked up once. The most frequent unseen values are kept in a bounded
//! Space-Saving sketch so a report can name them.

use crate::counting::ByteCounts;
use crate::error::{EngineError, Result};
use crate::short_index::ShortIndex;
use crate::sketch::{Bloom, Key, TopK};
use hashbrown::HashMap;
use std::sync::{Arc, OnceLock};

/// Default cap on the categories kept exactly per feature.
pub const DEFAULT_MAX_CATEGORIES: usize = 10_000;
/// Default number of unseen values tracked.
pub const DEFAULT_TOP_K: usize = 20;

/// A borrowed category value, for lookups without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// A string value.
    Str(&'a str),
    /// An integer value.
    Int(i64),
}

impl KeyRef<'_> {
    /// The owned form.
    pub fn to_key(self) -> Key {
        match self {
            Self::Str(s) => Key::Str(s.into()),
            Self::Int(i) => Key::Int(i),
        }
    }
}

impl Key {
    /// A borrowed view of the value, for lookups.
    pub fn as_key_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Str(s) => KeyRef::Str(s),
            Key::Int(i) => KeyRef::Int(*i),
        }
    }
}

/// A [`ShortIndex`] built on first use; a clone made after that shares it. A window's counts are
/// cloned from a baseline profile that is never updated itself, so each window builds its own on its
/// first Arrow string update (O(categories)). It is derived from the categories, so it takes no part
/// in equality.
#[derive(Clone, Default)]
struct LazyIndex(OnceLock<Arc<ShortIndex>>);

impl PartialEq for LazyIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for LazyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "ShortIndex(built)"
        } else {
            "ShortIndex(lazy)"
        })
    }
}

/// Counts of one categorical feature.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCounts {
    categories: Vec<Key>,
    strs: HashMap<Box<str>, u32>,
    /// The string categories of up to 15 bytes by their packed key ([`ByteCounts::short_key`]): Arrow
    /// strings are looked up by one u128 probe, without building a `str` or checking UTF-8 (a category
    /// is valid UTF-8, so bytes equal to one are too). Built on first use ([`Self::short_index`]).
    short: LazyIndex,
    ints: HashMap<i64, u32>,
    /// Per category, then `other`, `unseen`, `missing`.
    counts: Vec<u64>,
    folded: Option<Bloom>,
    cardinality: u64,
    top_unseen: TopK,
}

impl CategoryCounts {
    /// Fits on reference value counts: the `max_categories` most frequent values (ties broken by value)
    /// become the categories; the rest are folded into `other`. The reference counts are kept.
    pub fn fit(values: Vec<(Key, u64)>, missing: u64, max_categories: usize, top_k: usize) -> Result<Self> {
        let mut values: Vec<(Key, u64)> = values.into_iter().filter(|(_, n)| *n > 0).collect();
        if values.is_empty() {
            let what = if missing == 0 {
                "reference is empty"
            } else {
                "reference has only missing values"
            };
            return Err(EngineError::invalid(format!("{what}: cannot fit categories")));
        }
        if max_categories == 0 {
            return Err(EngineError::invalid("max_categories must be at least 1"));
        }
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let cardinality = values.len() as u64;
        let tail = values.split_off(values.len().min(max_categories));
        let folded = (!tail.is_empty()).then(|| {
            let mut bloom = Bloom::with_items(tail.len());
            tail.iter().for_each(|(k, _)| bloom.insert(k));
            bloom
        });
        let other: u64 = tail.iter().map(|(_, n)| n).sum();
        let mut counts: Vec<u64> = values.iter().map(|(_, n)| *n).collect();
        counts.extend([other, 0, missing]);
        let categories: Vec<Key> = values.into_iter().map(|(k, _)| k).collect();
        Self::from_parts(categories, counts, folded, cardinality, TopK::new(top_k))
    }

    /// Rebuilds from parts (the codec's constructor), validating them.
    pub fn from_parts(
        categories: Vec<Key>,
        counts: Vec<u64>,
        folded: Option<Bloom>,
        cardinality: u64,
        top_unseen: TopK,
    ) -> Result<Self> {
        if counts.len() != categories.len() + 3 {
            return Err(EngineError::invalid(format!(
                "expected {} counts for {} categories, got {}",
                categories.len() + 3,
                categories.len(),
                counts.len()
            )));
        }
        let mut strs = HashMap::new();
        let mut ints = HashMap::new();
        for (i, k) in categories.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| EngineError::invalid("too many categories"))?;
            let fresh = match k {
                Key::Str(s) => strs.insert(s.clone(), id).is_none(),
                Key::Int(v) => ints.insert(*v, id).is_none(),
            };
            if !fresh {
                return Err(EngineError::invalid(format!("duplicate category {k:?}")));
            }
        }
        if counts.iter().try_fold(0u64, |a, &c| a.checked_add(c)).is_none() {
            return Err(EngineError::invalid("counts overflow u64"));
        }
        Ok(Self {
            categories,
            strs,
            short: LazyIndex::default(),
            ints,
            counts,
            folded,
            cardinality,
            top_unseen,
        })
    }

    /// The same categories with zero counts and an empty unseen sketch.
    pub fn empty_like(&self) -> Self {
        let mut c = self.clone();
        c.reset();
        c
    }

    /// Zeroes the counts and the unseen sketch.
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.top_unseen = TopK::new(self.top_unseen.capacity());
    }

    /// The slot `v` counts in: its category, else `other` (folded), else `unseen` (see
    /// [`Self::raw_counts`] for the order).
    pub fn slot(&self, v: KeyRef<'_>) -> usize {
        let n = self.categories.len();
        let id = match v {
            KeyRef::Str(s) => self.strs.get(s),
            KeyRef::Int(i) => self.ints.get(&i),
        };
        match id {
            Some(&id) => id as usize,
            None if self.folded.as_ref().is_some_and(|b| b.contains(&v.to_key())) => n,
            None => n + 1,
        }
    }

    /// Adds a batch already reduced to slots ([`Self::slot`]; the last slot is missing) and its distinct
    /// unseen values: the same counts and sketch as [`Self::add_value_counts`] of the same batch.
    pub fn add_slots(&mut self, delta: &[u64], unseen: &[(Key, u64)]) {
        self.add_delta(delta, unseen.to_vec());
    }

    fn add_delta(&mut self, delta: &[u64], mut unseen: Vec<(Key, u64)>) {
        for (c, d) in self.counts.iter_mut().zip(delta) {
            *c = c.saturating_add(*d);
        }
        // Largest first, so that the sketch's replacements favour the heavy values of this batch; ties
        // by value, so that the sketch does not depend on the order the batch was counted in (hash
        // order, seeded per map).
        unseen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (k, n) in unseen {
            self.top_unseen.add(k, n);
        }
    }

    /// Adds a batch given as distinct values with counts, plus its missing count.
    pub fn add_value_counts<'a>(&mut self, values: impl IntoIterator<Item = (KeyRef<'a>, u64)>, missing: u64) {
        let mut delta = vec![0u64; self.counts.len()];
        let mut unseen: Vec<(Key, u64)> = Vec::new();
        self.tally(values, &mut delta, &mut unseen);
        if let Some(m) = delta.last_mut() {
            *m = m.saturating_add(missing);
        }
        self.add_delta(&delta, unseen);
    }

    /// Adds distinct values with counts to `delta` (a count per slot, see [`Self::raw_counts`]) and
    /// the unseen ones to `unseen`; changes nothing in `self`.
    pub fn tally<'a>(
        &self,
        values: impl IntoIterator<Item = (KeyRef<'a>, u64)>,
        delta: &mut [u64],
        unseen: &mut Vec<(Key, u64)>,
    ) {
        let unseen_slot = self.categories.len() + 1;
        for (v, n) in values {
            let s = self.slot(v);
            if let Some(d) = delta.get_mut(s) {
                *d = d.saturating_add(n);
            }
            if s == unseen_slot {
                unseen.push((v.to_key(), n));
            }
        }
    }

    /// The string categories of up to 15 bytes by their packed key ([`ByteCounts::short_key`]), built
    /// on first use: only Arrow string columns need it, and a profile decoded to be merged or read
    /// never does.
    pub fn short_index(&self) -> &ShortIndex {
        self.short.0.get_or_init(|| {
            let entries: Vec<(u128, u32)> = self
                .categories
                .iter()
                .enumerate()
                .filter_map(|(i, k)| match k {
                    Key::Str(s) => Some((ByteCounts::short_key(s.as_bytes())?, u32::try_from(i).ok()?)),
                    Key::Int(_) => None,
                })
                .collect();
            Arc::new(ShortIndex::new(&entries))
        })
    }

    /// Whether `other` can be merged into `self` (the same categories and folded set); changes nothing.
    pub fn check_mergeable(&self, other: &Self) -> Result<()> {
        if self.categories != other.categories || self.folded != other.folded {
            return Err(EngineError::mismatch(format!(
                "cannot merge category counts with different categories ({} vs {})",
                self.categories.len(),
                other.categories.len()
            )));
        }
        Ok(())
    }

    /// Adds `other`'s counts; both must have the same categories in the same order.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        self.check_mergeable(other)?;
        for (c, n) in self.counts.iter_mut().zip(&other.counts) {
            *c = c.saturating_add(*n);
        }
        self.top_unseen.merge(&other.top_unseen);
        Ok(())
    }

    /// Adds raw slot counts (the codec's order) and an unseen sketch, saturating like [`Self::merge`];
    /// for the byte-level merge, which has matched the categories already.
    pub(crate) fn add_raw(&mut self, counts: impl IntoIterator<Item = u64>, unseen: Option<&TopK>) {
        for (c, n) in self.counts.iter_mut().zip(counts) {
            *c = c.saturating_add(n);
        }
        if let Some(top) = unseen {
            self.top_unseen.merge(top);
        }
    }

    /// Reference categories, by descending reference frequency.
    pub fn categories(&self) -> &[Key] {
        &self.categories
    }
    /// Count per category.
    pub fn category_counts(&self) -> &[u64] {
        self.counts.get(..self.categories.len()).unwrap_or(&[])
    }
    /// Counts per category, then `other`, then `unseen`: the distribution the statistics compare.
    pub fn distribution(&self) -> &[u64] {
        self.counts.get(..self.categories.len() + 2).unwrap_or(&[])
    }
    /// All slots: categories, other, unseen, missing (the codec's view).
    pub fn raw_counts(&self) -> &[u64] {
        &self.counts
    }
    fn tail(&self, back: usize) -> u64 {
        self.counts
            .len()
            .checked_sub(back)
            .and_then(|i| self.counts.get(i))
            .copied()
            .unwrap_or(0)
    }
    /// Values of folded reference categories.
    pub fn other(&self) -> u64 {
        self.tail(3)
    }
    /// Values not in the reference.
    pub fn unseen(&self) -> u64 {
        self.tail(2)
    }
    /// Missing values (None / null / NaN).
    pub fn missing(&self) -> u64 {
        self.tail(1)
    }
    /// All values, missing included.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }
    /// Distinct non-missing values in the reference (exact, counted at fit time).
    pub fn cardinality(&self) -> u64 {
        self.cardinality
    }
    /// The filter of folded categories, if any were folded.
    pub fn folded(&self) -> Option<&Bloom> {
        self.folded.as_ref()
    }
    /// The unseen-values sketch.
    pub fn top_unseen(&self) -> &TopK {
        &self.top_unseen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Key {
        Key::Str(x.into())
    }

    fn fitted(cap: usize) -> CategoryCounts {
        CategoryCounts::fit(vec![(s("a"), 5), (s("b"), 3), (s("c"), 1), (Key::Int(7), 2)], 1, cap, 4).unwrap()
    }

    #[test]
    fn fit_orders_by_frequency_and_folds_the_tail() {
        let c = fitted(2);
        assert_eq!(c.categories(), &[s("a"), s("b")]);
        assert_eq!(c.raw_counts(), &[5, 3, 3, 0, 1]);
        assert_eq!(c.cardinality(), 4);
    }

    #[test]
    fn update_routes_values_to_slots() {
        let mut c = fitted(2).empty_like();
        c.add_value_counts([(KeyRef::Str("a"), 2), (KeyRef::Int(7), 1), (KeyRef::Str("zz"), 4)], 3);
        assert_eq!(c.raw_counts(), &[2, 0, 1, 4, 3]);
        assert_eq!(c.top_unseen().sorted()[0].0, s("zz"));
    }

    #[test]
    fn python_defaults_match() {
        // bindings/categorical.rs spells these as literals for Python's signature.
        assert_eq!((DEFAULT_MAX_CATEGORIES, DEFAULT_TOP_K), (10_000, 20));
    }

    #[test]
    fn empty_and_missing_only_references_fail() {
        assert!(CategoryCounts::fit(vec![], 0, 10, 4).is_err());
        assert!(CategoryCounts::fit(vec![], 5, 10, 4).is_err());
    }

    #[test]
    fn merge_requires_same_categories() {
        let mut a = fitted(4);
        let b = fitted(2);
        assert!(matches!(a.merge(&b), Err(EngineError::Mismatch(_))));
        let c = a.clone();
        a.merge(&c).unwrap();
        assert_eq!(a.total(), 2 * c.total());
    }
}
