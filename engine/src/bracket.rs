//! The single pass behind exact quantiles of large references: narrow value brackets around each
//! wanted rank, placed from a random sample, then one pass that counts every value by its cell of a
//! grid over the brackets ([`crate::grid`]) and keeps the values of the cells a bracket touches.
//!
//! Cells are monotone in the value, so the counts alone say in which cell, and at which rank inside
//! it, each wanted order statistic lies; only that cell's kept values are then selected in. The
//! per-value work is a vectorized cell computation, one counter increment and one branch-free
//! append: no compare against the brackets' ends and no branch per value (the bracket pass it
//! replaced took 3.7 ns a value and this one about 1; see `Pass::order_stats` for the rest). What the
//! pass keeps also answers "how many finite values lie below `c`" for a `c` in a kept cell or an empty
//! one, which lets the caller count the reference on its own cut points without another pass.

use crate::grid::{self, Grid, CELLS, NO_POINT};
use crate::groups::Group;
use crate::kernel::{f64_blocks, widen_f64, BlockSink, Element, MaskNulls, Validity, BLOCK};
use crate::sampling;
use ndarray::{ArrayView1, Axis};
use rayon::prelude::*;

/// Most brackets one pass carries: the wanted ranks then fit in a byte-indexed slot table.
pub const MAX_BRACKETS: usize = 64;
/// Inputs at least this large are split across cores.
const PARALLEL_MIN: usize = 1 << 20;
/// Four counter lanes (one per value position mod 4), so that a run of values in one cell does not
/// serialize on one store. u16 counters keep the lanes at 8 KiB, so they, the tables and the block
/// buffers all stay in L1.
const LANES: usize = 4;
/// Counters a lane holds: the cells and a pad, so that lanes are not 4 KiB apart (equal cells of
/// neighbouring lanes would then alias in the store buffer).
const STRIDE: usize = CELLS + 16;
/// Values a pass takes between folds of its u16 lanes into the u64 counts: a lane gets a quarter of
/// them, so no counter can overflow.
const FOLD_EVERY: u64 = 1 << 17;

/// A block's cells and the values it keeps: in the pass rather than on the stack, which would zero
/// 3 KiB a block.
#[derive(Debug, Clone)]
struct Buffers {
    cells: [u32; BLOCK],
    local: [f64; BLOCK],
}

/// What the pass found: the values per cell, the kept values, and the finite range.
#[derive(Debug, Clone)]
pub struct Pass {
    grid: Grid,
    lanes: Box<[u16; LANES * STRIDE]>,
    buffers: Box<Buffers>,
    /// Values counted in the lanes since they were last folded into `counts`.
    pending: u64,
    counts: Box<[u64; CELLS]>,
    /// Finite values in the cells below each cell (filled by `finish`).
    starts: Box<[u64; CELLS]>,
    /// The values of the candidate cells, in input order (until `order_stats` takes them).
    kept: Vec<f64>,
    /// The cells holding a wanted rank (filled by `order_stats`).
    groups: Vec<Group>,
    /// Smallest finite value.
    pub min: f64,
    /// Largest finite value.
    pub max: f64,
    /// Values seen, whatever they are.
    pub seen: u64,
    /// NaN values and nulls.
    pub nan: u64,
    /// `+inf` values.
    pub pos_inf: u64,
    /// `-inf` values.
    pub neg_inf: u64,
}

