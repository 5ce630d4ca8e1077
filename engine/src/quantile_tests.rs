//! Exactness of the large-input quantile path (sample, grid pass, selection in cells) against a
//! plain sort, on inputs chosen to break it: all-equal values, few distinct values, ±0.0,
//! subnormals, infinities, NaN and nulls, huge duplicated runs that fill one cell, and sizes on both
//! sides of the direct path's threshold.

use super::*;
use crate::binning::BinEdges;
use crate::histogram::NumericHistogram;
use proptest::prelude::*;

/// numpy's linear quantiles by sorting (`total_cmp`, as the selection orders ±0.0), the finite
/// range, and the upper order statistic of each probability.
fn by_sorting(v: &[f64], valid: Option<&[bool]>, probs: &[f64]) -> (Vec<f64>, Vec<f64>, f64, f64) {
    let mut s: Vec<f64> = v
        .iter()
        .enumerate()
        .filter(|(i, x)| x.is_finite() && valid.is_none_or(|m| m[*i]))
        .map(|(_, &x)| x)
        .collect();
    s.sort_by(f64::total_cmp);
    let (q, up) = probs
        .iter()
        .map(|&p| {
            let (a, b, t) = ranks(s.len(), p);
            (lerp(s[a], s[b], t), s[b])
        })
        .unzip();
    (q, up, s[0], s[s.len() - 1])
}

const POOL: [f64; 9] = [0.0, -0.0, 1.0, -1.0, 5e-324, -2.2e-308, 3.5, 1e300, -7.25];

/// A column from a recipe: `kind` picks the shape, `seed` the values, `special` the share (per mille)
/// of NaN, infinities, ±0.0 and subnormals sprinkled in.
fn column(kind: u8, n: usize, seed: u64, special: u32) -> Vec<f64> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let r = next();
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            if (r % 1000) < u64::from(special) {
                return [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 5e-324, -5e-324]
                    [(r >> 40) as usize % 7];
            }
            match kind {
                0 => POOL[(seed % 9) as usize],
                1 => POOL[(r >> 32) as usize % (1 + (seed % 4) as usize)],
                2 => (u - 0.5) * 10f64.powi((seed % 7) as i32 * 50 - 150),
                3 if u < 0.6 => 2.5,
                3 => u * 5.0,
                4 => f64::from(((r >> 20) % 9) as u32) - 4.0,
                _ => (u * 40.0 - 20.0).exp(),
            }
        })
        .collect()
}

fn check(v: &[f64], valid: Option<&[bool]>, bins: usize) {
    let bits: Option<Vec<u8>> = valid.map(|m| {
        let mut b = vec![0u8; m.len().div_ceil(8) + 1];
        for (i, &ok) in m.iter().enumerate() {
            b[(i + 3) / 8] |= u8::from(ok) << ((i + 3) % 8);
        }
        b
    });
    let validity = bits.as_deref().map(|bits| Validity { bits, offset: 3 });
    let probs: Vec<f64> = (1..bins).map(|i| i as f64 * (1.0 / bins as f64)).collect();
    let view = ArrayView1::from(v);
    let finite = v
        .iter()
        .enumerate()
        .any(|(i, x)| x.is_finite() && valid.is_none_or(|m| m[i]));
    let Ok(got) = fit(view, validity, &probs) else {
        assert!(!finite, "fit failed with finite values");
        return;
    };
    let (want, uppers, lo, hi) = by_sorting(v, valid, &probs);

    let b = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(b(&got.values), b(&want));
    assert_eq!(b(&got.uppers), b(&uppers));
    // By bits: the range's zeros are +0.0 whichever zero came first (SIMD lanes, thread split).
    assert!(
        got.lower.to_bits() == (lo + 0.0).to_bits() && got.upper.to_bits() == (hi + 0.0).to_bits(),
        "range {:?} vs {:?}",
        (got.lower, got.upper),
        (lo, hi)
    );
    // The counts the pass hands back are those counting the reference again gives.
    let (edges, counted) = BinEdges::quantile_counted(view, validity, bins).unwrap();
    let mut hist = NumericHistogram::new(edges.clone());
    match validity {
        Some(m) => hist.update_masked(view, m).unwrap(),
        None => hist.update(view),
    }
    if let Some(c) = counted {
        assert_eq!(
            (&c.counts[..], c.missing, c.out_of_range),
            (hist.counts(), hist.missing(), hist.out_of_range())
        );
    }
    assert!(
        hist.counts().iter().all(|&n| n > 0),
        "an empty bin: {:?}",
        hist.counts()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Large inputs (the grid pass) and small ones (the direct path) give numpy's quantiles bit for
    /// bit, and the pass's own counts equal a recount.
    #[test]
    fn quantiles_equal_sorting(
        kind in 0u8..6,
        seed in any::<u64>(),
        special in prop_oneof![Just(0u32), 1u32..20, 200u32..600],
        large in any::<bool>(),
        extra in 0usize..40_000,
        bins in prop_oneof![Just(10usize), 2usize..70],
        nulls in any::<bool>(),
    ) {
        let n = if large { SMALL + extra } else { 1 + extra % 3000 };
        let v = column(kind, n, seed, special);
        let mask: Option<Vec<bool>> = nulls.then(|| (0..n).map(|i| !(i as u64).wrapping_mul(seed | 1).is_multiple_of(7)).collect());
        check(&v, mask.as_deref(), bins);
    }
}

#[test]
fn one_value_repeated_across_the_whole_column() {
    for x in POOL {
        let mut v = vec![x; SMALL + 5];
        check(&v, None, 10);
        v[17] = f64::NAN;
        v[99] = x.next_up();
        check(&v, None, 10);
    }
}

#[test]
fn large_inputs_take_the_grid_pass() {
    // Exactness holds either way; this guards the speed: continuous, discrete, tied and spiky data
    // must not fall back to copying and selecting.
    for kind in 1..6 {
        let v = column(kind, SMALL + 1000, 42, 5);
        let probs: Vec<f64> = (1..10).map(|i| f64::from(i) * 0.1).collect();
        let (_, pass) = fit_counted(ArrayView1::from(&v[..]), None, &probs).unwrap();
        assert!(pass.is_some(), "kind {kind} fell back");
    }
}

#[test]
fn inputs_split_across_cores_and_strided_ones_are_exact_too() {
    // Above the pass's split threshold (1 << 20), each core counts a chunk and the counts and kept
    // values are merged; a strided f32 view goes through the widening path.
    let n = (1 << 20) + 4099;
    check(&column(2, n, 7, 3), None, 10);
    let mask: Vec<bool> = (0..n).map(|i| i % 11 != 0).collect();
    check(&column(3, n, 7, 3), Some(&mask), 7);
    let v: Vec<f32> = column(5, 2 * (SMALL + 77), 9, 2).iter().map(|&x| x as f32).collect();
    let strided = ArrayView1::from(&v[..]).slice_move(ndarray::s![..;2]);
    let wide: Vec<f64> = strided.iter().map(|&x| f64::from(x)).collect();
    let probs: Vec<f64> = (1..10).map(|i| f64::from(i) * 0.1).collect();
    let got = fit_counted(strided, None, &probs).unwrap();
    assert!(got.1.is_some());
    let b = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(b(&got.0.values), b(&by_sorting(&wide, None, &probs).0));
}
