//! A uniform grid of cells over the span of the quantile brackets: the quantile pass counts every
//! value by its cell, and keeps the values of the cells a bracket touches.
//!
//! The cell of a value is monotone in the value (IEEE subtraction of a constant, multiplication by
//! a positive constant, the clamp and the truncation all keep the order), so every value of a lower
//! cell is `<=` every value of a higher one: once the cells are counted, the `k`-th smallest value
//! is a known rank inside one known cell. The grid only decides where values are looked for, never
//! an answer. NaN has a cell of its own; -inf shares the lowest cell and +inf the highest, and the
//! block scan counts them apart.

/// Inner cells of the span.
const INNER: usize = 1021;
/// All cells, a power of two so that masked indices need no bounds check: NaN, finite below the
/// span (and -inf), the inner cells, finite above it (and +inf).
pub const CELLS: usize = 1024;
/// The cell of NaN (where `cvttpd2dq` sends it: its "integer indefinite", masked, is 0).
pub const NAN: usize = 0;
/// The first cell of the ordered values (-inf and the finite values well below the span).
pub const FIRST: usize = 1;
/// The last cell (the finite values above the span, and +inf).
pub const LAST: usize = INNER + 2;
/// Sampled values a candidate cell needs, all bitwise equal, to be taken for a point cell.
const POINT_MIN: usize = 8;
/// The point of a cell that is not a point cell: a NaN's bits, which no finite value has.
pub const NO_POINT: u64 = u64::MAX;

/// The grid: its origin and scale; which cells a bracket touches (the candidates, whose values the
/// pass keeps); and the point cells, touched cells where the sample saw one value only (heavy ties,
/// discrete data), whose copies of the point are counted, not kept (their other values are kept).
#[derive(Debug, Clone)]
pub struct Grid {
    g0: f64,
    scale: f64,
    candidate: Box<[bool; CELLS]>,
    /// The point's bits per cell, [`NO_POINT`] for cells that are not point cells.
    points: Box<[u64; CELLS]>,
    /// Per cell whether a pass keeps values of it: candidates, and the point cells' other values.
    keep: Box<[bool; CELLS]>,
    any_point: bool,
}

/// What the scan of one block found besides the cells: its range (infinities included, NaN not)
/// and its infinities.
#[derive(Debug, Clone, Copy)]
pub struct Scan {
    /// Smallest non-NaN value, or the `lo` passed in.
    pub lo: f64,
    /// Largest non-NaN value, or the `hi` passed in.
    pub hi: f64,
    /// `-inf` values.
    pub neg_inf: u64,
    /// `+inf` values.
    pub pos_inf: u64,
}

impl Grid {
    /// A grid over the brackets `[los[j], his[j]]` (increasing), spanning from the first lower end to
    /// the last upper end; an end at the limits of f64 (an open bracket) is replaced by the sample's
    /// extreme, `lo` or `hi`, so the span stays that of the data.
    pub fn new(los: &[f64], his: &[f64], lo: f64, hi: f64) -> Self {
        let first = los.first().copied().unwrap_or(lo);
        let last = his.last().copied().unwrap_or(hi);
        let g0 = if first > f64::MIN { first } else { lo };
        let g1 = if last < f64::MAX { last } else { hi }.max(g0);
        // The span maps to [0, INNER - 1], so that both ends lie in inner cells and the outer cells
        // are not kept with them. The scale stays finite and positive whatever the span (an empty,
        // subnormal or overflowing one only crowds the cells): infinities then land in the outer
        // cells, and `0 * scale` is never NaN.
        let span = g1 - g0;
        let scale = (INNER - 1) as f64 / span;
        let scale = match scale {
            s if s.is_finite() && s > 0.0 => s,
            _ if span > 1.0 => (INNER - 1) as f64 / f64::MAX,
            _ if span == 0.0 => 1.0,
            _ => f64::MAX,
        };
        let mut grid = Self {
            g0,
            scale,
            candidate: Box::new([false; CELLS]),
            points: Box::new([NO_POINT; CELLS]),
            keep: Box::new([false; CELLS]),
            any_point: false,
        };
        for (&l, &h) in los.iter().zip(his) {
            let (a, b) = (grid.cell(l), grid.cell(h));
            grid.candidate.iter_mut().take(b + 1).skip(a).for_each(|e| *e = true);
        }
        grid.keep = grid.candidate.clone();
        grid
    }

