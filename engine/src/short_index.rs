//! `ShortIndex`: a feature's short string categories (packed u128 keys, see
//! [`crate::counting::ByteCounts::short_key`]) to their slots, looked up once per value of a batch.
//!
//! A feature has tens to a few thousand categories, fixed when the baseline is fitted, so the index is
//! built once and probed for every value. A general hash map spent about 9 ns a probe (hashing two
//! words, a control-group scan, a data-dependent walk of its match bits). Here the categories get a
//! collision-free multiply-shift hash, searched for at build time: a probe is one multiply, one load
//! and one compare of the whole key, so a miss (a value that is no short category) is exact too. Sets
//! for which no such hash is found quickly fall back to the map.

use hashbrown::HashMap;

/// No packed key has this value: a key's top byte is its length, at most 15.
pub(crate) const EMPTY: u128 = u128::MAX;
/// Categories above which the index is always a map (a perfect table would no longer fit in cache).
const MAX_PERFECT: usize = 4096;
/// Multipliers tried per table size before the size doubles.
const SEEDS: u64 = 32;
/// Table sizes tried, as powers of two above the smallest that holds every key.
const GROWTHS: u32 = 4;

/// Short string categories to slots.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ShortIndex {
    /// No short string categories.
    #[default]
    Empty,
    /// A collision-free table: key `k` can only be at `hash(k)`.
    Perfect {
        /// Odd multiplier of the hash.
        mul: u64,
        /// `64 - log2(table size)`.
        shift: u32,
        /// Key per entry (`EMPTY` if none).
        keys: Vec<u128>,
        /// Slot per entry.
        slots: Vec<u32>,
    },
    /// Any other set.
    Map(HashMap<u128, u32>),
}

#[inline(always)]
fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64).rotate_left(29)
}

/// Slot of `key` in a table of `2^(64 - shift)` entries under multiplier `mul`.
#[inline(always)]
pub(crate) fn hash(key: u128, mul: u64, shift: u32) -> usize {
    (fold(key).wrapping_mul(mul) >> shift) as usize
}

/// The `i`-th odd multiplier (splitmix64 of `i`).
fn multiplier(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

impl ShortIndex {
    /// The index of `entries` (distinct keys, each with its slot).
    pub fn new(entries: &[(u128, u32)]) -> Self {
        if entries.is_empty() {
            return Self::Empty;
        }
        if entries.len() <= MAX_PERFECT {
            let min_bits = entries.len().next_power_of_two().trailing_zeros() + 2;
            for bits in min_bits..min_bits + GROWTHS {
                if let Some(table) = Self::perfect(entries, bits) {
                    return table;
                }
            }
        }
        Self::Map(entries.iter().copied().collect())
    }

    /// A collision-free table of `2^bits` entries, if one of the first multipliers gives one.
    fn perfect(entries: &[(u128, u32)], bits: u32) -> Option<Self> {
        let size = 1usize << bits;
        let shift = 64 - bits;
        let mut keys = vec![EMPTY; size];
        'seeds: for i in 0..SEEDS {
            let mul = multiplier(i);
            keys.fill(EMPTY);
            for &(k, _) in entries {
                match keys.get_mut(hash(k, mul, shift)) {
                    Some(e) if *e == EMPTY => *e = k,
                    _ => continue 'seeds,
                }
            }
            let mut slots = vec![0u32; size];
            for &(k, s) in entries {
                if let Some(e) = slots.get_mut(hash(k, mul, shift)) {
                    *e = s;
                }
            }
            return Some(Self::Perfect {
                mul,
                shift,
                keys,
                slots,
            });
        }
        None
    }

    /// The slot of `key`, if it is one of the categories.
    #[inline(always)]
    pub fn get(&self, key: u128) -> Option<u32> {
        match self {
            Self::Perfect {
                mul,
                shift,
                keys,
                slots,
            } => Perfect::new(*mul, *shift, keys, slots).get(key),
            Self::Map(m) => m.get(&key).copied(),
            Self::Empty => None,
        }
    }

    /// Runs `f` with this index's lookup as a closure the compiler can inline into `f`'s loop, its
    /// table's parameters held in registers (a lookup through `&self` reloaded them after every
    /// count the loop stored, and matched the variant per value: half the time of a probe).
    #[inline(always)]
    pub fn with_lookup<R>(&self, f: impl Lookup<R>) -> R {
        match self {
            Self::Perfect {
                mul,
                shift,
                keys,
                slots,
            } => {
                let table = Perfect::new(*mul, *shift, keys, slots);
                f.run(move |k| table.get(k))
            }
            Self::Map(m) => f.run(|k| m.get(&k).copied()),
            Self::Empty => f.run(|_| None),
        }
    }
}

/// A computation over a lookup of any type (what [`ShortIndex::with_lookup`] runs).
pub trait Lookup<R> {
    /// Runs with `lookup`, the slot of a packed key if it is a category.
    fn run(self, lookup: impl Fn(u128) -> Option<u32> + Copy) -> R;
}

/// A perfect table's parts, copied out of the index.
#[derive(Clone, Copy)]
struct Perfect<'a> {
    mul: u64,
    shift: u32,
    keys: &'a [u128],
    slots: &'a [u32],
}

impl<'a> Perfect<'a> {
    #[inline(always)]
    fn new(mul: u64, shift: u32, keys: &'a [u128], slots: &'a [u32]) -> Self {
        Self {
            mul,
            shift,
            keys,
            slots,
        }
    }

    #[inline(always)]
    fn get(self, key: u128) -> Option<u32> {
        let i = hash(key, self.mul, self.shift);
        if self.keys.get(i) == Some(&key) {
            self.slots.get(i).copied()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::ByteCounts;

    fn key(s: &str) -> u128 {
        ByteCounts::short_key(s.as_bytes()).unwrap()
    }

    #[test]
    fn finds_every_category_and_nothing_else() {
        for n in [1usize, 2, 30, 500, 5000] {
            let entries: Vec<(u128, u32)> = (0..n).map(|i| (key(&format!("label_{i}")), i as u32)).collect();
            let index = ShortIndex::new(&entries);
            assert_eq!(matches!(index, ShortIndex::Perfect { .. }), n <= MAX_PERFECT, "n={n}");
            for &(k, s) in &entries {
                assert_eq!(index.get(k), Some(s));
            }
            for i in n..n + 200 {
                assert_eq!(index.get(key(&format!("label_{i}"))), None);
            }
            assert_eq!(index.get(key("")), None);
        }
        assert_eq!(ShortIndex::new(&[]).get(key("a")), None);
    }

    #[test]
    fn keys_that_fold_alike_fall_back_to_the_map() {
        // Same fold, so the same hash under every multiplier: no perfect table exists.
        let (c, d) = (1u128 << 64, 1u128 << 29);
        assert_eq!(fold(c), fold(d));
        let index = ShortIndex::new(&[(c, 0), (d, 1)]);
        assert!(matches!(index, ShortIndex::Map(_)));
        assert_eq!((index.get(c), index.get(d), index.get(3)), (Some(0), Some(1), None));
    }
}
