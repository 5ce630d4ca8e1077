//! Drift statistics, all computed from counts (or proportions) that share one binning.
//!
//! Conventions: `expected` is the reference, `actual` the current window. Where a logarithm meets an
//! empty bin (PSI, KL), proportions are floored at `eps` (default [`DEFAULT_EPS`] = 1e-4) and then
//! renormalized to sum to 1, so every score is finite. Jensen-Shannon and Hellinger need no smoothing.

use crate::error::{EngineError, Result};
use crate::special::chi2_sf;

/// Floor applied to proportions before taking logarithms (PSI, KL).
pub const DEFAULT_EPS: f64 = 1e-4;
/// Expected count below which chi-square cells are pooled for drift verdicts (Cochran's rule).
pub const DEFAULT_MIN_EXPECTED: f64 = 5.0;

/// A chi-square test result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquare {
    /// The statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub dof: u64,
    /// Upper-tail probability of the statistic under the chi-square distribution with `dof`.
    pub p_value: f64,
}

impl ChiSquare {
    fn new(statistic: f64, dof: u64) -> Self {
        let p_value = if dof == 0 { 1.0 } else { chi2_sf(statistic, dof as f64) };
        Self {
            statistic,
            dof,
            p_value,
        }
    }
}

fn check_counts(name: &str, v: &[f64]) -> Result<f64> {
    if let Some(bad) = v.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return Err(EngineError::invalid(format!(
            "{name} must be finite and non-negative, got {bad}"
        )));
    }
    let sum: f64 = v.iter().sum();
    if v.is_empty() || sum <= 0.0 {
        return Err(EngineError::invalid(format!("{name} are empty: nothing to compare")));
    }
    Ok(sum)
}

fn check_pair(a: &[f64], b: &[f64]) -> Result<()> {
    if a.len() != b.len() {
        return Err(EngineError::invalid(format!(
            "length mismatch: {} bins vs {} bins",
            a.len(),
            b.len()
        )));
    }
    Ok(())
}

/// Proportions floored at `eps` and renormalized to sum to 1.
pub fn smoothed(name: &str, counts: &[f64], eps: f64) -> Result<Vec<f64>> {
    if !(0.0..1.0).contains(&eps) {
        return Err(EngineError::invalid(format!("eps must be in [0, 1), got {eps}")));
    }
    let sum = check_counts(name, counts)?;
    let floored: Vec<f64> = counts.iter().map(|c| (c / sum).max(eps)).collect();
    let total: f64 = floored.iter().sum();
    Ok(floored.into_iter().map(|p| p / total).collect())
}

/// Population Stability Index: `sum((a_i - e_i) * ln(a_i / e_i))` over smoothed proportions.
pub fn psi(expected: &[f64], actual: &[f64], eps: f64) -> Result<f64> {
    check_pair(expected, actual)?;
    let e = smoothed("expected counts", expected, eps)?;
    let a = smoothed("actual counts", actual, eps)?;
    Ok(e.iter().zip(&a).map(|(e, a)| (a - e) * (a / e).ln()).sum())
}

