use super::*;
use crate::binning::BinEdges;
use crate::categorical::CategoryCounts;
use crate::codec;
use crate::error::EngineError;
use crate::histogram::NumericHistogram;
use crate::sketch::Key;
use ndarray::ArrayView1;
use proptest::prelude::*;

fn template() -> Vec<(String, Feature)> {
    let edges = BinEdges::explicit(vec![0.0, 1.0, 2.5], -1.0, 4.0).unwrap();
    let plan = vec![(Key::Str("a".into()), 5), (Key::Str("b".into()), 3)];
    let tier = vec![(Key::Int(0), 5), (Key::Int(7), 3)];
    vec![
        ("age".into(), Feature::Numeric(NumericHistogram::new(edges))),
        (
            "plan".into(),
            Feature::Categorical(CategoryCounts::fit(plan, 0, 10, 4).unwrap().empty_like()),
        ),
        (
            "tier".into(),
            Feature::Categorical(CategoryCounts::fit(tier, 0, 10, 4).unwrap().empty_like()),
        ),
    ]
}

fn schema() -> Schema {
    Schema::of_profile(&template(), &["tier".to_string()], 1000, 50)
}

/// A msgpack value, written with `rmp`'s encoder.
#[derive(Debug, Clone)]
enum V {
    Nil,
    Int(i64),
    F64(f64),
    Str(String),
    Bin(Vec<u8>),
    Arr(Vec<V>),
    Map(Vec<(String, V)>),
}

fn write(out: &mut Vec<u8>, v: &V) {
    use rmp::encode as e;
    match v {
        V::Nil => e::write_nil(out).unwrap(),
        V::Int(i) => drop(e::write_sint(out, *i).unwrap()),
        V::F64(f) => e::write_f64(out, *f).unwrap(),
        V::Str(s) => e::write_str(out, s).unwrap(),
        V::Bin(b) => e::write_bin(out, b).unwrap(),
        V::Arr(items) => {
            e::write_array_len(out, items.len() as u32).unwrap();
            items.iter().for_each(|i| write(out, i));
        }
        V::Map(items) => {
            e::write_map_len(out, items.len() as u32).unwrap();
            for (k, i) in items {
                e::write_str(out, k).unwrap();
                write(out, i);
            }
        }
    }
}

fn body(cols: Vec<(&str, V)>) -> Vec<u8> {
    let mut out = Vec::new();
    write(
        &mut out,
        &V::Map(cols.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    );
    out
}

fn fold_body(b: &[u8]) -> Result<Folded, EngineError> {
    fold_msgpack(&schema(), &template(), b)
}

fn raw(dtype: &str, data: Vec<u8>) -> V {
    V::Map(vec![
        ("dtype".into(), V::Str(dtype.into())),
        ("data".into(), V::Bin(data)),
    ])
}

#[test]
fn lists_and_binary_count_the_same_and_as_the_histogram() {
    let ages = [0.5, f64::NAN, 3.0, -7.0];
    let as_list = V::Arr(
        ages.iter()
            .map(|&a| if a.is_nan() { V::Nil } else { V::F64(a) })
            .collect(),
    );
    let as_bin = raw("<f8", ages.iter().flat_map(|a| a.to_le_bytes()).collect());
    let a = fold_body(&body(vec![("age", as_list)])).unwrap();
    let b = fold_body(&body(vec![("age", as_bin)])).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.rows, 4);
    let mut expect = template();
    if let Feature::Numeric(h) = &mut expect[0].1 {
        h.update(ArrayView1::from(&ages[..]));
    }
    if let Feature::Categorical(c) = &mut expect[1].1 {
        c.add_value_counts([], 4);
    }
    if let Feature::Categorical(c) = &mut expect[2].1 {
        c.add_value_counts([], 4);
    }
    assert_eq!(a.profile, codec::encode_profile(&expect));
}

