//! Counting by object identity: the first step for arrays of Python objects, whose equal values are
//! usually the same object (interned, or deduplicated by pandas and pyarrow), so a row costs one
//! pointer probe rather than a string hash. Pure Rust over machine words; the bindings read the
//! pointers.

/// Distinct machine words (object identities) with their counts and the index of their first
/// occurrence, in first-seen order. A batch of category labels holds few distinct objects, so an
/// open-addressing table of indices, sized to them, stays in L1; runs of one value skip the probe.
pub fn count_words(words: impl Iterator<Item = usize>) -> Vec<(usize, u64, usize)> {
    let mut distinct: Vec<(usize, u64, usize)> = Vec::new();
    let mut table = WordTable::with_bits(6);
    let mut last: Option<(usize, usize)> = None;
    for (i, w) in words.enumerate() {
        let slot = match last {
            Some((word, slot)) if word == w => slot,
            _ => {
                let slot = table.find_or_insert(w, &mut distinct, i);
                last = Some((w, slot));
                slot
            }
        };
        if let Some(d) = distinct.get_mut(slot) {
            d.1 += 1;
        }
    }
    distinct
}

/// Slots hold `index + 1` into the distinct list (0 = empty); grown at half full.
struct WordTable {
    slots: Vec<u32>,
    bits: u32,
}

impl WordTable {
    fn with_bits(bits: u32) -> Self {
        Self {
            slots: vec![0; 1 << bits],
            bits,
        }
    }

    #[inline(always)]
    fn home(&self, w: usize) -> usize {
        // Fibonacci hashing of the address without its alignment bits.
        ((w as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    #[inline(always)]
    fn find_or_insert(&mut self, w: usize, distinct: &mut Vec<(usize, u64, usize)>, i: usize) -> usize {
        let mask = self.slots.len() - 1;
        let mut h = self.home(w);
        loop {
            match self.slots.get(h).copied() {
                Some(0) | None => break,
                Some(s) => {
                    let idx = s as usize - 1;
                    if distinct.get(idx).is_some_and(|d| d.0 == w) {
                        return idx;
                    }
                }
            }
            h = (h + 1) & mask;
        }
        distinct.push((w, 0, i));
        let idx = distinct.len() - 1;
        if let Some(s) = self.slots.get_mut(h) {
            *s = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        }
        if distinct.len() * 2 > self.slots.len() {
            self.grow(distinct);
        }
        idx
    }

    fn grow(&mut self, distinct: &[(usize, u64, usize)]) {
        *self = Self::with_bits(self.bits + 1);
        let mask = self.slots.len() - 1;
        for (idx, d) in distinct.iter().enumerate() {
            let mut h = self.home(d.0);
            while self.slots.get(h).is_some_and(|&s| s != 0) {
                h = (h + 1) & mask;
            }
            if let Some(s) = self.slots.get_mut(h) {
                *s = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbrown::HashMap;

    #[test]
    fn words_count_in_first_seen_order_through_growth() {
        let words: Vec<usize> = (0..5000).map(|i| 8 * ((i * 7919) % 300) + 0x1000).collect();
        let got = count_words(words.iter().copied());
        assert_eq!(got.len(), 300);
        assert_eq!(got.iter().map(|d| d.1).sum::<u64>(), 5000);
        let mut expected: HashMap<usize, (u64, usize)> = HashMap::new();
        for (i, &w) in words.iter().enumerate() {
            expected.entry(w).or_insert((0, i)).0 += 1;
        }
        for (w, n, first) in &got {
            assert_eq!(expected.get(w), Some(&(*n, *first)));
        }
        assert!(got.windows(2).all(|p| p[0].2 < p[1].2));
        assert!(count_words(std::iter::empty()).is_empty());
    }
}
