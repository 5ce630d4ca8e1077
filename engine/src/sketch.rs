//! Small bounded-memory sketches used by [`crate::categorical`]: a stable hash, a Bloom filter for
//! membership of folded reference categories, and a Space-Saving top-k of unseen values.

use crate::error::{EngineError, Result};
use hashbrown::HashMap;

/// A category value: categories are strings or integers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A string category.
    Str(Box<str>),
    /// An integer category.
    Int(i64),
}

impl Key {
    /// A hash that never changes across versions, platforms or processes, because Bloom filters built
    /// from it are persisted: FNV-1a over the bytes with a type tag, then a splitmix64 finalizer.
    pub fn stable_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        match self {
            Self::Str(s) => {
                eat(b's');
                s.bytes().for_each(&mut eat);
            }
            Self::Int(i) => {
                eat(b'i');
                i.to_le_bytes().into_iter().for_each(&mut eat);
            }
        }
        splitmix(h)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Largest Bloom filter kept per feature: 8 Mbit (1 MiB).
pub const BLOOM_MAX_BITS: u64 = 1 << 23;
const BLOOM_HASHES: u32 = 7;

/// A Bloom filter: no false negatives, about 1% false positives at 10 bits per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    /// A filter sized for `items` at ~10 bits each, capped at [`BLOOM_MAX_BITS`].
    pub fn with_items(items: usize) -> Self {
        let bits = ((items as u64).saturating_mul(10)).clamp(64, BLOOM_MAX_BITS);
        Self {
            words: vec![0; bits.div_ceil(64) as usize],
        }
    }

    /// Rebuilds a filter from its words (the codec); the size must be within bounds.
    pub fn from_words(words: Vec<u64>) -> Result<Self> {
        if words.is_empty() || words.len() as u64 > BLOOM_MAX_BITS / 64 {
            return Err(EngineError::codec(format!(
                "bloom filter of {} words is out of bounds",
                words.len()
            )));
        }
        Ok(Self { words })
    }

    /// The raw words, for encoding.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    fn positions(&self, key: &Key) -> impl Iterator<Item = (usize, u64)> {
        let h = key.stable_hash();
        let (h1, h2) = (h, splitmix(h) | 1);
        let bits = self.words.len() as u64 * 64;
        (0..u64::from(BLOOM_HASHES)).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bits;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    /// Adds `key`.
    pub fn insert(&mut self, key: &Key) {
        let pos: Vec<(usize, u64)> = self.positions(key).collect();
        for (w, mask) in pos {
            if let Some(word) = self.words.get_mut(w) {
                *word |= mask;
            }
        }
    }

    /// Whether `key` may have been added (never false for an added key).
    pub fn contains(&self, key: &Key) -> bool {
        self.positions(key)
            .all(|(w, mask)| self.words.get(w).is_some_and(|word| word & mask != 0))
    }
}

/// Space-Saving (Metwally et al.) heavy hitters with weighted updates: at most `capacity` entries;
/// every value whose true count exceeds total / capacity is kept, and each kept count overestimates
/// the truth by at most its recorded `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopK {
    capacity: usize,
    entries: HashMap<Key, (u64, u64)>,
}

impl TopK {
    /// An empty sketch keeping at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
        }
    }

    /// How many values it can keep.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds `weight` occurrences of `key`.
    pub fn add(&mut self, key: Key, weight: u64) {
        if self.capacity == 0 || weight == 0 {
            return;
        }
        if let Some(e) = self.entries.get_mut(&key) {
            e.0 = e.0.saturating_add(weight);
            return;
        }
        if self.entries.len() < self.capacity {
            self.entries.insert(key, (weight, 0));
            return;
        }
        let victim = self
            .entries
            .iter()
            .min_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(a.0)));
        if let Some((victim, &(min, _))) = victim {
            let victim = victim.clone();
            self.entries.remove(&victim);
            self.entries.insert(key, (min.saturating_add(weight), min));
        }
    }

    /// Adds every entry of `other` (counts stay upper bounds; errors add), heaviest first: a fixed
    /// order, so the same merges give the same sketch (the map's own order is seeded per map).
    pub fn merge(&mut self, other: &Self) {
        for (k, c, e) in other.sorted() {
            self.add(k.clone(), c);
            if let Some(entry) = self.entries.get_mut(&k) {
                entry.1 = entry.1.saturating_add(e);
            }
        }
    }

    /// Entries `(value, count, error)` by count, largest first (ties by value, for determinism).
    pub fn sorted(&self) -> Vec<(Key, u64, u64)> {
        let mut v: Vec<(Key, u64, u64)> = self.entries.iter().map(|(k, &(c, e))| (k.clone(), c, e)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// Rebuilds a sketch from decoded entries.
    pub fn from_entries(capacity: usize, entries: Vec<(Key, u64, u64)>) -> Result<Self> {
        if entries.len() > capacity {
            return Err(EngineError::codec("top-k sketch holds more entries than its capacity"));
        }
        let map = entries.into_iter().map(|(k, c, e)| (k, (c, e))).collect();
        Ok(Self { capacity, entries: map })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_is_pinned() {
        // Persisted filters depend on these exact values: changing them is a format change.
        assert_eq!(Key::Str("a".into()).stable_hash(), Key::Str("a".into()).stable_hash());
        assert_ne!(Key::Str("1".into()).stable_hash(), Key::Int(1).stable_hash());
    }

    #[test]
    fn bloom_has_no_false_negatives() {
        let mut b = Bloom::with_items(1000);
        for i in 0..1000 {
            b.insert(&Key::Int(i));
        }
        assert!((0..1000).all(|i| b.contains(&Key::Int(i))));
        let fp = (1000..11000).filter(|&i| b.contains(&Key::Int(i))).count();
        assert!(fp < 300, "false positives {fp}");
    }

    #[test]
    fn topk_keeps_heavy_hitters() {
        let mut t = TopK::new(3);
        for i in 0..100 {
            t.add(Key::Int(i % 10), 1);
            t.add(Key::Str("hot".into()), 5);
        }
        assert_eq!(t.sorted()[0].0, Key::Str("hot".into()));
        assert_eq!(t.sorted()[0].1, 500);
    }
}
