//! The values of one grid cell that the quantile pass looks inside ([`crate::bracket`]): the values
//! it kept, and for a point cell ([`crate::grid`]) how many copies of the point it counted instead.
//!
//! Order is `f64::total_cmp`, as in the exact path's selection, so `-0.0` sorts before `0.0` and a
//! point is one exact bit pattern; counting below a cut uses IEEE `<`, as the bins do.

use std::cmp::Ordering;

/// One cell's values: the kept ones, and `copies` of `point` that were counted, not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The cell.
    pub cell: usize,
    /// The values kept, in no particular order (reordered by selection).
    pub values: Vec<f64>,
    /// The point of a point cell, and how many of its copies were counted.
    pub point: Option<(f64, u64)>,
}

impl Group {
    /// The `r`-th smallest value of the cell for each `r` of `ranks` (sorted, each below the cell's
    /// count); `None` when a rank is out of range.
    pub fn select(&mut self, ranks: &[usize]) -> Option<Vec<f64>> {
        let Some((v, copies)) = self.point else {
            crate::quantile::multi_select(&mut self.values, ranks);
            return ranks.iter().map(|&r| self.values.get(r).copied()).collect();
        };
        // The kept values differ from the point: those before it, then the copies, then the rest.
        self.values.sort_unstable_by(f64::total_cmp);
        let before = self.values.partition_point(|x| x.total_cmp(&v) == Ordering::Less);
        let copies = usize::try_from(copies).ok()?;
        ranks
            .iter()
            .map(|&r| match r.checked_sub(before) {
                None => self.values.get(r).copied(),
                Some(i) if i < copies => Some(v),
                Some(i) => self.values.get(before + (i - copies)).copied(),
            })
            .collect()
    }

    /// The cell's values `< c`.
    pub fn below(&self, c: f64) -> u64 {
        let kept = self.values.iter().map(|&x| u64::from(x < c)).sum::<u64>();
        kept + self.point.map_or(0, |(v, n)| if v < c { n } else { 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_cell_reads_as_its_sorted_values() {
        let mut all = [-0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 5e-324];
        let mut g = Group {
            cell: 3,
            values: vec![1.0, -0.0, 5e-324, -1.0],
            point: Some((0.0, 4)),
        };
        all.sort_by(f64::total_cmp);
        let ranks: Vec<usize> = (0..all.len()).collect();
        let got = g.select(&ranks).unwrap();
        assert_eq!(
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            all.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(g.below(0.5), 7);
        assert_eq!(g.below(0.0), 1);
        assert_eq!(g.select(&[8]), None);
    }
}