impl Pass {
    fn new(grid: &Grid) -> Self {
        Self {
            grid: grid.clone(),
            lanes: Box::new([0; LANES * STRIDE]),
            buffers: Box::new(Buffers {
                cells: [0; BLOCK],
                local: [0.0; BLOCK],
            }),
            pending: 0,
            counts: Box::new([0; CELLS]),
            starts: Box::new([0; CELLS]),
            kept: Vec::new(),
            groups: Vec::new(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            seen: 0,
            nan: 0,
            pos_inf: 0,
            neg_inf: 0,
        }
    }

    /// Finite values.
    pub fn finite(&self) -> u64 {
        self.seen - self.nan - self.pos_inf - self.neg_inf
    }

    fn fold_lanes(&mut self) {
        for lane in self.lanes.chunks_exact_mut(STRIDE) {
            for (n, l) in self.counts.iter_mut().zip(lane.iter_mut()) {
                *n += u64::from(*l);
                *l = 0;
            }
        }
        self.pending = 0;
    }

    /// The totals from the counts: NaN from its cell, the infinities (counted by the scan) taken out
    /// of the outer cells they share, and the finite values before each cell.
    fn finish(&mut self) {
        self.fold_lanes();
        self.nan = self.counts.get(grid::NAN).copied().unwrap_or(0);
        if let Some(n) = self.counts.get_mut(grid::FIRST) {
            *n -= self.neg_inf;
        }
        if let Some(n) = self.counts.get_mut(grid::LAST) {
            *n -= self.pos_inf;
        }
        let mut run = 0u64;
        for (c, (s, &n)) in self.starts.iter_mut().zip(self.counts.iter()).enumerate() {
            *s = run;
            if (grid::FIRST..=grid::LAST).contains(&c) {
                run += n;
            }
        }
    }

    fn absorb(&mut self, mut other: Pass) {
        other.fold_lanes();
        self.counts
            .iter_mut()
            .zip(other.counts.iter())
            .for_each(|(a, b)| *a += b);
        self.kept.append(&mut other.kept);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.seen += other.seen;
        self.neg_inf += other.neg_inf;
        self.pos_inf += other.pos_inf;
    }

    /// The finite cell holding finite rank `k`, and `k`'s rank inside it.
    fn locate(&self, k: u64) -> Option<(usize, usize)> {
        let upto = self.starts.get(grid::FIRST..=grid::LAST)?;
        // The last finite cell starting at or below k; empty cells share their start with the next.
        let c = grid::FIRST + upto.partition_point(|&s| s <= k).checked_sub(1)?;
        let local = k - self.starts.get(c)?;
        (local < *self.counts.get(c)?).then_some((c, usize::try_from(local).ok()?))
    }

    /// The `k`-th smallest finite values for each `k` of `wanted` (sorted, unique), or `None` when one
    /// of them lies in a cell whose values were not kept (the sample misled the brackets).
    pub fn order_stats(&mut self, wanted: &[usize]) -> Option<Vec<f64>> {
        let places: Vec<(usize, usize)> = wanted.iter().map(|&k| self.locate(k as u64)).collect::<Option<_>>()?;
        let mut cells: Vec<usize> = places.iter().map(|&(c, _)| c).collect();
        cells.dedup();
        if !cells
            .iter()
            .all(|&c| self.grid.is_candidate(c) || self.grid.point(c).is_some())
        {
            return None;
        }
        self.groups = self.gather(&cells)?;
        let mut out = Vec::with_capacity(wanted.len());
        for g in self.groups.iter_mut() {
            let local: Vec<usize> = places.iter().filter(|p| p.0 == g.cell).map(|p| p.1).collect();
            out.extend(g.select(&local)?);
        }
        (out.len() == wanted.len()).then_some(out)
    }

    /// The groups of `cells` (sorted, distinct, all candidates) from one scan of the kept values,
    /// which are then dropped; a point cell's copies of its point are what its count leaves over.
    fn gather(&mut self, cells: &[usize]) -> Option<Vec<Group>> {
        let none = u8::try_from(cells.len()).ok()?;
        let mut slot = [none; CELLS];
        let mut groups = Vec::with_capacity(cells.len());
        for (s, &c) in cells.iter().enumerate() {
            *slot.get_mut(c)? = u8::try_from(s).ok()?;
            let room = if self.grid.is_candidate(c) {
                *self.counts.get(c)?
            } else {
                0
            };
            groups.push(Group {
                cell: c,
                values: Vec::with_capacity(usize::try_from(room).ok()?),
                point: None,
            });
        }
        let mut cell = [0u32; BLOCK];
        for block in self.kept.chunks(BLOCK) {
            self.grid.scan(block, &mut cell, 0.0, 0.0);
            for (&x, &c) in block.iter().zip(&cell) {
                // Most kept values belong to no wanted cell: a predictable branch. The outer cells
                // keep their infinities too, which are not finite order statistics.
                if let (Some(g), true) = (
                    groups.get_mut(usize::from(slot[c as usize & (CELLS - 1)])),
                    x.is_finite(),
                ) {
                    g.values.push(x);
                }
            }
        }
        spare::give(std::mem::take(&mut self.kept));
        for g in groups.iter_mut() {
            if let Some(v) = self.grid.point(g.cell) {
                let copies = self.counts.get(g.cell)?.checked_sub(g.values.len() as u64)?;
                g.point = Some((v, copies));
            }
        }
        Some(groups)
    }

    /// Finite values `< c`, when `c` is finite and its cell is empty or one `order_stats` selected in
    /// (else `None`: the pass cannot tell).
    pub fn below(&self, c: f64) -> Option<u64> {
        if !c.is_finite() {
            return None;
        }
        let cell = self.grid.cell(c);
        let start = *self.starts.get(cell)?;
        match self.groups.iter().find(|g| g.cell == cell) {
            Some(g) => Some(start + g.below(c)),
            None => (*self.counts.get(cell)? == 0).then_some(start),
        }
    }
}

/// Runs the pass for `probs` over `data`; `None` when the data is mostly non-finite, too many
/// brackets are wanted, or it has no finite value at all.
pub fn pass<T: Element>(data: ArrayView1<'_, T>, valid: Option<Validity<'_>>, probs: &[f64]) -> Option<Pass> {
    if probs.is_empty() || probs.len() > MAX_BRACKETS {
        return None;
    }
    let mut sample = sampling::sample(&data, valid)?;
    let (los, his) = sampling::brackets(&mut sample, probs);
    let (lo, hi) = sample
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let mut grid = Grid::new(&los, &his, lo, hi);
    let share = grid.learn_points(&sample);
    let mut pass = parallel_pass(&data, valid, &grid, share);
    pass.finish();
    if pass.neg_inf + pass.pos_inf > 0 {
        // The scan's range took the infinities in (a min and a max a value, no finiteness test):
        // the finite range needs another look, only for data that has infinities.
        (pass.min, pass.max) = finite_range(&data, valid);
    }
    (pass.finite() > 0).then_some(pass)
}

/// Smallest and largest finite non-null value (infinities when there is none).
fn finite_range<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>) -> (f64, f64) {
    data.iter()
        .enumerate()
        .filter(|(i, _)| valid.is_none_or(|v| v.get(*i)))
        .map(|(_, &x)| widen_f64(x))
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

/// One spare buffer for kept values per thread. Kept values are megabytes for a large column, and
/// a fresh allocation of that size is fresh pages from the kernel, faulted in and zeroed as the pass
/// first writes them (a fifth of the pass at 1M values); fitting many columns reuses one buffer.
mod spare {
    use std::cell::RefCell;

    /// Largest buffer kept for reuse (4 MiB): bigger ones are freed, not held by an idle thread.
    const MAX: usize = 1 << 19;

    thread_local! {
        static SPARE: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty buffer with room for `n` values, the thread's spare if it has one.
    pub fn take(n: usize) -> Vec<f64> {
        let mut v = SPARE.with(|s| {
            s.try_borrow_mut()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default()
        });
        v.clear();
        v.reserve(n);
        v
    }

    /// Keeps `v` as the thread's spare unless it is too large or smaller than the current one.
    pub fn give(v: Vec<f64>) {
        if v.capacity() <= MAX {
            SPARE.with(|s| {
                if let Ok(mut s) = s.try_borrow_mut() {
                    if v.capacity() > s.capacity() {
                        *s = v;
                    }
                }
            });
        }
    }
}

/// Runs the pass over row chunks on all cores (exact: counts add, kept values concatenate).
fn parallel_pass<T: Element>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, grid: &Grid, share: f64) -> Pass {
    let workers = if data.len() >= PARALLEL_MIN {
        crate::parallel::cores()
    } else {
        1
    };
    let pool = if workers > 1 {
        crate::parallel::pool(workers)
    } else {
        None
    };
    let one = |(start, part): (usize, ArrayView1<'_, T>)| {
        let mut pass = Pass::new(grid);
        // Room for what the sample says will be kept (plus a margin), so that it rarely grows by copying.
        pass.kept = spare::take((share * 1.25 * part.len() as f64) as usize + BLOCK);
        run_pass(&part, valid.map(|v| v.shifted(start)), &mut pass);
        pass
    };
    let Some(pool) = pool else { return one((0, data.view())) };
    let chunk = data.len().div_ceil(workers).max(1);
    let parts: Vec<(usize, ArrayView1<'_, T>)> = data
        .axis_chunks_iter(Axis(0), chunk)
        .enumerate()
        .map(|(i, p)| (i * chunk, p))
        .collect();
    let passes: Vec<Pass> = pool.install(|| parts.into_par_iter().map(one).collect());
    let mut total = Pass::new(grid);
    for p in passes {
        total.absorb(p);
    }
    total
}

/// Feeds `sink` the blocks of `data`, nulls as NaN, through the AVX2 copy of the loop when the CPU
/// has it.
fn run_pass<T: Element, S: BlockSink<f64>>(data: &ArrayView1<'_, T>, valid: Option<Validity<'_>>, sink: &mut S) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU reports AVX2, the only feature `run_pass_avx2` is compiled for.
            unsafe { run_pass_avx2(data, valid, sink) };
            return;
        }
    }
    run_pass_generic(data, valid, sink);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_pass_avx2<T: Element, S: BlockSink<f64>>(
    data: &ArrayView1<'_, T>,
    valid: Option<Validity<'_>>,
    sink: &mut S,
) {
    run_pass_generic(data, valid, sink);
}

