//! Merging encoded profiles on their bytes.
//!
//! The store merges hundreds of partial profiles per group commit and per read, and they nearly always
//! come from one baseline: the same features in the same order with byte-identical edges and
//! categories. Decoding each of them (allocating names, edges, category keys and their hash index,
//! then comparing edges and categories value by value) cost ~33 us per 25-feature profile, half of a
//! PostgreSQL commit. Here the first profile is decoded once as the accumulator, and every other one
//! is only walked: its identity sections (edges, categories, folded filter) are compared as bytes with
//! the first profile's, and its counts are added straight from the little-endian bytes. A profile whose
//! layout differs in any way (other features, other order, other edges) takes the decoding path of
//! [`Profile::merge`], so the result is always that of merging decoded profiles.

use crate::codec::{as_codec, Feature, Reader, KIND_CATEGORICAL, KIND_NUMERIC, KIND_PROFILE, MAX_TOP_K};
use crate::error::{EngineError, Result};
use crate::profile::Profile;
use crate::sketch::TopK;

/// A numerical feature as it lies in the bytes.
struct NumericView<'a> {
    /// Cut points, lower and upper bound: what must match to merge.
    identity: &'a [u8],
    /// Bin counts as little-endian u64.
    bins: &'a [u8],
    missing: u64,
    out_of_range: u64,
}

/// A categorical feature as it lies in the bytes.
struct CategoricalView<'a> {
    /// Category keys, then the folded-values filter: what must match to merge.
    identity: (&'a [u8], &'a [u8]),
    /// Slot counts (categories, other, unseen, missing) as little-endian u64.
    counts: &'a [u8],
    /// Capacity and entries of the unseen-values sketch, still encoded.
    unseen: (usize, usize, &'a [u8]),
}

enum View<'a> {
    Numeric(NumericView<'a>),
    Categorical(CategoricalView<'a>),
}

struct FeatureView<'a> {
    name: &'a str,
    view: View<'a>,
}

impl FeatureView<'_> {
    fn same_layout(&self, other: &FeatureView<'_>) -> bool {
        self.name == other.name
            && match (&self.view, &other.view) {
                (View::Numeric(a), View::Numeric(b)) => a.identity == b.identity,
                (View::Categorical(a), View::Categorical(b)) => a.identity == b.identity,
                _ => false,
            }
    }
}

/// The bytes `read` consumed.
fn span<'a>(r: &mut Reader<'a>, read: impl FnOnce(&mut Reader<'a>) -> Result<()>) -> Result<&'a [u8]> {
    let start = r.rest();
    read(r)?;
    let used = start.len() - r.rest().len();
    start.get(..used).ok_or_else(|| EngineError::codec("truncated input"))
}

fn u64s<'a>(r: &mut Reader<'a>, n: usize) -> Result<&'a [u8]> {
    r.take(
        n.checked_mul(8)
            .ok_or_else(|| EngineError::codec("declared length overflows"))?,
    )
}

fn read_numeric<'a>(r: &mut Reader<'a>) -> Result<NumericView<'a>> {
    let n = r.count(16)?;
    let identity = u64s(r, n + 2)?;
    let bins = u64s(r, n + 1)?;
    let (missing, out_of_range) = (r.u64()?, r.u64()?);
    Ok(NumericView {
        identity,
        bins,
        missing,
        out_of_range,
    })
}

fn read_categorical<'a>(r: &mut Reader<'a>) -> Result<CategoricalView<'a>> {
    let keys = span(r, |r| {
        let n = r.count(5)?;
        (0..n).try_for_each(|_| r.key().map(drop))
    })?;
    // The key count leads the span, so the number of counts follows from it.
    let n = keys
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let counts = u64s(r, n + 3)?;
    let _cardinality = r.u64()?;
    let folded = span(r, |r| match r.u8()? {
        0 => Ok(()),
        1 => {
            let words = r.count(8)?;
            u64s(r, words).map(drop)
        }
        t => Err(EngineError::codec(format!("unknown filter flag {t}"))),
    })?;
    let capacity = r.u32()?;
    if capacity > MAX_TOP_K as usize {
        return Err(EngineError::codec(format!(
            "top-k capacity {capacity} is out of bounds"
        )));
    }
    let entries = r.count(21)?;
    let top = span(r, |r| {
        (0..entries).try_for_each(|_| r.key().and_then(|_| r.u64()).and_then(|_| r.u64()).map(drop))
    })?;
    Ok(CategoricalView {
        identity: (keys, folded),
        counts,
        unseen: (capacity, entries, top),
    })
}