    /// Turns into point cells the candidate cells where `sample` has at least [`POINT_MIN`] values,
    /// all bitwise equal; returns the share of the sample in the remaining candidate cells (what a
    /// pass keeps). Exactness never depends on it: a point cell's other values are kept.
    pub fn learn_points(&mut self, sample: &[f64]) -> f64 {
        // Per cell: sampled values, the last one's bits, whether all were equal.
        let mut seen = vec![(0u32, NO_POINT, true); CELLS];
        let mut cells = Vec::with_capacity(sample.len());
        let mut out = [0u32; crate::kernel::BLOCK];
        for block in sample.chunks(crate::kernel::BLOCK) {
            self.scan(block, &mut out, 0.0, 0.0);
            cells.extend_from_slice(out.get(..block.len()).unwrap_or(&[]));
        }
        for (&x, &c) in sample.iter().zip(&cells) {
            if let Some((n, last, same)) = seen.get_mut(c as usize) {
                *same &= *n == 0 || *last == x.to_bits();
                *last = x.to_bits();
                *n += 1;
            }
        }
        for ((cand, p), &(n, bits, same)) in self.candidate.iter_mut().zip(self.points.iter_mut()).zip(&seen) {
            if *cand && same && n as usize >= POINT_MIN {
                (*cand, *p) = (false, bits);
                self.any_point = true;
            }
        }
        let kept = cells.iter().filter(|&&c| self.is_candidate(c as usize)).count();
        kept as f64 / sample.len().max(1) as f64
    }

    /// The point of cell `c`, if it is a point cell.
    pub fn point(&self, c: usize) -> Option<f64> {
        let bits = *self.points.get(c)?;
        (bits != NO_POINT).then(|| f64::from_bits(bits))
    }

    /// Whether all the values of cell `c` are kept (a bracket touches it and it is no point cell).
    #[inline(always)]
    pub fn is_candidate(&self, c: usize) -> bool {
        self.candidate[c & (CELLS - 1)]
    }

    /// The cell of `x` (below [`CELLS`]), exactly as [`Grid::scan`] computes it: clamp `(x - g0) *
    /// scale` to `[-1, INNER]` with NaN passing through, add 2, truncate (NaN to cell 0).
    #[inline(always)]
    pub fn cell(&self, x: f64) -> usize {
        let t = (x - self.g0) * self.scale;
        let t = if t.is_nan() || t >= -1.0 { t } else { -1.0 };
        let t = if t.is_nan() || t <= INNER as f64 {
            t
        } else {
            INNER as f64
        };
        if t.is_nan() {
            NAN
        } else {
            (t + 2.0) as usize & (CELLS - 1)
        }
    }

