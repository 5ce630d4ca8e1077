//! A uniform grid over the span of the quantile brackets, which classifies a value against every
//! bracket at once: one subtraction, one multiplication and one table load per value, whatever the
//! number of brackets, where comparing against each bracket's ends costs two compares per bracket.
//!
//! The cell of a value is monotone in the value (IEEE subtraction of a constant and multiplication
//! by a positive constant round monotonically, and the floor and clamp keep the order), so a cell
//! that no bracket's ends fall around holds only values that lie outside every bracket, and the same
//! number of brackets is below each of them. Only values in cells a bracket touches are candidates,
//! compared exactly against the brackets' ends. The grid is a filter: it never decides an answer.

/// Inner cells; the grid also has one cell below its span and one above (and for NaN).
const CELLS: usize = 1024;
/// Table length: a power of two above `CELLS + 2`, so lookups are masked, never checked.
const TABLE: usize = 2048;
/// 2^52: the float whose unit in the last place is 1.
const MAGIC: f64 = 4_503_599_627_370_496.0;
/// The table entry of a cell that a bracket touches.
pub const CANDIDATE: u8 = 127;
/// Counter slots: entries are bracket counts (at most [`crate::bracket::MAX_BRACKETS`]) or
/// [`CANDIDATE`].
pub const SLOTS: usize = 128;

/// The grid: its span, scale and the entry of each cell (the number of brackets wholly below the
/// cell, or [`CANDIDATE`]).
#[derive(Debug, Clone)]
pub struct Grid {
    g0: f64,
    g1: f64,
    scale: f64,
    table: Box<[u8; TABLE]>,
}

impl Grid {
    /// A grid over the brackets `[los[j], his[j]]` (disjoint, increasing), spanning from the first
    /// lower end to the last upper end; an end at the limits of f64 (an open bracket) is replaced by
    /// the sample's extreme, `lo` or `hi`, so the span stays that of the data.
    pub fn new(los: &[f64], his: &[f64], lo: f64, hi: f64) -> Self {
        let first = los.first().copied().unwrap_or(lo);
        let last = his.last().copied().unwrap_or(hi);
        let g0 = if first > f64::MIN { first } else { lo };
        let g1 = if last < f64::MAX { last } else { hi }.max(g0);
        let scale = CELLS as f64 / (g1 - g0);
        let scale = if scale.is_finite() { scale } else { 0.0 };
        let mut grid = Self {
            g0,
            g1,
            scale,
            table: Box::new([0u8; TABLE]),
        };
        let spans: Vec<(usize, usize)> = los
            .iter()
            .zip(his)
            .map(|(&l, &h)| (grid.cell(l), grid.cell(h)))
            .collect();
        for (c, entry) in grid.table.iter_mut().enumerate().take(CELLS + 2) {
            let touched = spans.iter().any(|&(a, b)| a <= c && c <= b);
            let below = spans.iter().filter(|&&(_, b)| b < c).count();
            *entry = if touched {
                CANDIDATE
            } else {
                u8::try_from(below).unwrap_or(CANDIDATE)
            };
        }
        grid
    }

    /// The cell of `x`: 0 below the span, `1..=CELLS` inside it, `CELLS + 1` above it or NaN.
    #[inline(always)]
    pub fn cell(&self, x: f64) -> usize {
        if x >= self.g0 && x <= self.g1 {
            // The product is in [0, CELLS] or NaN (inf * 0 when the span overflows), and f64::min
            // maps NaN to the last cell, above every other inner cell. Adding 2^52 rounds it to an
            // integer held in the low mantissa bits: a vectorizable cast (a saturating `as` is not),
            // rounding to nearest rather than down, which is as monotone.
            let t = ((x - self.g0) * self.scale).min((CELLS - 1) as f64);
            1 + ((t + MAGIC).to_bits() & (TABLE as u64 - 1)) as usize
        } else if x < self.g0 {
            0
        } else {
            CELLS + 1
        }
    }

    /// The entry of cell `c`.
    #[inline(always)]
    pub fn entry(&self, c: usize) -> u8 {
        self.table[c & (TABLE - 1)]
    }

    /// Whether the cell below the span (where -inf falls) is a candidate cell.
    pub fn low_cell_is_candidate(&self) -> bool {
        self.entry(0) == CANDIDATE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_count_the_brackets_below_and_mark_the_touched_cells() {
        let g = Grid::new(&[0.0, 5.0], &[1.0, 6.0], -3.0, 9.0);
        assert_eq!(g.entry(g.cell(-1.0)), 0);
        assert_eq!(g.entry(g.cell(0.5)), CANDIDATE);
        assert_eq!(g.entry(g.cell(3.0)), 1);
        assert_eq!(g.entry(g.cell(5.5)), CANDIDATE);
        assert_eq!(g.entry(g.cell(7.0)), 2);
        assert_eq!(g.entry(g.cell(f64::NAN)), 2);
        let open = Grid::new(&[f64::MIN], &[f64::MAX], -1.0, 1.0);
        assert!(open.low_cell_is_candidate());
        assert_eq!(open.entry(open.cell(f64::INFINITY)), CANDIDATE);
    }

    #[test]
    fn cells_are_monotone_even_when_the_span_overflows() {
        let g = Grid::new(&[-1e308], &[1e308], -1e308, 1e308);
        let xs = [-1e308, -1.0, 0.0, 1.0, 1e307, 1e308];
        assert!(xs.windows(2).all(|w| g.cell(w[0]) <= g.cell(w[1])));
    }
}