#[inline(always)]
fn run_pass_generic<T: Element, S: BlockSink<f64>>(
    data: &ArrayView1<'_, T>,
    valid: Option<Validity<'_>>,
    sink: &mut S,
) {
    match valid {
        Some(valid) => f64_blocks(
            data.view(),
            &mut MaskNulls {
                inner: sink,
                valid,
                pos: 0,
            },
        ),
        None => f64_blocks(data.view(), sink),
    }
}

impl BlockSink<f64> for Pass {
    #[inline(always)]
    fn block(&mut self, xs: &[f64]) {
        pass_block(xs, self);
    }
}

/// One block: the cells, range and infinities, then each value counted by its cell and appended to
/// the kept values when its cell keeps it.
#[inline(always)]
fn pass_block(xs: &[f64], pass: &mut Pass) {
    if pass.pending >= FOLD_EVERY {
        pass.fold_lanes();
    }
    pass.pending += xs.len() as u64;
    pass.seen += xs.len() as u64;
    let Buffers { cells, local } = &mut *pass.buffers;
    let scan = pass.grid.scan(xs, cells, pass.min, pass.max);
    (pass.min, pass.max) = (scan.lo, scan.hi);
    pass.neg_inf += scan.neg_inf;
    pass.pos_inf += scan.pos_inf;
    let (keep, points) = pass.grid.tables();
    // Per column, not per value: the point test costs a third of the loop, so it runs only when
    // the sample found point cells.
    let len = match points {
        Some(points) => count_and_keep::<true>(cells, xs, &mut pass.lanes, (keep, points), local),
        None => count_and_keep::<false>(cells, xs, &mut pass.lanes, (keep, &NO_POINTS), local),
    };
    pass.kept.extend_from_slice(local.get(..len).unwrap_or(&[]));
}

