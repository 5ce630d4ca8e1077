use super::*;
use crate::binning::BinEdges;
use crate::categorical::KeyRef;
use ndarray::{Array2, ArrayView1, ArrayView2};

fn edges() -> BinEdges {
    BinEdges::explicit(vec![0.0, 1.0, 2.5], -1.0, 4.0).unwrap()
}

fn cats() -> CategoryCounts {
    let values = vec![(Key::Str("a".into()), 5), (Key::Str("b".into()), 3), (Key::Int(7), 2)];
    CategoryCounts::fit(values, 1, 10, 4).unwrap().empty_like()
}

fn profile() -> Profile {
    Profile::new(vec![
        ("x".into(), Feature::Numeric(NumericHistogram::new(edges()))),
        ("c".into(), Feature::Categorical(cats())),
    ])
    .unwrap()
}

fn floats() -> Vec<f64> {
    (0..1000)
        .map(|i| f64::from(i) / 170.0 - 1.5)
        .chain([f64::NAN, 9.0])
        .collect()
}

#[test]
fn numbers_count_as_the_histogram_counts_them() {
    let v = floats();
    let mut p = profile();
    let out = p
        .update(&[("x", Column::Numbers(Numbers::F64(ArrayView1::from(&v[..]))))], 1)
        .unwrap();
    assert_eq!(out, vec![Some(Outcome::Counted)]);
    let mut h = NumericHistogram::new(edges());
    h.update(ArrayView1::from(&v[..]));
    assert_eq!(p.features()[0].1, Feature::Numeric(h));
}

#[test]
fn strided_and_integer_columns_count() {
    let a = Array2::from_shape_fn((600, 3), |(i, j)| (i * (j + 1)) as i32 % 4 - 1);
    let mut p = profile();
    let col = Column::Numbers(Numbers::I32(a.column(1)));
    p.update(&[("x", col.clone()), ("c", col)], 1).unwrap();
    let mut h = NumericHistogram::new(edges());
    h.update(a.column(1));
    assert_eq!(p.features()[0].1, Feature::Numeric(h));
    let mut c = cats();
    let ints = count_ints(a.column(1));
    c.add_value_counts(ints.iter().map(|(k, n)| (KeyRef::Int(*k), *n)), 0);
    assert_eq!(p.features()[1].1, Feature::Categorical(c));
}

#[test]
fn codes_and_strings_count_as_categories() {
    let codes = [0i8, 1, 1, -1, 2];
    let dictionary = vec![Some(Key::Str("a".into())), Some(Key::Str("zz".into())), None];
    let mut p = profile();
    let col = Column::Codes {
        codes: Codes::Int(Numbers::I8(ArrayView1::from(&codes[..]))),
        dictionary,
    };
    p.update(&[("c", col)], 1).unwrap();
    let Feature::Categorical(c) = &p.features()[1].1 else {
        panic!("categorical")
    };
    // a, b, 7, other, unseen (zz twice), missing (-1 and the None entry).
    assert_eq!(c.raw_counts(), &[1, 0, 0, 0, 2, 2]);
    let units: Vec<u32> = "b\0a\0b\0".chars().map(u32::from).collect();
    let rows = ArrayView2::from_shape((3, 2), &units[..]).unwrap();
    p.update(&[("c", Column::Ucs4(rows))], 1).unwrap();
    let Feature::Categorical(c) = &p.features()[1].1 else {
        panic!("categorical")
    };
    assert_eq!(c.raw_counts(), &[2, 2, 0, 0, 2, 2]);
}

#[test]
fn wrong_kinds_are_invalid_not_counted() {
    let flags = [true, false, true];
    let mut p = profile();
    let col = Column::Codes {
        codes: Codes::Bool(ArrayView1::from(&flags[..])),
        dictionary: vec![Some(Key::Str("False".into())), Some(Key::Str("True".into()))],
    };
    let out = p.update(&[("x", col)], 1).unwrap();
    assert_eq!(out, vec![Some(Outcome::Invalid { values: 3, missing: 0 })]);
    assert_eq!(p, profile());
    let v = [0.5f64];
    let err = p
        .update(&[("c", Column::Numbers(Numbers::F64(ArrayView1::from(&v[..]))))], 1)
        .unwrap_err();
    assert!(matches!(err, EngineError::Dtype(_)), "{err}");
}

