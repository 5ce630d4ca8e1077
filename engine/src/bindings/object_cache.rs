//! A categorical feature's memory of the Python objects it has seen: object address to slot.
//!
//! Labels in object arrays are nearly always the same few objects batch after batch (interned strings,
//! pandas' and pyarrow's deduplicated values), so the cache maps each object's address to its slot in
//! the feature's counts once, and a row then costs one probe of a table that stays in L1: no string
//! hashing, no allocation, no per-batch table. The cache holds a strong reference to every object it
//! maps, so an address can never be reused by another object while its entry lives; `str` and `int` are
//! immutable, so the slot stays right. The slots depend only on the feature's reference categories,
//! which never change. The cache is bounded ([`MAX_OBJECTS`]); objects beyond it are resolved each
//! time, as values rather than objects.

use super::values::{classify, key_of, Value};
use crate::categorical::CategoryCounts;
use crate::sketch::Key;
use hashbrown::HashMap;
use ndarray::ArrayView1;
use pyo3::prelude::*;

/// Objects a feature remembers at most (each keeps its object alive).
pub(super) const MAX_OBJECTS: usize = 1 << 14;

/// One batch reduced to slots: a count per slot and the distinct unseen values.
pub(super) struct Slotted {
    pub(super) delta: Vec<u64>,
    pub(super) unseen: Vec<(Key, u64)>,
}

/// What an object resolves to: its slot, and its value if it is unseen (for the sketch).
struct Resolved {
    slot: usize,
    unseen: Option<Key>,
}

/// Open addressing over object addresses: `(address, index + 1)` into `objects` (index 0 = empty), the
/// address inline so that a probe reads one cache line.
#[derive(Default)]
pub(crate) struct ObjectCache {
    ids: Vec<(usize, u32)>,
    bits: u32,
    objects: Vec<(usize, Py<PyAny>, Resolved)>,
    hits: Vec<u64>,
    touched: Vec<u32>,
}