/// Walks a profile's bytes into `out` (cleared first), checking what decoding checks of the layout.
fn read_views<'a>(bytes: &'a [u8], out: &mut Vec<FeatureView<'a>>) -> Result<()> {
    out.clear();
    let mut r = Reader::open(bytes, KIND_PROFILE)?;
    let n = r.count(5)?;
    for _ in 0..n {
        let name = r.str()?;
        if out.iter().any(|f| f.name == name) {
            return Err(EngineError::codec(format!("duplicate feature {name:?}")));
        }
        let view = match r.u8()? {
            KIND_NUMERIC => View::Numeric(read_numeric(&mut r)?),
            KIND_CATEGORICAL => View::Categorical(read_categorical(&mut r)?),
            t => return Err(EngineError::codec(format!("unknown feature kind {t}"))),
        };
        out.push(FeatureView { name, view });
    }
    r.end()
}

fn le_u64s(bytes: &[u8]) -> impl Iterator<Item = u64> + Clone + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| c.try_into().map_or(0, u64::from_le_bytes))
}

/// Refuses counts whose total overflows u64, as decoding refuses them.
fn check_total(counts: impl Iterator<Item = u64>, start: u64) -> Result<()> {
    match counts.into_iter().try_fold(start, u64::checked_add) {
        Some(_) => Ok(()),
        None => Err(as_codec(EngineError::invalid("counts overflow u64"))),
    }
}

fn read_unseen(capacity: usize, entries: usize, bytes: &[u8]) -> Result<Option<TopK>> {
    if entries == 0 {
        return Ok(None);
    }
    let mut r = Reader::over(bytes);
    let entries = (0..entries)
        .map(|_| Ok((r.key()?, r.u64()?, r.u64()?)))
        .collect::<Result<Vec<_>>>()?;
    TopK::from_entries(capacity, entries).map(Some)
}

/// Adds the counts of `views` (laid out as the accumulator's first features) into `profile`.
fn add_views(profile: &mut Profile, views: &[FeatureView<'_>]) -> Result<()> {
    // Everything that can fail is read before anything is added, so a bad profile changes nothing.
    let mut unseen = Vec::with_capacity(views.len());
    for f in views {
        match &f.view {
            View::Numeric(v) => check_total(le_u64s(v.bins), v.missing)?,
            View::Categorical(v) => {
                check_total(le_u64s(v.counts), 0)?;
                let (capacity, entries, bytes) = v.unseen;
                unseen.push(read_unseen(capacity, entries, bytes)?);
            }
        }
    }
    let mut unseen = unseen.into_iter();
    for (f, slot) in views.iter().zip(profile.features_mut()) {
        match (&f.view, &mut slot.1) {
            (View::Numeric(v), Feature::Numeric(h)) => h.add_raw(le_u64s(v.bins), v.missing, v.out_of_range),
            (View::Categorical(v), Feature::Categorical(c)) => {
                c.add_raw(le_u64s(v.counts), unseen.next().flatten().as_ref());
            }
            // Same layout as the accumulator's bytes, which decoded into these very kinds.
            _ => return Err(EngineError::mismatch(format!("feature {:?} changed kind", f.name))),
        }
    }
    Ok(())
}

/// Merges any number of encoded profiles into one encoding, equal to decoding each and folding them
/// with [`Profile::merge`]: features keep the order they are first seen in. No input is an error.
pub fn merge_all<'a>(blobs: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut blobs = blobs.into_iter();
    let first = blobs
        .next()
        .ok_or_else(|| EngineError::invalid("no profiles to merge"))?;
    let mut profile = Profile::from_bytes(first)?;
    let mut reference = Vec::new();
    read_views(first, &mut reference)?;
    let mut views = Vec::with_capacity(reference.len());
    for blob in blobs {
        read_views(blob, &mut views)?;
        let same = views.len() == reference.len() && views.iter().zip(&reference).all(|(a, b)| a.same_layout(b));
        if same {
            add_views(&mut profile, &views)?;
        } else {
            profile.merge(&Profile::from_bytes(blob)?)?;
        }
    }
    Ok(profile.to_bytes())
}

/// Merges two encoded profiles into the encoding of their [`Profile::merge`].
pub fn merge_bytes(a: &[u8], b: &[u8]) -> Result<Vec<u8>> {
    merge_all([a, b])
}

#[cfg(test)]
#[path = "profile_merge_tests.rs"]
mod tests;