/// The point table of a grid without point cells (never read: `count_and_keep::<false>`).
static NO_POINTS: [u64; CELLS] = [NO_POINT; CELLS];

/// Counts each value in its cell's lane and appends it to `local` when its cell keeps it; returns
/// how many were appended. The tables come in as separate borrows so that the compiler keeps their
/// addresses in registers (through `&mut Pass` it reloaded them after every store), and the masks
/// keep every index provably in bounds: no checks and no branches.
#[inline(always)]
fn count_and_keep<const POINTS: bool>(
    cells: &[u32; BLOCK],
    xs: &[f64],
    lanes: &mut [u16; LANES * STRIDE],
    (keep, points): (&[bool; CELLS], &[u64; CELLS]),
    local: &mut [f64; BLOCK],
) -> usize {
    let mut len = 0usize;
    let mut one = |lane: usize, c: u32, x: f64, len: &mut usize| {
        let c = c as usize & (CELLS - 1);
        lanes[lane * STRIDE + c] = lanes[lane * STRIDE + c].wrapping_add(1);
        local[*len & (BLOCK - 1)] = x;
        // A point's copies are counted, not kept; every other value of a kept cell is kept.
        *len += usize::from(keep[c] & (!POINTS || x.to_bits() != points[c]));
    };
    // Unrolled by the lane count, so that each lane's offset is a constant.
    let mut quads = xs.chunks_exact(LANES);
    for (q, cq) in quads.by_ref().zip(cells.chunks_exact(LANES)) {
        for (k, (&x, &c)) in q.iter().zip(cq).enumerate() {
            one(k, c, x, &mut len);
        }
    }
    let done = xs.len() - quads.remainder().len();
    for (&x, &c) in quads.remainder().iter().zip(cells.iter().skip(done)) {
        one(0, c, x, &mut len);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_counts_match_a_direct_count() {
        let v: Vec<f64> = (0..200_000)
            .map(|i| match i % 1000 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => ((i * 7919) % 100_003) as f64 / 7.0,
            })
            .collect();
        let probs = [0.1, 0.5, 0.9];
        let mut p = pass(ArrayView1::from(&v[..]), None, &probs).unwrap();
        assert_eq!((p.nan, p.pos_inf, p.neg_inf, p.seen), (200, 200, 200, 200_000));
        let n = p.finite() as usize;
        let stats = p.order_stats(&[n / 10, n / 2, 9 * n / 10]).unwrap();
        let direct = |c: f64| v.iter().filter(|&&x| x.is_finite() && x < c).count() as u64;
        for c in stats {
            assert_eq!(p.below(c), Some(direct(c)));
        }
        for c in [f64::MAX, f64::MIN, 0.0, 7000.0] {
            assert!(p.below(c).is_none_or(|b| b == direct(c)));
        }
        assert_eq!(p.below(f64::INFINITY), None);
    }
}
