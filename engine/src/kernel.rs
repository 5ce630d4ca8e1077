//! The bin-search kernels: map values to bin slots and count them, branch-free, in blocks.
//!
//! A value's bin is the number of cut points `c` with `x >= c` (numpy's `searchsorted(side="right")`),
//! computed by comparing each value of a block against every cut and summing the results, which LLVM
//! vectorizes. Counting then spreads increments over four counter lanes so that runs of equal bins do
//! not serialize on one store. The hot loops are compiled twice, for baseline x86-64 and for AVX2, and
//! the AVX2 copy is picked at run time: the wheel users install gets the speed without
//! `-C target-cpu=native`. This module owns no state and knows nothing of Python.

use ndarray::ArrayView1;

/// Values per block: a block is re-read once per cut, so it must stay in L1.
pub const BLOCK: usize = 256;
/// Counter lanes; four breaks the store-to-load dependency between equal consecutive bins.
const LANES: usize = 4;
/// Above this many cuts a binary search beats comparing against every cut.
const LINEAR_MAX_CUTS: usize = 128;

/// Cut points prepared for both float and integer input.
///
/// Integer input is compared in the integer domain against `ceil(cut)`, which is exact: converting an
/// `i64` beyond 2^53 to `f64` would round and could move a value across a cut.
#[derive(Debug, Clone)]
pub struct Search {
    cuts: Vec<f64>,
    lower: f64,
    upper: f64,
    int_cuts: Vec<i64>,
    /// Cuts at or below `i64::MIN`: every integer is `>=` them.
    int_always: u64,
    int_lower: i64,
    int_upper: i64,
    /// Whether the reference range excludes every integer below / above it.
    int_has_lower: bool,
    int_has_upper: bool,
}

/// An element type the kernels accept, widened exactly to `f64` or `i64` before comparison.
pub trait Element: Copy + Send + Sync + 'static {
    /// The kernel this type runs through.
    const KIND: Kind;
    /// Exact widening to f64 (floats only; integers never call it).
    fn to_f64(self) -> f64;
    /// Exact widening to i64 (integers only; floats never call it).
    fn to_i64(self) -> i64;
    /// The slice itself when `Self` is `f64`: the zero-copy fast path.
    fn as_f64s(_: &[Self]) -> Option<&[f64]> {
        None
    }
    /// The slice itself when `Self` is `i64`: the zero-copy fast path.
    fn as_i64s(_: &[Self]) -> Option<&[i64]> {
        None
    }
}

/// Which comparison domain an element type uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Compare as f64.
    Float,
    /// Compare as i64 against integer thresholds.
    Int,
}

macro_rules! element {
    ($t:ty, $kind:expr, $f:expr, $i:expr $(, $fast:ident)?) => {
        impl Element for $t {
            const KIND: Kind = $kind;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                $f(self)
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                $i(self)
            }
            $(
                fn $fast(s: &[Self]) -> Option<&[Self]> {
                    Some(s)
                }
            )?
        }
    };
}
element!(f64, Kind::Float, |x| x, |x: f64| x as i64, as_f64s);
element!(f32, Kind::Float, f64::from, |x: f32| x as i64);
element!(i64, Kind::Int, |x: i64| x as f64, |x| x, as_i64s);
element!(i32, Kind::Int, f64::from, i64::from);
element!(i16, Kind::Int, f64::from, i64::from);
element!(i8, Kind::Int, f64::from, i64::from);
element!(u8, Kind::Int, f64::from, i64::from);
element!(u16, Kind::Int, f64::from, i64::from);
element!(u32, Kind::Int, f64::from, i64::from);

/// 2^63 as f64: the first float above every i64.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

impl Search {
    /// Prepares `cuts` (finite, strictly increasing) and the reference range `[lower, upper]`
    /// (infinite bounds disable the out-of-range count on that side).
    pub fn new(cuts: &[f64], lower: f64, upper: f64) -> Self {
        let mut int_cuts = Vec::with_capacity(cuts.len());
        let mut int_always = 0u64;
        for &c in cuts {
            let t = c.ceil();
            if t <= -TWO_63 {
                int_always += 1;
            } else if t < TWO_63 {
                int_cuts.push(t as i64);
            }
        }
        // x < lower  <=>  x < ceil(lower);  x > upper  <=>  x > floor(upper), for integer x.
        let lo = lower.ceil();
        let hi = upper.floor();
        Self {
            cuts: cuts.to_vec(),
            lower,
            upper,
            int_cuts,
            int_always,
            int_has_lower: lo > -TWO_63,
            int_lower: if lo >= TWO_63 { i64::MAX } else { lo as i64 },
            int_has_upper: hi < TWO_63,
            int_upper: if hi < -TWO_63 { i64::MIN } else { hi as i64 },
        }
    }