#[test]
fn a_bad_column_counts_nothing_and_is_named() {
    let v = floats();
    let codes = [0i32, 9];
    let mut p = profile();
    let err = p
        .update(
            &[
                ("x", Column::Numbers(Numbers::F64(ArrayView1::from(&v[..])))),
                (
                    "c",
                    Column::Codes {
                        codes: Codes::Int(Numbers::I32(ArrayView1::from(&codes[..]))),
                        dictionary: vec![None],
                    },
                ),
            ],
            1,
        )
        .unwrap_err();
    assert!(err.message().starts_with("feature \"c\": code 9"), "{err}");
    assert_eq!(p, profile());
}

#[test]
fn parallel_counts_equal_serial_counts() {
    let v: Vec<f64> = (0..300_000).map(|i| f64::from(i % 977) / 200.0 - 1.0).collect();
    // Unseen values stay within the sketch capacity: evictions depend on hash order among ties.
    let ints: Vec<i64> = (0..300_000).map(|i| i % 4 + 6).collect();
    let batch = [
        ("x", Column::Numbers(Numbers::F64(ArrayView1::from(&v[..])))),
        ("c", Column::Numbers(Numbers::I64(ArrayView1::from(&ints[..])))),
    ];
    let mut serial = profile();
    serial.update(&batch, 1).unwrap();
    let mut parallel = profile();
    parallel.update(&batch, 2).unwrap();
    assert_eq!(serial, parallel);
}

#[test]
fn merge_of_halves_equals_whole_and_bytes_merge_the_same() {
    let v = floats();
    let (a, b) = v.split_at(400);
    let mut whole = profile();
    whole
        .update(&[("x", Column::Numbers(Numbers::F64(ArrayView1::from(&v[..]))))], 1)
        .unwrap();
    let mut left = profile();
    left.update(&[("x", Column::Numbers(Numbers::F64(ArrayView1::from(a))))], 1)
        .unwrap();
    let mut right = profile();
    right
        .update(&[("x", Column::Numbers(Numbers::F64(ArrayView1::from(b))))], 1)
        .unwrap();
    let merged = merge_bytes(&left.to_bytes(), &right.to_bytes()).unwrap();
    let all = merge_all([&left.to_bytes()[..], &profile().to_bytes()[..], &right.to_bytes()[..]]).unwrap();
    left.merge(&right).unwrap();
    assert_eq!(left, whole);
    assert_eq!(Profile::from_bytes(&all).unwrap(), whole);
    assert!(merge_all(std::iter::empty()).is_err());
    assert_eq!(Profile::from_bytes(&merged).unwrap(), whole);
}

#[test]
fn merge_refuses_other_kinds_and_keeps_features_of_either_side() {
    let mut p = profile();
    let other = Profile::new(vec![("x".into(), Feature::Categorical(cats()))]).unwrap();
    let err = p.merge(&other).unwrap_err();
    assert!(matches!(err, EngineError::Mismatch(_)), "{err}");
    assert_eq!(p, profile());
    let extra = Profile::new(vec![("y".into(), Feature::Categorical(cats()))]).unwrap();
    p.merge(&extra).unwrap();
    assert_eq!(p.features().len(), 3);
    assert!(merge_bytes(b"garbage", &p.to_bytes()).is_err());
}

#[test]
fn a_mismatch_in_a_later_feature_leaves_the_earlier_ones_unmerged() {
    let mut p = profile();
    let mut counted = profile();
    let v = [0.5f64, 3.0];
    let col = Column::Numbers(Numbers::F64(ArrayView1::from(&v[..])));
    counted.update(&[("x", col)], 1).unwrap();
    // "x" would merge; "c" has other categories: nothing of either may change.
    let values = vec![(Key::Str("z".into()), 5)];
    let other_cats = CategoryCounts::fit(values, 1, 10, 4).unwrap().empty_like();
    let x = counted.features()[0].1.clone();
    let other = Profile::new(vec![("x".into(), x), ("c".into(), Feature::Categorical(other_cats))]).unwrap();
    assert!(matches!(p.merge(&other).unwrap_err(), EngineError::Mismatch(_)));
    assert_eq!(p, profile());
}

#[test]
fn names_are_unique() {
    let f = Feature::Categorical(cats());
    assert!(Profile::new(vec![("a".into(), f.clone()), ("a".into(), f)]).is_err());
    let v = [1.0f64];
    let col = Column::Numbers(Numbers::F64(ArrayView1::from(&v[..])));
    assert!(profile().update(&[("x", col.clone()), ("x", col)], 1).is_err());
}

