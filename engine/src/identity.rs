//! Counting by object identity: the first step for arrays of Python objects, whose equal values are
//! usually the same object (interned, or deduplicated by pandas and pyarrow), so a row costs one
//! pointer probe rather than a string hash. Pure Rust over machine words; the bindings read the
//! pointers.

/// Distinct machine words (object identities) with their counts and the index of their first
/// occurrence, in first-seen order. A batch of category labels holds few distinct objects, so an
/// open-addressing table sized to them stays in L1; each entry holds its word and count inline, so a
/// row costs one probe of one cache line (an index into a separate list cost a second, dependent
/// load per row), and runs of one value skip the probe.
pub fn count_words(words: impl Iterator<Item = usize>) -> Vec<(usize, u64, usize)> {
    let mut table = WordTable::with_bits(6);
    let mut last: Option<(usize, usize)> = None;
    for (i, w) in words.enumerate() {
        let slot = match last {
            Some((word, slot)) if word == w => slot,
            _ => {
                let slot = table.find_or_insert(w, i);
                last = Some((w, slot));
                slot
            }
        };
        if let Some(e) = table.entries.get_mut(slot) {
            e.count += 1;
        }
    }
    table.into_distinct()
}

/// One table entry: `count == 0` marks an empty slot (an inserted word is counted at once).
#[derive(Clone, Copy, Default)]
struct Entry {
    word: usize,
    count: u64,
    first: usize,
}

/// Open addressing with linear probing, grown at half full.
struct WordTable {
    entries: Vec<Entry>,
    bits: u32,
    len: usize,
}

impl WordTable {
    fn with_bits(bits: u32) -> Self {
        Self {
            entries: vec![Entry::default(); 1 << bits],
            bits,
            len: 0,
        }
    }

    #[inline(always)]
    fn home(&self, w: usize) -> usize {
        // Fibonacci hashing of the address without its alignment bits.
        ((w as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    /// The slot of `w`, inserting it (first seen at row `i`, count 0 until the caller adds) if new.
    #[inline(always)]
    fn find_or_insert(&mut self, w: usize, i: usize) -> usize {
        let mask = self.entries.len() - 1;
        let mut h = self.home(w);
        loop {
            match self.entries.get(h) {
                Some(e) if e.count != 0 && e.word == w => return h,
                Some(e) if e.count != 0 => h = (h + 1) & mask,
                _ => break,
            }
        }
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
            return self.find_or_insert(w, i);
        }
        if let Some(e) = self.entries.get_mut(h) {
            // Counted by the caller at once, so the slot is never seen empty again.
            *e = Entry {
                word: w,
                count: 0,
                first: i,
            };
        }
        self.len += 1;
        h
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_bits(self.bits + 1));
        let mask = self.entries.len() - 1;
        for e in old.entries.into_iter().filter(|e| e.count != 0) {
            let mut h = self.home(e.word);
            while self.entries.get(h).is_some_and(|s| s.count != 0) {
                h = (h + 1) & mask;
            }
            if let Some(s) = self.entries.get_mut(h) {
                *s = e;
            }
        }
        self.len = old.len;
    }

    fn into_distinct(self) -> Vec<(usize, u64, usize)> {
        let mut out: Vec<(usize, u64, usize)> = self
            .entries
            .into_iter()
            .filter(|e| e.count != 0)
            .map(|e| (e.word, e.count, e.first))
            .collect();
        out.sort_unstable_by_key(|d| d.2);
        out
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