    /// Number of bins (cuts + 1).
    pub fn n_bins(&self) -> usize {
        self.cuts.len() + 1
    }
}

/// Linear-mode counters kept inline up to this many cuts (a default histogram has 9), so that counting
/// a column allocates nothing: a 20-column batch of 1,000 rows spent a fifth of its engine time in
/// `malloc` and `free`.
const INLINE_CUTS: usize = 16;

/// Per-call counters. With few cuts, each block is reduced to "how many values are `>=` each cut"
/// (pure vertical SIMD: compare, subtract the mask, no scatter), from which bin counts follow by
/// differences; with many cuts, each value's bin is found by binary search and counted in four lanes.
#[derive(Debug)]
pub struct Tally {
    linear: bool,
    /// Linear mode: non-missing values `>=` each cut, inline for up to [`INLINE_CUTS`] cuts...
    ge_inline: [u64; INLINE_CUTS],
    /// ...else here.
    ge_heap: Vec<u64>,
    cuts: usize,
    /// Binary mode: per-bin counts in [`LANES`] lanes.
    lanes: Vec<u64>,
    /// Values visited, missing included.
    seen: u64,
    /// NaN values.
    missing: u64,
    /// Values outside the reference range, NaN excluded.
    pub out_of_range: u64,
}

impl Tally {
    /// Zeroed counters for `search`'s bins.
    pub fn new(search: &Search) -> Self {
        let cuts = search.cuts.len();
        let linear = cuts <= LINEAR_MAX_CUTS;
        let bins = search.n_bins();
        Self {
            linear,
            ge_inline: [0; INLINE_CUTS],
            ge_heap: vec![0; if linear && cuts > INLINE_CUTS { cuts } else { 0 }],
            cuts,
            lanes: vec![0; if linear { 0 } else { bins * LANES }],
            seen: 0,
            missing: 0,
            out_of_range: 0,
        }
    }

    #[inline(always)]
    fn ge(&self) -> &[u64] {
        match self.ge_inline.get(..self.cuts) {
            Some(inline) if self.linear => inline,
            _ => &self.ge_heap,
        }
    }

    #[inline(always)]
    fn ge_mut(&mut self) -> &mut [u64] {
        match self.ge_inline.get_mut(..self.cuts) {
            Some(inline) if self.linear => inline,
            _ => &mut self.ge_heap,
        }
    }

    /// Folds the counters: returns `(bin counts, missing, out_of_range)`.
    pub fn finish(&self) -> (Vec<u64>, u64, u64) {
        let mut counts = vec![0; self.cuts + 1];
        let (missing, out_of_range) = self.finish_into(&mut counts);
        (counts, missing, out_of_range)
    }

    /// Adds the bin counts to `counts` (saturating; one per bin) and returns `(missing, out_of_range)`.
    pub fn finish_into(&self, counts: &mut [u64]) -> (u64, u64) {
        if self.linear {
            // bin 0 = values below the first cut; bin j = ge[j-1] - ge[j]; last bin = ge[last].
            let mut prev = self.seen - self.missing;
            let mut slots = counts.iter_mut();
            // `ge` first: zip stops on it without taking the last bin's slot.
            for (&g, c) in self.ge().iter().zip(slots.by_ref()) {
                *c = c.saturating_add(prev - g);
                prev = g;
            }
            if let Some(last) = slots.next() {
                *last = last.saturating_add(prev);
            }
        } else {
            let bins = self.lanes.len() / LANES;
            for lane in self.lanes.chunks_exact(bins.max(1)) {
                counts.iter_mut().zip(lane).for_each(|(c, &v)| *c = c.saturating_add(v));
            }
        }
        (self.missing, self.out_of_range)
    }
}

/// Counts every value of `data` into `tally` (contiguous or strided, any [`Element`]).
pub fn count<T: Element>(search: &Search, data: ArrayView1<'_, T>, tally: &mut Tally) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU reports AVX2, the only feature `count_avx2` is compiled for.
            unsafe { count_avx2(search, data, tally) };
            return;
        }
    }
    count_generic(search, data, tally);
}