#[test]
fn arrow_strings_count_with_nulls_and_are_invalid_for_numbers() {
    let data = b"aazzb";
    let offsets = [0i32, 1, 2, 4, 5, 5];
    let validity = [0b0000_1111u8];
    let chunks = [StrChunk::Offsets32(crate::counting::ArrowStrings {
        offsets: &offsets[..],
        data: &data[..],
        validity: Some((&validity[..], 0)),
    })];
    let mut p = profile();
    let out = p
        .update(&[("c", Column::Strings(&chunks)), ("x", Column::Strings(&chunks))], 1)
        .unwrap();
    assert_eq!(
        out,
        vec![Some(Outcome::Counted), Some(Outcome::Invalid { values: 5, missing: 1 })]
    );
    let Feature::Categorical(c) = &p.features()[1].1 else {
        panic!("categorical")
    };
    // a twice, b once, zz unseen, one null.
    assert_eq!(c.raw_counts(), &[2, 1, 0, 0, 1, 1]);
    let bad = [0i32, 9];
    let chunks = [StrChunk::Offsets32(crate::counting::ArrowStrings {
        offsets: &bad[..],
        data: &data[..],
        validity: None,
    })];
    assert!(profile().update(&[("c", Column::Strings(&chunks))], 1).is_err());
}

#[test]
fn a_strict_update_with_an_invalid_column_counts_nothing() {
    let ints = [6i64, 7];
    let units: Vec<u32> = "ab".chars().map(u32::from).collect();
    let rows = ArrayView2::from_shape((2, 1), &units[..]).unwrap();
    let cols = [
        Column::Ucs4(rows),
        Column::Numbers(Numbers::I64(ArrayView1::from(&ints[..]))),
    ];
    let mut p = profile();
    let mut targets: Vec<FeatureMut<'_>> = p.features.iter_mut().map(|(_, f)| f.as_mut()).collect();
    let out = update_features(&mut targets, &cols, 1, true).unwrap();
    assert_eq!(out, vec![Outcome::Invalid { values: 2, missing: 0 }, Outcome::Refused]);
    drop(targets);
    assert_eq!(p, profile());
    let mut targets: Vec<FeatureMut<'_>> = p.features.iter_mut().map(|(_, f)| f.as_mut()).collect();
    let out = update_features(&mut targets, &cols, 1, false).unwrap();
    assert_eq!(out, vec![Outcome::Invalid { values: 2, missing: 0 }, Outcome::Counted]);
    drop(targets);
    assert_ne!(p, profile());
}

fn two_columns<'a>(x: &'a [f64], codes: &'a [i8]) -> Vec<Column<'a>> {
    vec![
        Column::Numbers(Numbers::F64(ArrayView1::from(x))),
        Column::Codes {
            codes: Codes::Int(Numbers::I8(ArrayView1::from(codes))),
            dictionary: vec![Some(Key::Str("a".into())), Some(Key::Str("b".into()))],
        },
    ]
}