/// Kullback-Leibler divergence `KL(actual || expected) = sum(a_i * ln(a_i / e_i))` (nats) over smoothed
/// proportions, as `scipy.stats.entropy(a, e)` gives on the smoothed vectors.
pub fn kl_divergence(expected: &[f64], actual: &[f64], eps: f64) -> Result<f64> {
    check_pair(expected, actual)?;
    let e = smoothed("expected counts", expected, eps)?;
    let a = smoothed("actual counts", actual, eps)?;
    Ok(e.iter()
        .zip(&a)
        .map(|(e, a)| if *a > 0.0 { a * (a / e).ln() } else { 0.0 })
        .sum())
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Jensen-Shannon distance, base 2 (in [0, 1]), as `scipy.spatial.distance.jensenshannon(p, q, base=2)`:
/// `sqrt((KL(p || m) + KL(q || m)) / 2 / ln 2)` with `m = (p + q) / 2`.
pub fn js_distance(expected: &[f64], actual: &[f64]) -> Result<f64> {
    check_pair(expected, actual)?;
    let (se, sa) = (
        check_counts("expected counts", expected)?,
        check_counts("actual counts", actual)?,
    );
    let (mut left, mut right) = (0.0, 0.0);
    for (e, a) in expected.iter().zip(actual) {
        let (p, q) = (e / se, a / sa);
        let m = (p + q) / 2.0;
        left += rel_entr(p, m);
        right += rel_entr(q, m);
    }
    let js = (left + right) / std::f64::consts::LN_2;
    Ok((js / 2.0).max(0.0).sqrt())
}

/// Hellinger distance in [0, 1]: `sqrt(sum((sqrt(p_i) - sqrt(q_i))^2) / 2)`.
pub fn hellinger(expected: &[f64], actual: &[f64]) -> Result<f64> {
    check_pair(expected, actual)?;
    let (se, sa) = (
        check_counts("expected counts", expected)?,
        check_counts("actual counts", actual)?,
    );
    let s: f64 = expected
        .iter()
        .zip(actual)
        .map(|(e, a)| ((e / se).sqrt() - (a / sa).sqrt()).powi(2))
        .sum();
    Ok((s / 2.0).sqrt())
}

/// Wasserstein-1 distance between two histograms placed at `positions` (ascending; one per bin):
/// `sum(|P_i - Q_i| * (x_{i+1} - x_i))` over cumulative proportions, as
/// `scipy.stats.wasserstein_distance(x, x, p, q)`. See `BinEdges::positions` for where bins sit.
pub fn wasserstein(positions: &[f64], expected: &[f64], actual: &[f64]) -> Result<f64> {
    check_pair(expected, actual)?;
    check_pair(positions, expected)?;
    if positions
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.partial_cmp(b) != Some(std::cmp::Ordering::Less)))
        || positions.iter().any(|x| !x.is_finite())
    {
        return Err(EngineError::invalid("positions must be finite and strictly increasing"));
    }
    let (se, sa) = (
        check_counts("expected counts", expected)?,
        check_counts("actual counts", actual)?,
    );
    let (mut cp, mut cq, mut w) = (0.0, 0.0, 0.0);
    for (i, pair) in positions.windows(2).enumerate() {
        cp += expected.get(i).copied().unwrap_or(0.0) / se;
        cq += actual.get(i).copied().unwrap_or(0.0) / sa;
        if let [x0, x1] = pair {
            w += (cp - cq).abs() * (x1 - x0);
        }
    }
    Ok(w)
}

/// Chi-square goodness of fit of `observed` counts against `expected_proportions` (scaled to the
/// observed total), as `scipy.stats.chisquare(observed, f_exp)`; `dof = bins - 1`. An observed count
/// in a zero-probability bin gives an infinite statistic and p = 0, as in scipy.
pub fn chi_square_gof(observed: &[f64], expected_proportions: &[f64]) -> Result<ChiSquare> {
    check_pair(observed, expected_proportions)?;
    let n = check_counts("observed counts", observed)?;
    let sp = check_counts("expected proportions", expected_proportions)?;
    let stat = observed
        .iter()
        .zip(expected_proportions)
        .map(|(o, p)| {
            let e = p / sp * n;
            if e > 0.0 {
                (o - e) * (o - e) / e
            } else if *o > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        })
        .sum();
    Ok(ChiSquare::new(stat, observed.len() as u64 - 1))
}

/// Chi-square test of homogeneity of a 2 x k table (reference row, current row), as
/// `scipy.stats.chi2_contingency([reference, current], correction=False)`. Columns empty in both rows
/// carry no information and are dropped (scipy raises on them); `dof = columns kept - 1`.
pub fn chi_square_contingency(reference: &[f64], current: &[f64]) -> Result<ChiSquare> {
    check_pair(reference, current)?;
    check_counts("reference counts", reference)?;
    check_counts("current counts", current)?;
    let cols: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r, c))
        .filter(|(r, c)| r + c > 0.0)
        .collect();
    Ok(contingency(&cols))
}