/// An Arrow-style validity bitmap (LSB first, 1 = present) and the bit of the array's first element.
#[derive(Debug, Clone, Copy)]
pub struct Validity<'a> {
    /// The bitmap bytes.
    pub bits: &'a [u8],
    /// Bit index of element 0.
    pub offset: usize,
}

impl<'a> Validity<'a> {
    /// Whether element `i` is present (out-of-range bits read as absent).
    #[inline(always)]
    pub fn get(&self, i: usize) -> bool {
        let bit = self.offset + i;
        self.bits.get(bit / 8).is_some_and(|b| (b >> (bit % 8)) & 1 == 1)
    }

    /// An error unless the bitmap covers `n` elements.
    pub fn check(&self, n: usize) -> crate::error::Result<()> {
        if self.bits.len().saturating_mul(8) < self.offset.saturating_add(n) {
            return Err(crate::error::EngineError::invalid(format!(
                "validity bitmap of {} bytes is too short for {n} values at bit {}",
                self.bits.len(),
                self.offset
            )));
        }
        Ok(())
    }

    /// The same bitmap seen from element `by`.
    pub fn shifted(self, by: usize) -> Self {
        Self {
            bits: self.bits,
            offset: self.offset + by,
        }
    }
}

/// Wraps a float sink so that values whose validity bit is clear reach it as NaN (missing): how
/// nullable columns (polars, Arrow) are counted without first building a NaN-filled copy.
pub struct MaskNulls<'a, S> {
    /// The sink that sees the masked blocks.
    pub inner: &'a mut S,
    /// The validity of the whole input.
    pub valid: Validity<'a>,
    /// Elements already passed on.
    pub pos: usize,
}

impl<S: BlockSink<f64>> BlockSink<f64> for MaskNulls<'_, S> {
    #[inline(always)]
    fn block(&mut self, xs: &[f64]) {
        let mut buf = [0f64; BLOCK];
        for (k, (b, &x)) in buf.iter_mut().zip(xs).enumerate() {
            *b = if self.valid.get(self.pos + k) { x } else { f64::NAN };
        }
        self.pos += xs.len();
        self.inner.block(buf.get(..xs.len()).unwrap_or(&[]));
    }
}

/// Counts a float array whose nulls are given by `valid` (nulls count as missing).
pub fn count_masked<T: Element>(search: &Search, data: ArrayView1<'_, T>, valid: Validity<'_>, tally: &mut Tally) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU reports AVX2, the only feature `count_masked_avx2` is compiled for.
            unsafe { count_masked_avx2(search, data, valid, tally) };
            return;
        }
    }
    count_masked_generic(search, data, valid, tally);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn count_masked_avx2<T: Element>(
    search: &Search,
    data: ArrayView1<'_, T>,
    valid: Validity<'_>,
    tally: &mut Tally,
) {
    count_masked_generic(search, data, valid, tally);
}

#[inline(always)]
fn count_masked_generic<T: Element>(search: &Search, data: ArrayView1<'_, T>, valid: Validity<'_>, tally: &mut Tally) {
    let mut sink = FloatCount { search, tally };
    f64_blocks(
        data,
        &mut MaskNulls {
            inner: &mut sink,
            valid,
            pos: 0,
        },
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn count_avx2<T: Element>(search: &Search, data: ArrayView1<'_, T>, tally: &mut Tally) {
    count_generic(search, data, tally);
}

/// A consumer of value blocks. A trait rather than a closure because closures are compiled without the
/// caller's `#[target_feature]`: a block kernel behind a closure that LLVM declines to inline runs as
/// baseline x86-64 (measured: 1.6x slower). Implementations mark `block` `#[inline(always)]`.
pub trait BlockSink<W> {
    /// The longest run of contiguous input one [`Self::block`] call takes (converted input always
    /// comes [`BLOCK`] values at a time).
    const SPAN: usize = BLOCK;
    /// Consumes one block of at most [`Self::SPAN`] values.
    fn block(&mut self, xs: &[W]);
}

/// The counting sinks' span: each cut's pass over a block ends in a horizontal sum, so longer blocks
/// pay it less often (a 1,000-value column: once instead of four times); 16 KB of f64 stays in L1.
const COUNT_SPAN: usize = 2048;

struct FloatCount<'a> {
    search: &'a Search,
    tally: &'a mut Tally,
}

impl BlockSink<f64> for FloatCount<'_> {
    const SPAN: usize = COUNT_SPAN;
    #[inline(always)]
    fn block(&mut self, xs: &[f64]) {
        float_block(self.search, xs, self.tally);
    }
}

