//! `ShortIndex`: a feature's short string categories (packed u128 keys, see
//! [`crate::counting::ByteCounts::short_key`]) to their slots, looked up once per value of a batch.
//!
//! A feature has tens to thousands of categories, fixed when the baseline is fitted, so the index is
//! built once and probed for every value. A general hash map spent about 9 ns a probe (hashing two
//! words, a control-group scan, a data-dependent walk of its match bits). Here a key's mixed hash
//! picks a slot of an open-addressing table at most an eighth full, probed linearly: a category is
//! almost always in its first slot, so a probe is a few multiplies, one load and one compare of the
//! whole key, and a miss (a value that is no short category) ends at the first empty slot.

/// No packed key has this value: a key's top byte is its length, at most 15.
pub(crate) const EMPTY: u128 = u128::MAX;

/// Short string categories to slots.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortIndex {
    mul: u64,
    shift: u32,
    /// Key per entry (`EMPTY` if none); at least one entry is empty, so every probe ends.
    keys: Vec<u128>,
    /// Slot per entry.
    slots: Vec<u32>,
}

/// A packed key's two words folded into one.
#[inline(always)]
pub(crate) fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64).rotate_left(29)
}

/// Multipliers tried at build time: the one leaving the fewest categories out of their first slot
/// is kept (often none for tens of categories). The first is the golden ratio's.
const MULS: [u64; 8] = [
    0x9E37_79B9_7F4A_7C15,
    0xBF58_476D_1CE4_E5B9,
    0x94D0_49BB_1331_11EB,
    0xFF51_AFD7_ED55_8CCD,
    0xC4CE_B9FE_1A85_EC53,
    0xD6E8_FEB8_6659_FD93,
    0xA076_1D64_78BD_642F,
    0xE703_7ED1_A0B4_28DB,
];

/// The slot of `key` in a table of `2^(64 - shift)` entries under multiplier `mul`: `fold(key)` with
/// its high half folded down, then one multiply. A bare multiply-shift left labels that differ in one
/// high byte (`v0001`, `v0002`) in the same slots; this spreads the common label shapes like random
/// keys, and murmur's full finalizer cost a quarter more per value.
#[inline(always)]
pub(crate) fn slot(key: u128, mul: u64, shift: u32) -> usize {
    let h = fold(key);
    ((h ^ (h >> 29)).wrapping_mul(mul) >> shift) as usize
}

impl ShortIndex {
    /// The index of `entries` (distinct keys, each with its slot).
    pub fn new(entries: &[(u128, u32)]) -> Self {
        // At most an eighth full: a category displaced from its first slot costs a mispredicted branch
        // (random data), so few may be; of the multipliers, the one displacing the fewest is kept.
        // Beyond a few hundred categories some are displaced under any multiplier: one try.
        let size = (8 * entries.len()).next_power_of_two().max(2);
        let shift = 64 - size.trailing_zeros();
        let tries = if entries.len() <= 256 { MULS.len() } else { 1 };
        let (mut best, mut fewest) = Self::build(entries, size, shift, MULS[0]);
        for mul in MULS.into_iter().take(tries).skip(1) {
            if fewest == 0 {
                break;
            }
            let (table, displaced) = Self::build(entries, size, shift, mul);
            if displaced < fewest {
                (best, fewest) = (table, displaced);
            }
        }
        best
    }

    /// The table of `entries` under `mul`, and how many of them are not in their first slot.
    fn build(entries: &[(u128, u32)], size: usize, shift: u32, mul: u64) -> (Self, usize) {
        let (mut keys, mut slots) = (vec![EMPTY; size], vec![0u32; size]);
        let mask = size - 1;
        let mut displaced = 0;
        for &(k, s) in entries {
            let mut i = slot(k, mul, shift);
            while keys.get(i & mask).is_some_and(|&e| e != EMPTY && e != k) {
                i += 1;
                displaced += 1;
            }
            if let (Some(e), Some(slot)) = (keys.get_mut(i & mask), slots.get_mut(i & mask)) {
                (*e, *slot) = (k, s);
            }
        }
        (
            Self {
                mul,
                shift,
                keys,
                slots,
            },
            displaced,
        )
    }

    /// A copy of the table's parts to probe with: held in registers by a loop that also stores
    /// counts (a probe through `&self` reloaded them after every store: half its cost).
    #[inline(always)]
    pub fn view(&self) -> ShortView<'_> {
        ShortView {
            mul: self.mul,
            shift: self.shift,
            mask: self.keys.len() - 1,
            keys: &self.keys,
            slots: &self.slots,
        }
    }

    /// The slot of `key`, if it is one of the categories.
    pub fn get(&self, key: u128) -> Option<u32> {
        self.view().get(key)
    }
}

/// The parts of a [`ShortIndex`], by value.
#[derive(Clone, Copy)]
pub struct ShortView<'a> {
    mul: u64,
    shift: u32,
    mask: usize,
    keys: &'a [u128],
    slots: &'a [u32],
}

impl ShortView<'_> {
    /// The slot of `key`, if it is one of the categories.
    #[inline(always)]
    pub fn get(self, key: u128) -> Option<u32> {
        let mut i = slot(key, self.mul, self.shift);
        loop {
            let e = *self.keys.get(i & self.mask)?;
            if e == key {
                return self.slots.get(i & self.mask).copied();
            }
            if e == EMPTY {
                return None;
            }
            i += 1;
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

    /// Labels of random bytes and lengths (what a multiply-shift table finds hardest to spread).
    fn random_labels(n: usize, seed: u64) -> Vec<String> {
        let mut state = seed;
        let mut out = std::collections::BTreeSet::new();
        while out.len() < n {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = 1 + (state >> 60) as usize % 15;
            let s: String = (0..len)
                .map(|j| char::from(b'!' + ((state >> (j * 4 % 56)) as u8 % 90)))
                .collect();
            out.insert(s);
        }
        out.into_iter().collect()
    }

    #[test]
    fn finds_every_category_and_nothing_else() {
        for n in [0usize, 1, 2, 30, 500, 5000, 20_000] {
            let structured: Vec<String> = (0..n).map(|i| format!("label_{i}")).collect();
            for labels in [structured, random_labels(n, n as u64)] {
                let entries: Vec<(u128, u32)> = labels.iter().enumerate().map(|(i, l)| (key(l), i as u32)).collect();
                let index = ShortIndex::new(&entries);
                for &(k, s) in &entries {
                    assert_eq!(index.get(k), Some(s));
                }
                for other in random_labels(300, 99) {
                    let want = labels.iter().position(|l| *l == other).map(|i| i as u32);
                    assert_eq!(index.get(key(&other)), want);
                }
                assert_eq!(
                    index.get(key("")),
                    labels.iter().position(|l| l.is_empty()).map(|i| i as u32)
                );
            }
        }
    }

    #[test]
    fn keys_that_hash_alike_are_probed_past() {
        // Same fold, so the same mixed hash and slot: the second goes to the next one.
        let (c, d) = (1u128 << 64, 1u128 << 29);
        assert_eq!(fold(c), fold(d));
        let index = ShortIndex::new(&[(c, 0), (d, 1)]);
        assert_eq!((index.get(c), index.get(d), index.get(3)), (Some(0), Some(1), None));
    }
}