fn run_batches(
    p: &mut Profile,
    batches: &[Vec<Column<'_>>],
    strict: bool,
) -> std::result::Result<Vec<Outcome>, (usize, EngineError)> {
    let mut targets: Vec<FeatureMut<'_>> = p.features_mut().iter_mut().map(|(_, f)| f.as_mut()).collect();
    update_batches(&mut targets, batches, 2, strict)
}

#[test]
fn batches_count_as_one_and_a_bad_later_batch_counts_nothing() {
    let v = floats();
    let (a, b) = v.split_at(300);
    let (ok, bad, both) = ([0i8, 1, -1], [0i8, 9], [0i8, 1, -1, 0, 1, -1]);
    let mut one = profile();
    let mut two = profile();
    run_batches(&mut one, &[two_columns(&v, &both)], false).unwrap();
    run_batches(&mut two, &[two_columns(a, &ok), two_columns(b, &ok)], false).unwrap();
    assert_eq!(one, two);
    let before = two.clone();
    let err = run_batches(&mut two, &[two_columns(a, &ok), two_columns(b, &bad)], false).unwrap_err();
    assert_eq!(err.0, 1);
    assert_eq!(two, before);
    let mut invalid = two_columns(a, &ok);
    invalid[0] = Column::Strings(&[]);
    let out = run_batches(&mut two, &[two_columns(a, &ok), invalid], true).unwrap();
    assert_eq!(out, vec![Outcome::Invalid { values: 0, missing: 0 }, Outcome::Refused]);
    assert_eq!(two, before);
}

mod slotting {
    use crate::categorical::CategoryCounts;
    use crate::column::{count_strings, slot_strings};
    use crate::counting::{ArrowStrings, ArrowViews};
    use crate::profile::StrChunk;
    use crate::sketch::Key;
    use proptest::prelude::*;

    const WORDS: [&str; 8] = [
        "a",
        "b",
        "",
        "label_7",
        "fifteen bytes!!",
        "sixteen bytes!!!",
        "a much longer label",
        "é",
    ];

    /// Value `i` of a pick: a word, or (for `many`) one of 5,000 distinct unseen labels, so the misses'
    /// counts go through their front table.
    fn word(w: usize, i: usize, many: bool) -> String {
        if many && w == 0 {
            format!("u{}", i % 5000)
        } else {
            WORDS[w].to_string()
        }
    }

    /// One Arrow array of `values` (`None` = null) in `layout` (0: offsets64, 1: offsets32, 2: views),
    /// its validity bitmap starting at bit `bit`.
    struct Built {
        offsets64: Vec<i64>,
        offsets32: Vec<i32>,
        views: Vec<u8>,
        data: Vec<u8>,
        bits: Vec<u8>,
    }

    fn build(values: &[Option<String>], bit: usize) -> Built {
        let mut b = Built {
            offsets64: vec![0],
            offsets32: vec![0],
            views: Vec::new(),
            data: Vec::new(),
            bits: vec![0u8; (values.len() + bit).div_ceil(8) + 1],
        };
        for (i, v) in values.iter().enumerate() {
            let s = v.as_deref().unwrap_or("");
            if v.is_some() {
                b.bits[(i + bit) / 8] |= 1 << ((i + bit) % 8);
            }
            let mut view = [0u8; 16];
            view[..4].copy_from_slice(&(s.len() as u32).to_le_bytes());
            if s.len() <= 12 {
                view[4..4 + s.len()].copy_from_slice(s.as_bytes());
            } else {
                view[4..8].copy_from_slice(&s.as_bytes()[..4]);
                view[12..16].copy_from_slice(&(b.data.len() as u32).to_le_bytes());
            }
            b.views.extend_from_slice(&view);
            b.data.extend_from_slice(s.as_bytes());
            b.offsets64.push(b.data.len() as i64);
            b.offsets32.push(b.data.len() as i32);
        }
        b
    }

    proptest! {
        /// Strings slotted straight into the categories add what their distinct values add, for
        /// categories short and long, folded values (`other`), unseen values and nulls, in every
        /// Arrow layout and with a bitmap that starts mid-byte.
        #[test]
        fn slotted_strings_add_what_their_distinct_values_add(
            picks in proptest::collection::vec((0usize..WORDS.len(), any::<bool>()), 0..7000),
            reference in proptest::collection::vec((0usize..WORDS.len(), 1u64..50), 1..8),
            max_categories in 1usize..6,
            layout in 0usize..3,
            bit in 0usize..8,
            many in any::<bool>(),
        ) {
            let values: Vec<Option<String>> = picks.iter().enumerate().map(|(i, (w, valid))| valid.then(|| word(*w, i, many))).collect();
            let b = build(&values, bit);
            let validity = Some((&b.bits[..], bit));
            let chunk = match layout {
                0 => StrChunk::Offsets64(ArrowStrings { offsets: &b.offsets64, data: &b.data, validity }),
                1 => StrChunk::Offsets32(ArrowStrings { offsets: &b.offsets32, data: &b.data, validity }),
                _ => StrChunk::Views(ArrowViews { views: &b.views, buffers: vec![&b.data[..]], validity }),
            };
            let chunks = [chunk];
            let mut counted: Vec<(Key, u64)> = Vec::new();
            for (w, n) in reference {
                match counted.iter_mut().find(|(k, _)| *k == Key::Str(WORDS[w].into())) {
                    Some((_, c)) => *c += n,
                    None => counted.push((Key::Str(WORDS[w].into()), n)),
                }
            }
            let fitted = CategoryCounts::fit(counted, 0, max_categories, 3).unwrap();
            let mut by_values = fitted.empty_like();
            let (distinct, missing) = count_strings(&chunks).unwrap();
            by_values.add_value_counts(distinct.iter().map(|(k, n)| (k.as_key_ref(), *n)), missing);
            let mut by_slots = fitted.empty_like();
            let (delta, unseen) = slot_strings(&chunks, &fitted).unwrap();
            by_slots.add_slots(&delta, &unseen);
            prop_assert_eq!(by_slots.raw_counts(), by_values.raw_counts());
            prop_assert_eq!(by_slots.top_unseen(), by_values.top_unseen());
            prop_assert_eq!(by_slots.raw_counts().iter().sum::<u64>(), values.len() as u64);
        }
    }
}