struct IntCount<'a> {
    search: &'a Search,
    tally: &'a mut Tally,
}

impl BlockSink<i64> for IntCount<'_> {
    const SPAN: usize = COUNT_SPAN;
    #[inline(always)]
    fn block(&mut self, xs: &[i64]) {
        int_block(self.search, xs, self.tally);
    }
}

#[inline(always)]
fn count_generic<T: Element>(search: &Search, data: ArrayView1<'_, T>, tally: &mut Tally) {
    match T::KIND {
        Kind::Float => f64_blocks(data, &mut FloatCount { search, tally }),
        Kind::Int => i64_blocks(data, &mut IntCount { search, tally }),
    }
}

/// Any element as f64 (integers rounded as numpy's float conversion rounds them).
#[inline(always)]
pub fn widen_f64<T: Element>(x: T) -> f64 {
    match T::KIND {
        Kind::Float => x.to_f64(),
        Kind::Int => x.to_i64() as f64,
    }
}

/// Feeds `sink` consecutive blocks of at most [`BLOCK`] values of `data` as f64: the slice itself
/// when the input is contiguous f64, else widened a block at a time into a stack buffer, so memory
/// stays constant whatever the input size or layout.
#[inline(always)]
pub fn f64_blocks<T: Element, S: BlockSink<f64>>(data: ArrayView1<'_, T>, sink: &mut S) {
    if let Some(xs) = data.to_slice().and_then(T::as_f64s) {
        for chunk in xs.chunks(S::SPAN) {
            sink.block(chunk);
        }
        return;
    }
    let mut buf = [0f64; BLOCK];
    gather(data, &mut buf, widen_f64, sink);
}

/// Like [`f64_blocks`] for integer input, widened exactly to i64.
#[inline(always)]
fn i64_blocks<T: Element, S: BlockSink<i64>>(data: ArrayView1<'_, T>, sink: &mut S) {
    if let Some(xs) = data.to_slice().and_then(T::as_i64s) {
        for chunk in xs.chunks(S::SPAN) {
            sink.block(chunk);
        }
        return;
    }
    let mut buf = [0i64; BLOCK];
    gather(data, &mut buf, |x: T| x.to_i64(), sink);
}

#[inline(always)]
fn gather<T: Element, W: Copy, S: BlockSink<W>>(
    data: ArrayView1<'_, T>,
    buf: &mut [W; BLOCK],
    widen: impl Fn(T) -> W,
    sink: &mut S,
) {
    if let Some(xs) = data.to_slice() {
        for chunk in xs.chunks(BLOCK) {
            let n = chunk.len();
            for (b, &x) in buf.iter_mut().zip(chunk) {
                *b = widen(x);
            }
            sink.block(buf.get(..n).unwrap_or(&[]));
        }
        return;
    }
    let len = data.len();
    let stride = data.strides().first().copied().unwrap_or(1);
    let base = data.as_ptr();
    let mut start = 0;
    while start < len {
        let n = (len - start).min(BLOCK);
        for (k, b) in buf.iter_mut().take(n).enumerate() {
            // SAFETY: `start + k < len` and the view guarantees that every element
            // `base + i * stride` for `i < len` is in bounds and initialized for the view's lifetime.
            *b = widen(unsafe { *base.offset((start + k) as isize * stride) });
        }
        sink.block(buf.get(..n).unwrap_or(&[]));
        start += n;
    }
}

#[inline(always)]
fn float_block(search: &Search, xs: &[f64], tally: &mut Tally) {
    tally.seen += xs.len() as u64;
    let missing: u64 = xs.iter().map(|x| u64::from(x.is_nan())).sum();
    tally.missing += missing;
    let (lo, hi) = (search.lower, search.upper);
    tally.out_of_range += xs.iter().map(|&x| u64::from(x < lo) + u64::from(x > hi)).sum::<u64>();
    if tally.linear {
        for (g, &c) in tally.ge_mut().iter_mut().zip(&search.cuts) {
            *g += xs.iter().map(|&x| u64::from(x >= c)).sum::<u64>();
        }
    } else {
        let bins = search.n_bins();
        for (i, &x) in xs.iter().enumerate() {
            if !x.is_nan() {
                let b = search.cuts.partition_point(|&c| c <= x);
                bump(&mut tally.lanes, (i % LANES) * bins + b);
            }
        }
    }
}

