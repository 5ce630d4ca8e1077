//! Value counting, the first step of every categorical update: reduce a batch to its distinct values
//! with their counts, so that each distinct value is looked up in the reference once per batch
//! rather than once per row. One routine per input layout, all pure Rust over borrowed buffers.

use crate::error::{EngineError, Result};
use hashbrown::HashMap;
use ndarray::{ArrayView1, ArrayView2};

/// An integer dictionary-code type (pandas Categorical codes, Arrow dictionary indices).
pub trait Code: Copy + Send + Sync + 'static {
    /// The code as i64; negative means missing.
    fn get(self) -> i64;
}
macro_rules! code {
    ($($t:ty),*) => {$(impl Code for $t { #[inline(always)] fn get(self) -> i64 { self as i64 } })*};
}
code!(i8, i16, i32, i64, u8, u16, u32);
impl Code for bool {
    #[inline(always)]
    fn get(self) -> i64 {
        i64::from(self)
    }
}

/// Counts per dictionary entry for `codes` into a dictionary of `n_dict` entries. Negative codes are
/// missing (pandas' -1); a code `>= n_dict` is an error and nothing is counted.
pub fn count_codes<C: Code>(codes: ArrayView1<'_, C>, n_dict: usize) -> Result<(Vec<u64>, u64)> {
    // Slots: the dictionary, then one "outside" slot for negative (missing) and too-large codes,
    // found branch-free with a `min`; only when it is hit does a second pass tell the two apart.
    let slots = n_dict + 1;
    let n = n_dict as u64;
    let mut lanes = vec![0u64; slots * 4];
    let slot = |c: i64| (c as u64).min(n) as usize;
    match codes.to_slice() {
        Some(s) => {
            let (l0, rest) = lanes.split_at_mut(slots);
            let (l1, rest) = rest.split_at_mut(slots);
            let (l2, l3) = rest.split_at_mut(slots);
            let mut quads = s.chunks_exact(4);
            for q in quads.by_ref() {
                if let &[a, b, c, d] = q {
                    bump(l0, slot(a.get()));
                    bump(l1, slot(b.get()));
                    bump(l2, slot(c.get()));
                    bump(l3, slot(d.get()));
                }
            }
            quads.remainder().iter().for_each(|c| bump(l0, slot(c.get())));
        }
        None => codes
            .iter()
            .enumerate()
            .for_each(|(i, c)| bump(&mut lanes, (i % 4) * slots + slot(c.get()))),
    }
    let mut out = vec![0u64; slots];
    for lane in lanes.chunks_exact(slots) {
        out.iter_mut().zip(lane).for_each(|(o, v)| *o += v);
    }
    let outside = out.pop().unwrap_or(0);
    if outside == 0 {
        return Ok((out, 0));
    }
    let missing: u64 = codes.iter().map(|c| u64::from(c.get() < 0)).sum();
    if missing < outside {
        let bad = codes
            .iter()
            .map(|c| c.get())
            .find(|&c| c >= 0 && c as u64 >= n)
            .unwrap_or(-1);
        return Err(EngineError::invalid(format!(
            "code {bad} is out of range for a dictionary of {n_dict} categories"
        )));
    }
    Ok((out, missing))
}

#[inline(always)]
fn bump(lane: &mut [u64], i: usize) {
    if let Some(x) = lane.get_mut(i) {
        *x += 1;
    }
}

/// An Arrow offset type (`string` uses i32, `large_string` i64).
pub trait Offset: Copy + Send + Sync + 'static {
    /// The offset as i64.
    fn get(self) -> i64;
}
impl Offset for i32 {
    fn get(self) -> i64 {
        i64::from(self)
    }
}
impl Offset for i64 {
    fn get(self) -> i64 {
        self
    }
}

/// One Arrow string array's buffers: `offsets` (`n + 1` of them, already sliced to the array), the
/// whole `data` buffer, and the validity bitmap with the bit index of the array's first element.
pub struct ArrowStrings<'a, O> {
    /// Value `i` is `data[offsets[i]..offsets[i + 1]]`.
    pub offsets: &'a [O],
    /// UTF-8 bytes of every value.
    pub data: &'a [u8],
    /// Validity bitmap (LSB first, 1 = present) and the bit of the first element, if any value is null.
    pub validity: Option<(&'a [u8], usize)>,
}

/// Counts byte strings. Strings of up to 15 bytes (most category labels) are packed with their length
/// into one u128 key, which hashes as two words and compares inline; longer ones are keyed by slice
/// (hashing and `memcmp` through libc cost more than the work itself for short values).
///
/// Short keys go through a small direct-mapped front table first, one multiply and one compare per
/// value, and reach the map only when they evict one another: a column of a few hundred labels is
/// counted almost entirely in the front (a probe of the map cost about 7 ns a value). A column whose
/// values keep evicting each other (ids, near-unique strings) turns the front off after a sample.
pub struct ByteCounts<'a> {
    short: HashMap<u128, (u64, &'a [u8])>,
    long: HashMap<&'a [u8], u64>,
    /// Empty until [`FRONT_AFTER`] short values have been counted (a small batch never pays for it),
    /// and again once turned off.
    front: Vec<(u128, u64, &'a [u8])>,
    front_off: bool,
    /// Short values counted (before the front), or through the front since its last check; and those
    /// of the latter that evicted another key.
    seen: u64,
    evicted: u64,
}

/// Entries of the front table (a power of two): 96 KB of 48-byte entries, in L2 beside the batch.
const FRONT: usize = 2048;
/// Short values counted before the front is built.
const FRONT_AFTER: u64 = 4096;
/// Values between the front's checks: it stays on while at most a quarter of them evict a key.
const FRONT_SAMPLE: u64 = 4096;

impl Default for ByteCounts<'_> {
    fn default() -> Self {
        Self {
            short: HashMap::new(),
            long: HashMap::new(),
            front: Vec::new(),
            front_off: false,
            seen: 0,
            evicted: 0,
        }
    }
}

impl<'a> ByteCounts<'a> {
    /// One occurrence of the short key `k` of `v`, through the front table while it is on.
    #[inline(always)]
    fn add_short(&mut self, k: u128, v: &'a [u8]) {
        if self.front.is_empty() {
            // Counted only until the front is built (and never once it is off): `seen` stays small.
            if !self.front_off {
                self.seen += 1;
            }
            if self.front_off || self.seen < FRONT_AFTER {
                self.short.entry(k).or_insert((0, v)).0 += 1;
                return;
            }
            self.front = vec![(crate::short_index::EMPTY, 0, &[][..]); FRONT];
            self.seen = 0;
        }
        self.seen += 1; // reset at every check, at most FRONT_SAMPLE values apart
                        // Fibonacci hashing of the folded key, not the index's mixed slot (`short_index::slot`): in a
                        // direct-mapped table the mixed one evicted more of 1,000 Zipf labels (a 1M-row column:
                        // 7.9 ms against 6.8 to fit).
        let slot = (crate::short_index::fold(k).wrapping_mul(FRONT_MUL) >> (64 - FRONT.trailing_zeros())) as usize;
        if let Some(e) = self.front.get_mut(slot) {
            if e.0 == k {
                e.1 += 1;
                return;
            }
        }
        self.evict(slot, k, v);
    }

    #[cold]
    #[inline(never)]
    fn evict(&mut self, slot: usize, k: u128, v: &'a [u8]) {
        let Some(e) = self.front.get_mut(slot) else { return };
        let old = std::mem::replace(e, (k, 1, v));
        if old.0 != crate::short_index::EMPTY {
            self.short.entry(old.0).or_insert((0, old.2)).0 += old.1;
            self.evicted += 1;
        }
        if self.seen >= FRONT_SAMPLE {
            if self.evicted * 4 > self.seen {
                self.flush_front(); // a quarter of the values evict: the map alone is cheaper
            } else {
                (self.seen, self.evicted) = (0, 0);
            }
        }
    }

    /// Moves the front's counts into the map and turns the front off.
    fn flush_front(&mut self) {
        self.front_off = true;
        for (k, n, v) in std::mem::take(&mut self.front) {
            if k != crate::short_index::EMPTY {
                self.short.entry(k).or_insert((0, v)).0 += n;
            }
        }
    }

    #[inline(always)]
    fn pack(v: &[u8]) -> Option<u128> {
        let mut buf = [0u8; 16];
        buf.get_mut(..v.len())?.copy_from_slice(v);
        (v.len() < 16).then(|| u128::from_le_bytes(buf) | (v.len() as u128) << 120)
    }

    /// The short key of `v` (up to 15 bytes): its bytes and length packed into one u128, the key the
    /// string's feature index is also built from ([`crate::categorical::CategoryCounts`]).
    #[inline(always)]
    pub fn short_key(v: &[u8]) -> Option<u128> {
        Self::pack(v)
    }

    /// The distinct strings with their counts.
    pub fn into_counts(mut self) -> impl Iterator<Item = (&'a [u8], u64)> {
        self.flush_front();
        self.short.into_values().map(|(n, v)| (v, n)).chain(self.long)
    }
}

/// Where the Arrow string readers put each value: distinct values with counts ([`ByteCounts`]), or a
/// feature's slots (`column::SlotSink`, which looks each value up in its categories first).
pub trait StrSink<'a> {
    /// One occurrence of `v`, with its short key ([`ByteCounts::short_key`]) when it has one.
    fn add_keyed(&mut self, key: Option<u128>, v: &'a [u8]);
}

impl<'a> StrSink<'a> for ByteCounts<'a> {
    #[inline(always)]
    fn add_keyed(&mut self, key: Option<u128>, v: &'a [u8]) {
        match key {
            Some(k) => self.add_short(k, v),
            None => *self.long.entry(v).or_insert(0) += 1,
        }
    }
}

/// The front table's multiplier (any odd constant spreads packed labels well).
const FRONT_MUL: u64 = 0x9E37_79B9_7F4A_7C15;

/// One occurrence of `data[a..b]` into `sink`. When 16 bytes can be read from `a`, the short key is one
/// unaligned load masked to the length: copying the bytes into a buffer first and reloading it as a
/// word stalls on store forwarding (measured: 3x slower).
#[inline(always)]
fn add_range<'a, S: StrSink<'a>>(sink: &mut S, data: &'a [u8], a: usize, b: usize) -> Option<()> {
    let v = data.get(a..b)?;
    let len = b - a;
    let key = match data.get(a..a + 16) {
        Some(window) if len < 16 => {
            let word = u128::from_le_bytes(window.try_into().ok()?);
            Some((word & ((1u128 << (8 * len)) - 1)) | (len as u128) << 120)
        }
        _ => ByteCounts::pack(v),
    };
    sink.add_keyed(key, v);
    Some(())
}

/// Adds the distinct strings of one Arrow string array to `counts`, returning its null count. Every
/// offset is checked against the data buffer and the bitmap against the length, so malformed buffers
/// are an error, never an out-of-bounds read; UTF-8 is checked once per distinct value by the caller.
pub fn count_arrow_strings<'a, O: Offset, S: StrSink<'a>>(arr: &ArrowStrings<'a, O>, counts: &mut S) -> Result<u64> {
    let n = arr.offsets.len().saturating_sub(1);
    if let Some((bits, start)) = arr.validity {
        if bits.len().saturating_mul(8) < start.saturating_add(n) {
            return Err(EngineError::invalid("validity bitmap is shorter than the array"));
        }
    }
    let bad = || EngineError::invalid("string offsets are out of bounds or decreasing");
    let mut missing = 0u64;
    for (i, pair) in arr.offsets.windows(2).enumerate() {
        let (Some(a), Some(b)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let (a, b) = (
            usize::try_from(a.get()).map_err(|_| bad())?,
            usize::try_from(b.get()).map_err(|_| bad())?,
        );
        if let Some((bits, start)) = arr.validity {
            let bit = start + i;
            if bits.get(bit / 8).is_some_and(|byte| byte >> (bit % 8) & 1 == 0) {
                missing += 1;
                continue;
            }
        }
        add_range(counts, arr.data, a, b).ok_or_else(bad)?;
    }
    Ok(missing)
}

/// One Arrow `string_view` array (what polars hands out without copying): 16-byte views, `n` of them
/// already sliced to the array, the variadic data buffers, and the validity bitmap.
pub struct ArrowViews<'a> {
    /// `n * 16` bytes: length (u32); then up to 12 inline bytes, or a 4-byte prefix, buffer index
    /// and offset (u32 each).
    pub views: &'a [u8],
    /// The data buffers long strings point into.
    pub buffers: Vec<&'a [u8]>,
    /// Validity bitmap and the bit of the first element, if any value is null.
    pub validity: Option<(&'a [u8], usize)>,
}

/// Adds the distinct strings of one `string_view` array to `counts`, returning its null count. A
/// string of up to 12 bytes is the view itself (length, then the bytes, zero padded), so its key is
/// one shift of the view; longer ones are read from their buffer, bounds-checked.
pub fn count_arrow_views<'a, S: StrSink<'a>>(arr: &ArrowViews<'a>, counts: &mut S) -> Result<u64> {
    if !arr.views.len().is_multiple_of(16) {
        return Err(EngineError::invalid(
            "string views buffer is not a multiple of 16 bytes",
        ));
    }
    let n = arr.views.len() / 16;
    if let Some((bits, start)) = arr.validity {
        if bits.len().saturating_mul(8) < start.saturating_add(n) {
            return Err(EngineError::invalid("validity bitmap is shorter than the array"));
        }
    }
    let bad = || EngineError::invalid("string view points outside its data buffer");
    let mut missing = 0u64;
    for (i, view) in arr.views.chunks_exact(16).enumerate() {
        if let Some((bits, start)) = arr.validity {
            let bit = start + i;
            if bits.get(bit / 8).is_some_and(|byte| byte >> (bit % 8) & 1 == 0) {
                missing += 1;
                continue;
            }
        }
        let word = u128::from_le_bytes(view.try_into().map_err(|_| bad())?);
        let len = (word & 0xFFFF_FFFF) as usize;
        if len <= 12 {
            let v = view.get(4..4 + len).ok_or_else(bad)?;
            counts.add_keyed(Some((word >> 32) | (len as u128) << 120), v);
        } else {
            let field = |k: usize| (word >> (32 * k)) as u32 as usize;
            let data = arr.buffers.get(field(2)).ok_or_else(bad)?;
            let start = field(3);
            let v = data
                .get(start..start.checked_add(len).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            counts.add_keyed(ByteCounts::pack(v), v);
        }
    }
    Ok(missing)
}

/// Distinct integers of `values` with their counts.
pub fn count_ints<C: Code>(values: ArrayView1<'_, C>) -> HashMap<i64, u64> {
    let mut map: HashMap<i64, u64> = HashMap::new();
    for v in values.iter() {
        *map.entry(v.get()).or_insert(0) += 1;
    }
    map
}

/// Distinct strings (`None` = missing) with their counts, and the missing count.
pub fn count_strs<'a>(values: impl Iterator<Item = Option<&'a str>>) -> (HashMap<&'a str, u64>, u64) {
    let mut map: HashMap<&'a str, u64> = HashMap::new();
    let mut missing = 0u64;
    for v in values {
        match v {
            Some(s) => *map.entry(s).or_insert(0) += 1,
            None => missing += 1,
        }
    }
    (map, missing)
}

/// Distinct rows of a numpy `U` array seen as `rows x width` UCS4 code units (trailing NULs are
/// padding, as numpy treats them), decoded to strings only once per distinct value.
pub fn count_ucs4(rows: ArrayView2<'_, u32>) -> Result<Vec<(String, u64)>> {
    let width = rows.ncols();
    let distinct: Vec<(Vec<u32>, u64)> = match rows.as_slice() {
        // Short strings (the common case for categories) hash as one or two machine words and
        // compare inline; padding NULs are part of the key, identical for equal strings of one array.
        Some(flat) if width > 0 && width <= 2 => by_key(flat, width, |r| pack(r, 0) as u64),
        Some(flat) if width > 0 && width <= 4 => by_key(flat, width, |r| pack(r, 0)),
        Some(flat) if width > 0 && width <= 8 => by_key(flat, width, |r| (pack(r, 0), pack(r, 4))),
        // Longer strings hash their bytes in one call (a `&[u32]` would be fed one unit at a time).
        Some(flat) if width > 0 => by_key(flat, width, as_bytes),
        Some(_) => vec![(Vec::new(), rows.nrows() as u64)],
        None => {
            let mut owned: HashMap<Vec<u32>, u64> = HashMap::new();
            for row in rows.rows() {
                *owned.entry(row.iter().copied().collect()).or_insert(0) += 1;
            }
            owned.into_iter().collect()
        }
    };
    distinct
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(units, n)| Ok((decode_ucs4(trim(&units))?, n)))
        .collect()
}

/// Counts rows by `key`, remembering one row per key to decode later.
fn by_key<'a, K: std::hash::Hash + Eq>(
    flat: &'a [u32],
    width: usize,
    key: impl Fn(&'a [u32]) -> K,
) -> Vec<(Vec<u32>, u64)> {
    let mut map: HashMap<K, (u64, &'a [u32])> = HashMap::new();
    for row in flat.chunks_exact(width) {
        map.entry(key(row)).or_insert((0, row)).0 += 1;
    }
    map.into_values().map(|(n, row)| (row.to_vec(), n)).collect()
}

/// Up to four code units from `start` packed into a u128 (missing units are zero padding).
#[inline(always)]
fn pack(row: &[u32], start: usize) -> u128 {
    (0..4).fold(0u128, |acc, i| {
        acc | (u128::from(row.get(start + i).copied().unwrap_or(0)) << (32 * i))
    })
}

fn as_bytes(units: &[u32]) -> &[u8] {
    // SAFETY: any initialized u32 memory is valid as bytes, u8 has alignment 1, and the length in
    // bytes is exactly `4 * units.len()` of the same allocation, borrowed for the same lifetime.
    unsafe { std::slice::from_raw_parts(units.as_ptr().cast::<u8>(), std::mem::size_of_val(units)) }
}

fn trim(row: &[u32]) -> &[u32] {
    let end = row.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    row.get(..end).unwrap_or(&[])
}

fn decode_ucs4(units: &[u32]) -> Result<String> {
    units
        .iter()
        .map(|&u| char::from_u32(u).ok_or_else(|| EngineError::invalid(format!("invalid code point {u:#x} in string"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn codes_count_and_reject_out_of_range() {
        let codes = [0i8, 1, 1, -1, 2, 2, 2];
        let (c, m) = count_codes(ArrayView1::from(&codes[..]), 3).unwrap();
        assert_eq!((c, m), (vec![1, 2, 3], 1));
        assert!(count_codes(ArrayView1::from(&[0i32, 3][..]), 3).is_err());
    }

    #[test]
    fn arrow_strings_count_with_nulls_and_reject_bad_offsets() {
        let data = b"aabbb";
        let offsets = [0i32, 1, 2, 2, 5, 5];
        // Bits: 1,1,1,1,0 -> the last value is null; value 2 is the empty string.
        let validity = [0b0000_1111u8];
        let arr = ArrowStrings {
            offsets: &offsets[..],
            data: &data[..],
            validity: Some((&validity[..], 0)),
        };
        let mut counts = ByteCounts::default();
        assert_eq!(count_arrow_strings(&arr, &mut counts).unwrap(), 1);
        let mut got: Vec<(&[u8], u64)> = counts.into_counts().collect();
        got.sort();
        assert_eq!(got, vec![(&b""[..], 1), (&b"a"[..], 2), (&b"bbb"[..], 1)]);
        let mut long = ByteCounts::default();
        for v in [
            &b"a label longer than fifteen bytes"[..],
            b"a label longer than fifteen bytes",
            b"a\0",
            b"a",
        ] {
            long.add_keyed(ByteCounts::short_key(v), v);
        }
        assert_eq!(long.into_counts().count(), 3);
        let bad = [0i64, 9];
        let arr = ArrowStrings {
            offsets: &bad[..],
            data: &data[..],
            validity: None,
        };
        assert!(count_arrow_strings(&arr, &mut ByteCounts::default()).is_err());
        let backwards = [3i32, 1];
        let arr = ArrowStrings {
            offsets: &backwards[..],
            data: &data[..],
            validity: None,
        };
        assert!(count_arrow_strings(&arr, &mut ByteCounts::default()).is_err());
    }

    #[test]
    fn byte_counts_are_exact_through_the_front_and_after_it_turns_off() {
        // Few labels (counted in the front), many (collisions), near-unique (the front turns off),
        // long ones (the slice map), and a repeated label after them.
        for distinct in [3usize, 600, 50_000] {
            let words: Vec<String> = (0..distinct).map(|i| format!("w{i}")).collect();
            let mut want: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
            let mut counts = ByteCounts::default();
            let mut state = 7u64;
            for i in 0..60_000usize {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let w = words[(state >> 33) as usize % distinct].as_bytes();
                let v: &[u8] = if i % 97 == 0 {
                    b"a label longer than sixteen bytes"
                } else {
                    w
                };
                counts.add_keyed(ByteCounts::short_key(v), v);
                *want.entry(v.to_vec()).or_default() += 1;
            }
            for _ in 0..5 {
                counts.add_keyed(ByteCounts::short_key(b"w1"), b"w1");
            }
            *want.entry(b"w1".to_vec()).or_default() += 5;
            let mut got: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
            for (v, n) in counts.into_counts() {
                *got.entry(v.to_vec()).or_default() += n;
            }
            assert_eq!(got, want, "distinct={distinct}");
        }
    }

    #[test]
    fn arrow_views_match_offsets() {
        let long = b"a string longer than twelve";
        let mut views = Vec::new();
        for s in [&b"ab"[..], &long[..], &b"ab"[..]] {
            let mut v = [0u8; 16];
            v[..4].copy_from_slice(&(s.len() as u32).to_le_bytes());
            if s.len() <= 12 {
                v[4..4 + s.len()].copy_from_slice(s);
            } else {
                v[4..8].copy_from_slice(&s[..4]);
                v[8..12].copy_from_slice(&0u32.to_le_bytes());
                v[12..16].copy_from_slice(&0u32.to_le_bytes());
            }
            views.extend_from_slice(&v);
        }
        let arr = ArrowViews {
            views: &views,
            buffers: vec![&long[..]],
            validity: None,
        };
        let mut counts = ByteCounts::default();
        assert_eq!(count_arrow_views(&arr, &mut counts).unwrap(), 0);
        let mut got: Vec<(&[u8], u64)> = counts.into_counts().collect();
        got.sort();
        assert_eq!(got, vec![(&b"a string longer than twelve"[..], 1), (&b"ab"[..], 2)]);
        // The same strings through offsets land on the same keys.
        let mut both = ByteCounts::default();
        count_arrow_views(&arr, &mut both).unwrap();
        add_range(&mut both, b"ab..", 0, 2);
        let ab: Vec<u64> = both
            .into_counts()
            .filter(|(v, _)| *v == b"ab")
            .map(|(_, n)| n)
            .collect();
        assert_eq!(ab, vec![3], "views and offsets must share one key per string");
        let bad = ArrowViews {
            views: &views,
            buffers: vec![],
            validity: None,
        };
        assert!(count_arrow_views(&bad, &mut ByteCounts::default()).is_err());
    }

    #[test]
    fn ucs4_rows_decode_once() {
        let a = Array2::from_shape_vec((3, 2), vec![97u32, 0, 97, 0, 98, 99]).unwrap();
        let mut got = count_ucs4(a.view()).unwrap();
        got.sort();
        assert_eq!(got, vec![("a".to_string(), 2), ("bc".to_string(), 1)]);
        let strided = count_ucs4(a.t().t()).unwrap();
        assert_eq!(strided.len(), 2);
    }
}
