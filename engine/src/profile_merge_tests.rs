use super::*;
use crate::binning::BinEdges;
use crate::categorical::{CategoryCounts, KeyRef};
use crate::histogram::NumericHistogram;
use crate::sketch::Key;
use ndarray::ArrayView1;
use proptest::prelude::*;

/// What merging must equal: every profile decoded, folded with `Profile::merge`.
fn decoded_fold(blobs: &[Vec<u8>]) -> Result<Profile> {
    let mut it = blobs.iter();
    let mut p = Profile::from_bytes(it.next().expect("at least one"))?;
    for b in it {
        p.merge(&Profile::from_bytes(b)?)?;
    }
    Ok(p)
}

/// A profile of a numeric and a categorical feature (3 reference categories, top-k of 2, folding
/// when `fold`), counted from `seed`'s values; `cuts` picks the edges so layouts can differ.
fn partial(seed: u64, cuts: usize, fold: bool, names: (&str, &str)) -> Profile {
    let values: Vec<f64> = (0..40).map(|i| ((seed * 31 + i * 7) % 23) as f64 / 4.0 - 1.0).collect();
    let edges = BinEdges::explicit((0..cuts).map(|c| c as f64).collect(), -1.0, 5.0).unwrap();
    let mut h = NumericHistogram::new(edges);
    h.update(ArrayView1::from(&values[..]));
    let reference = vec![
        (Key::Str("a".into()), 5),
        (Key::Str("b".into()), 3),
        (Key::Int(7), 2),
        (Key::Str("rare".into()), 1),
    ];
    let kept = if fold { 3 } else { 10 };
    let mut c = CategoryCounts::fit(reference, 1, kept, 2).unwrap().empty_like();
    let labels = ["a", "b", "rare", "new", "newer", "x"];
    let batch: Vec<(KeyRef<'_>, u64)> = (0..4)
        .map(|i| {
            let k = labels[((seed + i) % 6) as usize];
            (KeyRef::Str(k), seed % 5 + i)
        })
        .chain([(KeyRef::Int((seed % 9) as i64), 1)])
        .collect();
    c.add_value_counts(batch, seed % 3);
    Profile::new(vec![
        (names.0.into(), Feature::Numeric(h)),
        (names.1.into(), Feature::Categorical(c)),
    ])
    .unwrap()
}

#[test]
fn same_layout_merges_on_bytes_like_the_decoded_fold() {
    let blobs: Vec<Vec<u8>> = (0..50).map(|s| partial(s, 3, true, ("x", "c")).to_bytes()).collect();
    let merged = merge_all(blobs.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(Profile::from_bytes(&merged).unwrap(), decoded_fold(&blobs).unwrap());
}

#[test]
fn a_bad_profile_among_good_ones_fails_the_merge_with_the_decoders_error() {
    let good = partial(1, 3, false, ("x", "c")).to_bytes();
    let mut bad = good.clone();
    let i = bad.len() / 2;
    bad[i] ^= 0x40;
    let err = merge_all([&good[..], &good[..], &bad[..]]).unwrap_err();
    assert!(matches!(err, EngineError::Codec(_)), "{err}");
    let err = merge_all([&good[..], &good[..][..good.len() - 1]]).unwrap_err();
    assert!(matches!(err, EngineError::Codec(_)), "{err}");
}

/// Rewrites the checksum so that a deliberately edited profile passes it.
fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let body = b.len() - 4;
    let crc = crc32fast::hash(&b[..body]).to_le_bytes();
    b[body..].copy_from_slice(&crc);
    b
}

#[test]
fn overflowing_counts_are_refused_on_both_paths() {
    let p = partial(2, 3, false, ("x", "c"));
    let mut b = p.to_bytes();
    // The first bin count of "x": after the header (7), feature count (4), name (4 + 1), kind (1),
    // cut count (4), 3 cuts, lower and upper (5 x 8).
    let at = 7 + 4 + 5 + 1 + 4 + 40;
    b[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let b = reseal(b);
    let decoded = Profile::from_bytes(&b).unwrap_err();
    let merged = merge_all([&p.to_bytes()[..], &b[..]]).unwrap_err();
    assert_eq!(merged.message(), decoded.message());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any mix of layouts (other edges, folding, names, order) merges as the decoded fold does, and
    /// fails where it fails.
    #[test]
    fn any_mix_of_layouts_equals_the_decoded_fold(
        parts in proptest::collection::vec((0u64..1000, 2usize..5, any::<bool>(), 0u8..4), 1..12),
    ) {
        let blobs: Vec<Vec<u8>> = parts
            .iter()
            .map(|&(seed, cuts, fold, names)| {
                let names = match names {
                    0 | 1 => ("x", "c"),
                    2 => ("c2", "x"),
                    _ => ("y", "c"),
                };
                partial(seed, cuts, fold, names).to_bytes()
            })
            .collect();
        let fast = merge_all(blobs.iter().map(Vec::as_slice));
        match decoded_fold(&blobs) {
            Ok(p) => prop_assert_eq!(Profile::from_bytes(&fast.unwrap()).unwrap(), p),
            Err(e) => prop_assert_eq!(fast.unwrap_err().message().to_string(), e.message().to_string()),
        }
    }

    /// Arbitrary edits of a sealed profile never panic and are refused exactly when decoding refuses.
    #[test]
    fn edited_bytes_are_refused_when_decoding_refuses(at in 0usize..400, byte in any::<u8>()) {
        let good = partial(3, 3, true, ("x", "c")).to_bytes();
        let mut b = good.clone();
        let i = at % (b.len() - 4);
        b[i] = byte;
        let b = reseal(b);
        let fast = merge_all([&good[..], &b[..]]);
        let slow = decoded_fold(&[good.clone(), b.clone()]);
        match slow {
            Ok(p) => prop_assert_eq!(Profile::from_bytes(&fast.unwrap()).unwrap(), p),
            Err(_) => prop_assert!(fast.is_err()),
        }
    }
}