impl ObjectCache {
    #[inline(always)]
    fn home(&self, addr: usize) -> usize {
        // Fibonacci hashing of the address without its alignment bits.
        ((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    /// The entry of `addr`, or the empty position where it would go.
    #[inline(always)]
    fn find(&self, addr: usize) -> Result<usize, usize> {
        let mask = self.ids.len() - 1;
        let mut h = self.home(addr);
        loop {
            match self.ids.get(h).copied() {
                Some((_, 0)) | None => return Err(h),
                Some((a, id)) if a == addr => return Ok(id as usize - 1),
                Some(_) => h = (h + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        self.bits = (self.bits + 1).max(6);
        self.ids = vec![(0, 0); 1 << self.bits];
        let mask = self.ids.len() - 1;
        for (i, (addr, _, _)) in self.objects.iter().enumerate() {
            let mut h = self.home(*addr);
            while self.ids.get(h).is_some_and(|s| s.1 != 0) {
                h = (h + 1) & mask;
            }
            if let Some(s) = self.ids.get_mut(h) {
                *s = (*addr, i as u32 + 1);
            }
        }
    }

    fn insert(&mut self, addr: usize, obj: Py<PyAny>, resolved: Resolved) -> Option<usize> {
        if self.objects.len() >= MAX_OBJECTS {
            return None;
        }
        if (self.objects.len() + 1) * 2 > self.ids.len() {
            self.grow();
        }
        let pos = self.find(addr).err()?;
        self.objects.push((addr, obj, resolved));
        self.hits.push(0);
        let i = self.objects.len() - 1;
        if let Some(s) = self.ids.get_mut(pos) {
            *s = (addr, i as u32 + 1);
        }
        Some(i)
    }

    /// Counts an object array into `counts`' slots (read only: the counts are added later, in the
    /// detached update). Errors: an object no category can be (the caller's to treat as invalid).
    pub(super) fn count(
        &mut self,
        py: Python<'_>,
        objs: ArrayView1<'_, Py<PyAny>>,
        counts: &CategoryCounts,
        what: &str,
    ) -> PyResult<Slotted> {
        // Values of objects beyond the cache (`None`: missing).
        let mut extra: HashMap<Option<Key>, u64> = HashMap::new();
        // A contiguous array walks its slice: ndarray's general iterator costs a stride step a row.
        let result = match objs.as_slice() {
            Some(rows) => self.count_rows(py, rows.iter(), counts, what, &mut extra),
            None => self.count_rows(py, objs.iter(), counts, what, &mut extra),
        };
        let slotted = self.drain(counts, extra);
        result.map(|()| slotted)
    }

    /// The row loop of [`Self::count`]: a hit is one probe and one counter, so everything else (a
    /// miss, a full cache) lives out of line in [`Self::miss`].
    #[inline(always)]
    fn count_rows<'a>(
        &mut self,
        py: Python<'_>,
        rows: impl Iterator<Item = &'a Py<PyAny>>,
        counts: &CategoryCounts,
        what: &str,
        extra: &mut HashMap<Option<Key>, u64>,
    ) -> PyResult<()> {
        for o in rows {
            let addr = o.as_ptr() as usize;
            let hit = if self.ids.is_empty() {
                None
            } else {
                self.find(addr).ok()
            };
            let id = match hit {
                Some(i) => Some(i),
                None => self.miss(py, o, counts, what, extra)?,
            };
            if let Some(h) = id.and_then(|i| self.hits.get_mut(i)) {
                if *h == 0 {
                    self.touched.push(id.map_or(0, |i| i as u32));
                }
                *h += 1;
            }
        }
        Ok(())
    }

    /// An object not in the cache: resolved and remembered, or, the cache being full, counted as its
    /// value in `extra` (`None` returned).
    #[cold]
    #[inline(never)]
    fn miss(
        &mut self,
        py: Python<'_>,
        o: &Py<PyAny>,
        counts: &CategoryCounts,
        what: &str,
        extra: &mut HashMap<Option<Key>, u64>,
    ) -> PyResult<Option<usize>> {
        let resolved = resolve(o.bind(py), counts, what)?;
        if let Some(i) = self.insert(o.as_ptr() as usize, o.clone_ref(py), resolved) {
            return Ok(Some(i));
        }
        let v = classify(o.bind(py), what)?;
        *extra.entry(value_key(&v)).or_insert(0) += 1;
        Ok(None)
    }

    /// The batch's slot counts, leaving every hit counter at zero for the next batch.
    fn drain(&mut self, counts: &CategoryCounts, extra: HashMap<Option<Key>, u64>) -> Slotted {
        let mut delta = vec![0u64; counts.raw_counts().len()];
        let mut unseen: HashMap<Key, u64> = HashMap::new();
        for i in self.touched.drain(..) {
            let n = self.hits.get_mut(i as usize).map_or(0, std::mem::take);
            if let Some((_, _, r)) = self.objects.get(i as usize) {
                add(&mut delta, &mut unseen, r.slot, r.unseen.as_ref(), n);
            }
        }
        let missing = delta.len().saturating_sub(1);
        for (k, n) in extra {
            let (slot, unseen_key) = match &k {
                Some(k) => slot_of(counts, k),
                None => (missing, None),
            };
            add(&mut delta, &mut unseen, slot, unseen_key.as_ref(), n);
        }
        Slotted {
            delta,
            unseen: unseen.into_iter().collect(),
        }
    }
}

fn add(delta: &mut [u64], unseen: &mut HashMap<Key, u64>, slot: usize, key: Option<&Key>, n: u64) {
    if let Some(d) = delta.get_mut(slot) {
        *d += n;
    }
    if let Some(k) = key {
        *unseen.entry(k.clone()).or_insert(0) += n;
    }
}

fn slot_of(counts: &CategoryCounts, k: &Key) -> (usize, Option<Key>) {
    let slot = counts.slot(k.as_key_ref());
    let unseen = (slot == counts.categories().len() + 1).then(|| k.clone());
    (slot, unseen)
}

fn value_key(v: &Value<'_>) -> Option<Key> {
    match (v, key_of(v)) {
        (_, Some(k)) => Some(k.to_key()),
        (Value::Key(k), None) => Some(k.to_key()),
        _ => None,
    }
}

fn resolve(obj: &Bound<'_, PyAny>, counts: &CategoryCounts, what: &str) -> PyResult<Resolved> {
    let v = classify(obj, what)?;
    let key = match (&v, key_of(&v)) {
        (_, Some(k)) => k,
        (Value::Key(k), None) => *k,
        _ => {
            let missing = counts.raw_counts().len().saturating_sub(1);
            return Ok(Resolved {
                slot: missing,
                unseen: None,
            });
        }
    };
    let (slot, unseen) = slot_of(counts, &key.to_key());
    Ok(Resolved { slot, unseen })
}