    /// The cells of `xs` into `out` (a block at most), and the block's range and infinities.
    #[inline(always)]
    pub fn scan(&self, xs: &[f64], out: &mut [u32; crate::kernel::BLOCK], lo: f64, hi: f64) -> Scan {
        let mut s = Scan {
            lo,
            hi,
            neg_inf: 0,
            pos_inf: 0,
        };
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        {
            // A cached flag, one load a block; see `grid_avx2` for why the scan is written out.
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU reports AVX2, the only feature `grid_avx2::scan` is compiled for.
                (done, s) = unsafe { crate::grid_avx2::scan(self.g0, self.scale, INNER as f64, xs, out, lo, hi) };
            }
        }
        let rest = xs.get(done..).unwrap_or(&[]);
        for (c, &x) in out.iter_mut().skip(done).zip(rest) {
            *c = self.cell(x) as u32;
            s.lo = if x < s.lo { x } else { s.lo };
            s.hi = if x > s.hi { x } else { s.hi };
            s.neg_inf += u64::from(x == f64::NEG_INFINITY);
            s.pos_inf += u64::from(x == f64::INFINITY);
        }
        s
    }

    /// What the pass reads per value: which cells it keeps values of, and the points when there
    /// are point cells.
    #[inline(always)]
    pub fn tables(&self) -> (&[bool; CELLS], Option<&[u64; CELLS]>) {
        (&self.keep, self.any_point.then_some(&*self.points))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A value of any bit pattern, a special value, or one within two ulps of a cell boundary of the
    /// grid with origin `g0` and `scale` cells per unit.
    fn value(g0: f64, scale: f64) -> impl Strategy<Value = f64> {
        let specials = vec![
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7FF0_0000_0000_0001),
            f64::from_bits(0xFFF8_0000_0000_0042),
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
        ];
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            prop::sample::select(specials),
            (0..INNER as i64 + 2, -2..=2i64).prop_map(move |(k, ulps)| {
                let edge = g0 + k as f64 / scale;
                f64::from_bits((edge.to_bits() as i64).wrapping_add(ulps) as u64)
            }),
        ]
    }

    /// A grid's range and a block of values for it.
    fn block() -> impl Strategy<Value = (f64, f64, Vec<f64>)> {
        let widths = prop_oneof![Just(0.0), 1e-300f64..1e-3, 1e-3f64..1e6, Just(1e308)];
        (-1e6f64..1e6, widths).prop_flat_map(|(lo, width)| {
            let g = Grid::new(&[lo], &[lo + width], lo, lo + width);
            let values = proptest::collection::vec(value(g.g0, g.scale), 0..=crate::kernel::BLOCK);
            (Just(lo), Just(width), values)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The block scan (AVX2 where the CPU has it) gives every value the cell `cell` gives it, and
        /// the same range and infinity counts as a scalar fold (a zero's sign aside).
        #[test]
        fn scan_agrees_with_the_scalar_cell((lo, width, xs) in block()) {
            let g = Grid::new(&[lo], &[lo + width], lo, lo + width);
            let mut out = [0u32; crate::kernel::BLOCK];
            let s = g.scan(&xs, &mut out, f64::INFINITY, f64::NEG_INFINITY);
            for (i, (&x, &c)) in xs.iter().zip(&out).enumerate() {
                prop_assert_eq!(c as usize, g.cell(x), "value {} ({:#x}) at {}", x, x.to_bits(), i);
            }
            let finite_or_inf = xs.iter().copied().filter(|x| !x.is_nan());
            let lo_want = finite_or_inf.clone().fold(f64::INFINITY, f64::min);
            let hi_want = finite_or_inf.fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(s.lo == lo_want && s.hi == hi_want, "range {:?} vs {:?}", (s.lo, s.hi), (lo_want, hi_want));
            let count = |v: f64| xs.iter().filter(|&&x| x == v).count() as u64;
            prop_assert_eq!((s.neg_inf, s.pos_inf), (count(f64::NEG_INFINITY), count(f64::INFINITY)));
        }
    }

    #[test]
    fn bracket_cells_are_candidates_and_nan_has_its_own() {
        let g = Grid::new(&[0.0, 5.0], &[1.0, 6.0], -3.0, 9.0);
        assert!(!g.is_candidate(g.cell(-1.0)));
        assert!(g.is_candidate(g.cell(0.5)));
        assert!(!g.is_candidate(g.cell(3.0)));
        assert!(g.is_candidate(g.cell(5.5)));
        assert!(!g.is_candidate(g.cell(7.0)));
        assert_eq!(g.cell(f64::NAN), NAN);
        assert_eq!(g.cell(-f64::NAN), NAN);
        assert_eq!(g.cell(f64::from_bits(0x7FF0_0000_0000_0001)), NAN);
        assert_eq!((g.cell(f64::NEG_INFINITY), g.cell(f64::INFINITY)), (FIRST, LAST));
        assert_eq!((g.cell(-1e300), g.cell(1e300)), (FIRST, LAST));
        let open = Grid::new(&[f64::MIN], &[f64::MAX], -1.0, 1.0);
        assert!(open.is_candidate(FIRST) && open.is_candidate(LAST) && !open.is_candidate(NAN));
    }

    #[test]
    fn cells_are_monotone_whatever_the_span() {
        let xs = [
            f64::NEG_INFINITY,
            f64::MIN,
            -1e308,
            -1.0,
            -0.0,
            0.0,
            5e-324,
            1e-300,
            1.0,
            1e307,
            1e308,
            f64::MAX,
            f64::INFINITY,
        ];
        for g in [
            Grid::new(&[-1e308], &[1e308], -1e308, 1e308),
            Grid::new(&[0.0], &[1.0], 0.0, 1.0),
            Grid::new(&[2.0], &[2.0], 2.0, 2.0),
            Grid::new(&[0.0], &[5e-324], 0.0, 5e-324),
        ] {
            assert!(xs.windows(2).all(|w| g.cell(w[0]) <= g.cell(w[1])));
            assert!(xs.iter().all(|&x| (FIRST..=LAST).contains(&g.cell(x))));
            let mut out = [0u32; crate::kernel::BLOCK];
            let s = g.scan(&xs, &mut out, f64::INFINITY, f64::NEG_INFINITY);
            assert!(xs.iter().zip(&out).all(|(&x, &c)| c as usize == g.cell(x)));
            assert_eq!(
                (s.lo, s.hi, s.neg_inf, s.pos_inf),
                (f64::NEG_INFINITY, f64::INFINITY, 1, 1)
            );
        }
    }
}
