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
    fn ucs4_rows_decode_once() {
        let a = Array2::from_shape_vec((3, 2), vec![97u32, 0, 97, 0, 98, 99]).unwrap();
        let mut got = count_ucs4(a.view()).unwrap();
        got.sort();
        assert_eq!(got, vec![("a".to_string(), 2), ("bc".to_string(), 1)]);
        let strided = count_ucs4(a.t().t()).unwrap();
        assert_eq!(strided.len(), 2);
    }
}