#[inline(always)]
fn int_block(search: &Search, xs: &[i64], tally: &mut Tally) {
    let n = xs.len() as u64;
    tally.seen += n;
    let (lo, hi) = (search.int_lower, search.int_upper);
    let (has_lo, has_hi) = (search.int_has_lower, search.int_has_upper);
    tally.out_of_range += xs
        .iter()
        .map(|&x| u64::from(has_lo && x < lo) + u64::from(has_hi && x > hi))
        .sum::<u64>();
    let always = search.int_always as usize;
    if tally.linear {
        let ge = tally.ge_mut();
        let split = always.min(ge.len());
        let (all, rest) = ge.split_at_mut(split);
        all.iter_mut().for_each(|g| *g += n);
        for (g, &c) in rest.iter_mut().zip(&search.int_cuts) {
            *g += xs.iter().map(|&x| u64::from(x >= c)).sum::<u64>();
        }
    } else {
        let bins = search.n_bins();
        for (i, &x) in xs.iter().enumerate() {
            let b = always + search.int_cuts.partition_point(|&c| c <= x);
            bump(&mut tally.lanes, (i % LANES) * bins + b);
        }
    }
}

#[inline(always)]
fn bump(lanes: &mut [u64], i: usize) {
    // Indices are < LANES * bins by construction; `get_mut` keeps a bug from writing out of bounds.
    if let Some(c) = lanes.get_mut(i) {
        *c += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, s};

    fn run<T: Element>(cuts: &[f64], lo: f64, hi: f64, xs: &[T]) -> (Vec<u64>, u64, u64) {
        let search = Search::new(cuts, lo, hi);
        let mut t = Tally::new(&search);
        count(&search, ArrayView1::from(xs), &mut t);
        t.finish()
    }

    #[test]
    fn edges_are_left_closed_and_nan_is_missing() {
        let xs = [
            0.0,
            1.0,
            1.5,
            2.0,
            3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
        ];
        let (c, m, o) = run(&[1.0, 2.0], 0.0, 3.0, &xs);
        assert_eq!(c, vec![3, 2, 3]);
        assert_eq!(m, 1);
        assert_eq!(o, 2);
    }

    #[test]
    fn one_bin_counts_everything_finite() {
        let (c, m, _) = run::<f64>(&[], f64::NEG_INFINITY, f64::INFINITY, &[1.0, f64::NAN, -5.0]);
        assert_eq!((c, m), (vec![2], 1));
    }

    #[test]
    fn int64_beyond_2_53_is_exact() {
        let big = (1i64 << 53) + 1;
        // The cut is 2^53 + 2 as f64; converting 2^53 + 1 to f64 would round to 2^53 (below).
        let cut = ((1i64 << 53) + 2) as f64;
        let (c, _, _) = run(
            &[cut],
            f64::NEG_INFINITY,
            f64::INFINITY,
            &[big, big + 1, i64::MAX, i64::MIN],
        );
        assert_eq!(c, vec![2, 2]);
    }

    #[test]
    fn int_out_of_range_uses_ceil_and_floor() {
        let (_, _, o) = run(&[0.5], 0.5, 2.5, &[0i32, 1, 2, 3]);
        assert_eq!(o, 2);
    }

    #[test]
    fn strided_and_narrow_types_match_contiguous() {
        let v: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
        let a = arr1(&v);
        let strided = a.slice(s![..;3]);
        let want: Vec<f64> = strided.iter().copied().collect();
        let cuts = [-20.0, 0.0, 10.5, 30.0];
        let search = Search::new(&cuts, -50.0, 50.0);
        let mut t1 = Tally::new(&search);
        count(&search, strided, &mut t1);
        let mut t2 = Tally::new(&search);
        count(&search, ArrayView1::from(&want[..]), &mut t2);
        assert_eq!(t1.finish(), t2.finish());
        let f32s: Vec<f32> = want.iter().map(|&x| x as f32).collect();
        assert_eq!(run(&cuts, -50.0, 50.0, &f32s), t2.finish());
    }

    #[test]
    fn many_cuts_use_binary_search_identically() {
        let cuts: Vec<f64> = (0..200).map(f64::from).collect();
        let xs: Vec<f64> = (0..5000).map(|i| f64::from(i) * 0.0413 - 3.0).collect();
        let (c, _, _) = run(&cuts, 0.0, 199.0, &xs);
        let mut want = vec![0u64; 201];
        for &x in &xs {
            want[cuts.partition_point(|&e| e <= x)] += 1;
        }
        assert_eq!(c, want);
    }
}