#[test]
fn labels_follow_the_baseline_domain() {
    let labels = |v: Vec<V>| V::Arr(v);
    let plan = labels(vec![V::Str("a".into()), V::Int(7), V::Nil]);
    let tier = labels(vec![V::Str("7".into()), V::Str("07".into()), V::Int(0)]);
    let coded = V::Map(vec![
        ("categories".into(), labels(vec![V::Str("7".into()), V::Int(0)])),
        ("codes".into(), labels(vec![V::Int(0), V::Int(0), V::Int(1)])),
    ]);
    let a = fold_body(&body(vec![("plan", plan.clone()), ("tier", tier)])).unwrap();
    let b = fold_body(&body(vec![("plan", plan), ("tier", coded)])).unwrap();
    assert_ne!(a.profile, b.profile); // "07" is a string, unseen; the coded batch has 7 twice
    let decoded = codec::decode_profile(&b.profile).unwrap();
    let Feature::Categorical(t) = &decoded[2].1 else {
        panic!()
    };
    assert_eq!(t.category_counts(), &[1, 2]);
}

fn message(b: &[u8]) -> (bool, String) {
    match fold_body(b) {
        Err(EngineError::Invalid(m)) => (true, m),
        Err(EngineError::Codec(m)) => (false, m),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_name_the_column_and_the_problem() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (body(vec![("agez", V::Arr(vec![]))]), "unknown field `agez`"),
        (
            body(vec![("age", V::Arr(vec![V::Str("x".into())]))]),
            "got `str` - at `$.age[0]`",
        ),
        (
            body(vec![("plan", V::Arr(vec![V::F64(1.5)]))]),
            "got `float` - at `$.plan[0]`",
        ),
        (
            body(vec![
                ("age", V::Arr(vec![V::F64(1.0); 2])),
                ("plan", V::Arr(vec![V::Nil])),
            ]),
            "column 'plan' has 1 rows",
        ),
        (
            body(vec![("age", raw("<f8", vec![0; 12]))]),
            "column 'age': 12 bytes is not a multiple of 8",
        ),
        (
            body(vec![("age", raw("<u8", vec![0; 8]))]),
            "Invalid enum value '<u8' - at `$.age.dtype`",
        ),
        (body(vec![("age", V::Arr(vec![]))]), "no rows"),
        (body(vec![]), "none of the model"),
        (
            body(vec![
                ("age", V::Arr(vec![V::F64(1.0)])),
                ("age", V::Arr(vec![V::F64(1.0)])),
            ]),
            "repeated",
        ),
        (
            body(vec![("tier", V::Arr(vec![V::Str("99999999999999999999".into())]))]),
            "column 'tier': values: integer",
        ),
    ];
    for (b, needle) in cases {
        let (is_invalid, m) = message(&b);
        assert!(is_invalid && m.contains(needle), "{m:?} lacks {needle:?}");
    }
    let coded = V::Map(vec![
        ("categories".into(), V::Arr(vec![V::Str("a".into())])),
        ("codes".into(), V::Arr(vec![V::Int(3)])),
    ]);
    let (is_invalid, m) = message(&body(vec![("plan", coded)]));
    assert!(is_invalid && m.starts_with("column 'plan': code 3"), "{m}");
    let many = V::Arr((0..51).map(V::Int).collect());
    let (_, m) = message(&body(vec![("plan", many)]));
    assert!(m.contains("51 distinct categories, more than the limit of 50"), "{m}");
}

#[test]
fn bytes_that_are_not_msgpack_are_codec_errors() {
    for b in [
        &b"\xc1"[..],
        b"\x81\xa3age\x91",
        b"\x81\xa3ag\xff\x90",
        b"\x81\xa3age\xdc\x00\x05",
    ] {
        let (is_invalid, m) = message(b);
        assert!(!is_invalid, "{b:?}: {m}");
    }
}