fn contingency(cols: &[(f64, f64)]) -> ChiSquare {
    let (r0, r1) = cols.iter().fold((0.0, 0.0), |(a, b), (r, c)| (a + r, b + c));
    let total = r0 + r1;
    let mut stat = 0.0;
    for (r, c) in cols {
        let col = r + c;
        let (e0, e1) = (r0 * col / total, r1 * col / total);
        stat += (r - e0) * (r - e0) / e0 + (c - e1) * (c - e1) / e1;
    }
    ChiSquare::new(stat, cols.len().saturating_sub(1) as u64)
}

/// The 2 x k homogeneity test used for drift verdicts, with sparse columns pooled so that a novel
/// value or a rare category gives a finite statistic and a sane p-value.
///
/// Rule: columns are taken in ascending order of their total and pooled into one column until the
/// pooled column's smaller expected count reaches `min_expected` (default 5); the remaining columns
/// are kept as they are. If everything ends in one column the table has no degrees of freedom
/// (statistic 0, p = 1).
pub fn chi_square_pooled(reference: &[f64], current: &[f64], min_expected: f64) -> Result<ChiSquare> {
    check_pair(reference, current)?;
    let r0 = check_counts("reference counts", reference)?;
    let r1 = check_counts("current counts", current)?;
    let share = r0.min(r1) / (r0 + r1);
    let mut cols: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r, c))
        .filter(|(r, c)| r + c > 0.0)
        .collect();
    cols.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
    let mut pooled = (0.0, 0.0);
    let mut taken = 0;
    for (r, c) in &cols {
        if (pooled.0 + pooled.1) * share >= min_expected {
            break;
        }
        pooled = (pooled.0 + r, pooled.1 + c);
        taken += 1;
    }
    let mut kept: Vec<(f64, f64)> = cols.get(taken..).unwrap_or(&[]).to_vec();
    if taken > 0 {
        kept.push(pooled);
    }
    Ok(contingency(&kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_defaults_match() {
        // bindings/stats.rs spells these as literals for Python's signature.
        assert_eq!((DEFAULT_EPS, DEFAULT_MIN_EXPECTED), (1e-4, 5.0));
    }

    #[test]
    fn identical_distributions_score_zero() {
        let a = [10.0, 20.0, 30.0];
        assert_eq!(psi(&a, &a, DEFAULT_EPS).unwrap(), 0.0);
        assert!(js_distance(&a, &a).unwrap().abs() < 1e-12);
        assert_eq!(hellinger(&a, &a).unwrap(), 0.0);
        assert_eq!(chi_square_contingency(&a, &a).unwrap().statistic, 0.0);
    }

    #[test]
    fn psi_is_finite_with_empty_bins() {
        let v = psi(&[100.0, 0.0], &[0.0, 100.0], DEFAULT_EPS).unwrap();
        assert!(v.is_finite() && v > 10.0);
    }

    #[test]
    fn pooled_handles_a_novel_value() {
        let r = chi_square_pooled(&[500.0, 500.0, 0.0], &[500.0, 499.0, 1.0], 5.0).unwrap();
        assert!(r.statistic.is_finite() && r.p_value > 0.05);
        let one = chi_square_pooled(&[3.0], &[2.0], 5.0).unwrap();
        assert_eq!((one.dof, one.p_value), (0, 1.0));
    }

    #[test]
    fn empty_and_mismatched_inputs_are_errors() {
        assert!(psi(&[], &[], DEFAULT_EPS).is_err());
        assert!(psi(&[1.0], &[1.0, 2.0], DEFAULT_EPS).is_err());
        assert!(psi(&[0.0, 0.0], &[1.0, 2.0], DEFAULT_EPS).is_err());
        assert!(js_distance(&[f64::NAN], &[1.0]).is_err());
    }

    #[test]
    fn wasserstein_of_a_shift_is_the_shift() {
        let w = wasserstein(&[0.0, 1.0, 2.0], &[1.0, 1.0, 0.0], &[0.0, 1.0, 1.0]).unwrap();
        assert!((w - 1.0).abs() < 1e-12);
    }
}