fn value() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        Just(V::Nil),
        any::<i64>().prop_map(V::Int),
        any::<f64>().prop_map(V::F64),
        "[a-z0-9]{0,3}".prop_map(V::Str),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(V::Bin),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(V::Arr),
            proptest::collection::vec(
                (
                    prop_oneof!["age|plan|tier|dtype|data|codes|categories", "[a-z]{1,3}"],
                    inner
                ),
                0..4
            )
            .prop_map(V::Map),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = fold_body(&bytes);
    }

    #[test]
    fn arbitrary_msgpack_never_panics(v in value(), cut in any::<prop::sample::Index>()) {
        let mut out = Vec::new();
        write(&mut out, &v);
        let _ = fold_body(&out);
        let _ = fold_body(&out[..cut.index(out.len() + 1)]);
    }

    #[test]
    fn binary_and_list_columns_count_the_same(
        ages in proptest::collection::vec(prop_oneof![any::<f64>(), -2.0..5.0f64], 1..40),
        codes in proptest::collection::vec(-1i64..2, 1..40),
    ) {
        let n = ages.len().min(codes.len());
        let (ages, codes) = (&ages[..n], &codes[..n]);
        let list = V::Arr(ages.iter().map(|&a| V::F64(a)).collect());
        let bin = raw("<f8", ages.iter().flat_map(|a| a.to_le_bytes()).collect());
        let dict = V::Arr(vec![V::Str("a".into()), V::Str("z".into())]);
        let coded = |c: V| V::Map(vec![("categories".into(), dict.clone()), ("codes".into(), c)]);
        let code_list = coded(V::Arr(codes.iter().map(|&c| V::Int(c)).collect()));
        let code_bin = coded(raw("|i1", codes.iter().map(|&c| c as i8 as u8).collect()));
        let a = fold_body(&body(vec![("age", list), ("plan", code_list)])).unwrap();
        let b = fold_body(&body(vec![("age", bin), ("plan", code_bin)])).unwrap();
        prop_assert_eq!(a, b);
    }
}

fn fold_json_body(b: &[u8]) -> Option<Folded> {
    fold_json(&schema(), &template(), b).unwrap_or(None)
}

#[test]
fn json_and_msgpack_count_the_same() {
    let ages = [0.5, 3.0, -7.0];
    let bin: Vec<u8> = ages.iter().flat_map(|a: &f64| a.to_le_bytes()).collect();
    let b64 = "AAAAAAAA4D8AAAAAAAAIQAAAAAAAABzA"; // the bytes of `bin`, base64
    let from_json =
        fold_json_body(format!(r#"{{"age": {{"dtype": "<f8", "data": "{b64}"}}, "tier": ["7", 0, null]}}"#).as_bytes());
    let list = V::Arr(vec![V::Str("7".into()), V::Int(0), V::Nil]);
    let from_msgpack = fold_body(&body(vec![("age", raw("<f8", bin)), ("tier", list)])).unwrap();
    assert_eq!(from_json, Some(from_msgpack));
    let as_list = fold_json_body(br#"{"age": [0.5, 3, -7e0], "tier": ["7", 0, null]}"#);
    assert_eq!(as_list, from_json);
}

#[test]
fn the_strict_json_reader_gives_up_on_what_it_is_not_sure_of() {
    for b in [
        &br#"{"age": [1.0], "age": [2.0]}"#[..],
        br#"{"plan": ["a\"b"]}"#,
        br#"{"age": [1e400]}"#,
        br#"{"age": [12345678901234567890]}"#,
        br#"{"age": [NaN]}"#,
        br#"{"age": [01]}"#,
        br#"{"age": {"dtype": "<f8", "data": "AAAAAAAA4D8"}}"#,
        br#"{"agez": [1.0]}"#,
        br#"{"age": [1.0]} x"#,
        br#"{"plan": [true]}"#,
    ] {
        assert_eq!(
            fold_json(&schema(), &template(), b),
            Ok(None),
            "{}",
            String::from_utf8_lossy(b)
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_json_bytes_never_panic(bytes in proptest::collection::vec(prop_oneof![
        Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b'"'), Just(b':'), Just(b','), Just(b'\\'),
        Just(b'1'), Just(b'-'), Just(b'.'), Just(b'e'), Just(b'n'), any::<u8>()], 0..128)) {
        let _ = fold_json(&schema(), &template(), &bytes);
    }
}

#[test]
#[ignore = "timing, run by hand in release"]
fn json_timing() {
    let row: Vec<String> = (0..1000)
        .map(|i| format!("{}", (i as f64) * 0.001234567891234 - 0.6))
        .collect();
    let body = format!(r#"{{"age": [{}]}}"#, row.join(", "));
    let s = Schema::of_profile(&template(), &[], 100_000, 50);
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(json::read_columns(&s, body.as_bytes()));
    }
    let read = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        for x in &row {
            std::hint::black_box(x.parse::<f64>().unwrap());
        }
    }
    eprintln!(
        "read {:?} per column, parse alone {:?} per column",
        read / 1000,
        t.elapsed() / 1000
    );
}
