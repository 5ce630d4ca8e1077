//! Versioned little-endian binary encoding of histograms, category counts and multi-feature profiles.
//!
//! Layout: magic `MLMN`, format version (u16), kind (u8), payload, then a CRC-32 of everything before
//! it. Every read is bounds-checked against the bytes that remain, so a hostile declared length fails
//! before anything is allocated, and decoding never panics: truncated, corrupted, trailing or
//! wrong-version input is a [`EngineError::Codec`].
#![deny(clippy::indexing_slicing)]

use crate::binning::BinEdges;
use crate::categorical::CategoryCounts;
use crate::error::{EngineError, Result};
use crate::histogram::NumericHistogram;
use crate::kll::{KllSketch, MAX_LEVELS};
use crate::sketch::{Bloom, Key, TopK};

const MAGIC: &[u8; 4] = b"MLMN";
/// The format version written; readers accept exactly the versions they know.
pub const FORMAT_VERSION: u16 = 1;
pub(crate) const KIND_NUMERIC: u8 = 1;
pub(crate) const KIND_CATEGORICAL: u8 = 2;
pub(crate) const KIND_PROFILE: u8 = 3;
const KIND_SKETCH: u8 = 4;
/// Largest unseen-values sketch accepted, so a decoded capacity cannot be absurd.
pub(crate) const MAX_TOP_K: u32 = 1 << 20;

/// One feature's counts inside a profile.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// A numerical feature.
    Numeric(NumericHistogram),
    /// A categorical feature.
    Categorical(CategoryCounts),
}

struct Writer(Vec<u8>);

impl Writer {
    fn new(kind: u8) -> Self {
        let mut w = Self(Vec::with_capacity(256));
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        w.0.push(kind);
        w
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn key(&mut self, k: &Key) {
        match k {
            Key::Str(s) => {
                self.u8(0);
                self.str(s);
            }
            Key::Int(i) => {
                self.u8(1);
                self.0.extend_from_slice(&i.to_le_bytes());
            }
        }
    }
    fn finish(mut self) -> Vec<u8> {
        let crc = crc32fast::hash(&self.0);
        self.0.extend_from_slice(&crc.to_le_bytes());
        self.0
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks magic, version, kind and checksum; returns a reader over the payload.
    pub(crate) fn open(bytes: &'a [u8], kind: u8) -> Result<Self> {
        let (body, crc) = match bytes.len().checked_sub(4) {
            Some(n) if n >= 7 => bytes.split_at(n),
            _ => {
                return Err(EngineError::codec(format!(
                    "input of {} bytes is too short",
                    bytes.len()
                )))
            }
        };
        let mut r = Reader { buf: body };
        if r.take(4)? != MAGIC {
            return Err(EngineError::codec("not an mlmon profile (bad magic bytes)"));
        }
        let version = u16::from_le_bytes(r.array()?);
        if version != FORMAT_VERSION {
            return Err(EngineError::codec(format!(
                "unsupported format version {version} (this build reads version {FORMAT_VERSION})"
            )));
        }
        let found = r.u8()?;
        if found != kind {
            return Err(EngineError::codec(format!(
                "expected object kind {kind}, found {found}"
            )));
        }
        let want = u32::from_le_bytes(crc.try_into().map_err(|_| EngineError::codec("bad checksum field"))?);
        if crc32fast::hash(body) != want {
            return Err(EngineError::codec("checksum mismatch: the bytes are corrupted"));
        }
        Ok(r)
    }
    /// A reader over bytes already opened (a section of a checked input).
    pub(crate) fn over(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    /// What is left to read.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(EngineError::codec(format!(
                "truncated input: needed {n} bytes, {} left",
                self.buf.len()
            )));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?
            .try_into()
            .map_err(|_| EngineError::codec("truncated input"))
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// A declared element count, refused when `count * min_size` exceeds what is left.
    pub(crate) fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u32()?;
        if n.saturating_mul(min_size) > self.buf.len() {
            return Err(EngineError::codec(format!("declared length {n} exceeds the input")));
        }
        Ok(n)
    }
    fn u64s(&mut self, n: usize) -> Result<Vec<u64>> {
        (0..n).map(|_| self.u64()).collect()
    }
    pub(crate) fn str(&mut self) -> Result<&'a str> {
        let n = self.count(1)?;
        std::str::from_utf8(self.take(n)?).map_err(|_| EngineError::codec("invalid utf-8 in a name"))
    }
    pub(crate) fn key(&mut self) -> Result<Key> {
        match self.u8()? {
            0 => Ok(Key::Str(self.str()?.into())),
            1 => Ok(Key::Int(i64::from_le_bytes(self.array()?))),
            t => Err(EngineError::codec(format!("unknown category tag {t}"))),
        }
    }
    pub(crate) fn end(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(EngineError::codec(format!(
                "{} unexpected trailing bytes",
                self.buf.len()
            )))
        }
    }
}

pub(crate) fn as_codec(e: EngineError) -> EngineError {
    match e {
        EngineError::Codec(_) => e,
        other => EngineError::codec(format!("invalid profile: {}", other.message())),
    }
}

fn write_numeric(w: &mut Writer, h: &NumericHistogram) {
    let e = h.edges();
    w.u32(e.cuts().len());
    e.cuts().iter().for_each(|&c| w.f64(c));
    w.f64(e.lower());
    w.f64(e.upper());
    h.counts().iter().for_each(|&c| w.u64(c));
    w.u64(h.missing());
    w.u64(h.out_of_range());
}

fn read_numeric(r: &mut Reader<'_>) -> Result<NumericHistogram> {
    let n = r.count(16)?;
    let cuts = (0..n).map(|_| r.f64()).collect::<Result<Vec<f64>>>()?;
    let (lower, upper) = (r.f64()?, r.f64()?);
    let counts = r.u64s(n + 1)?;
    let (missing, oor) = (r.u64()?, r.u64()?);
    let edges = BinEdges::explicit(cuts, lower, upper).map_err(as_codec)?;
    NumericHistogram::from_parts(edges, counts, missing, oor).map_err(as_codec)
}

fn write_categorical(w: &mut Writer, c: &CategoryCounts) {
    w.u32(c.categories().len());
    c.categories().iter().for_each(|k| w.key(k));
    c.raw_counts().iter().for_each(|&n| w.u64(n));
    w.u64(c.cardinality());
    match c.folded() {
        Some(b) => {
            w.u8(1);
            w.u32(b.words().len());
            b.words().iter().for_each(|&x| w.u64(x));
        }
        None => w.u8(0),
    }
    let top = c.top_unseen();
    w.u32(top.capacity());
    let entries = top.sorted();
    w.u32(entries.len());
    for (k, n, err) in &entries {
        w.key(k);
        w.u64(*n);
        w.u64(*err);
    }
}

fn read_categorical(r: &mut Reader<'_>) -> Result<CategoryCounts> {
    let n = r.count(5)?;
    let categories = (0..n).map(|_| r.key()).collect::<Result<Vec<Key>>>()?;
    let counts = r.u64s(n + 3)?;
    let cardinality = r.u64()?;
    let folded = match r.u8()? {
        0 => None,
        1 => {
            let words = r.count(8)?;
            Some(Bloom::from_words(r.u64s(words)?)?)
        }
        t => return Err(EngineError::codec(format!("unknown filter flag {t}"))),
    };
    let capacity = r.u32()?;
    if capacity > MAX_TOP_K as usize {
        return Err(EngineError::codec(format!(
            "top-k capacity {capacity} is out of bounds"
        )));
    }
    let entries = r.count(21)?;
    let top = (0..entries)
        .map(|_| Ok((r.key()?, r.u64()?, r.u64()?)))
        .collect::<Result<Vec<_>>>()?;
    let top = TopK::from_entries(capacity, top)?;
    CategoryCounts::from_parts(categories, counts, folded, cardinality, top).map_err(as_codec)
}

/// Encodes a numeric histogram.
pub fn encode_numeric(h: &NumericHistogram) -> Vec<u8> {
    let mut w = Writer::new(KIND_NUMERIC);
    write_numeric(&mut w, h);
    w.finish()
}

/// Decodes a numeric histogram.
pub fn decode_numeric(bytes: &[u8]) -> Result<NumericHistogram> {
    let mut r = Reader::open(bytes, KIND_NUMERIC)?;
    let h = read_numeric(&mut r)?;
    r.end()?;
    Ok(h)
}

/// Encodes category counts.
pub fn encode_categorical(c: &CategoryCounts) -> Vec<u8> {
    let mut w = Writer::new(KIND_CATEGORICAL);
    write_categorical(&mut w, c);
    w.finish()
}

/// Decodes category counts.
pub fn decode_categorical(bytes: &[u8]) -> Result<CategoryCounts> {
    let mut r = Reader::open(bytes, KIND_CATEGORICAL)?;
    let c = read_categorical(&mut r)?;
    r.end()?;
    Ok(c)
}

/// Encodes a quantile sketch: k, count, range, coin state, then each level's items.
pub fn encode_sketch(s: &KllSketch) -> Vec<u8> {
    let mut w = Writer::new(KIND_SKETCH);
    w.u32(s.k());
    w.u64(s.n());
    w.f64(s.min());
    w.f64(s.max());
    w.u64(s.coin_state());
    w.u32(s.levels().len());
    for level in s.levels() {
        w.u32(level.len());
        level.iter().for_each(|&x| w.f64(x));
    }
    w.finish()
}

/// Decodes a quantile sketch (weights must add up to its count).
pub fn decode_sketch(bytes: &[u8]) -> Result<KllSketch> {
    let mut r = Reader::open(bytes, KIND_SKETCH)?;
    let k = r.u32()?;
    let (n, min, max, rng) = (r.u64()?, r.f64()?, r.f64()?, r.u64()?);
    let depth = r.count(4)?;
    if depth > MAX_LEVELS {
        return Err(EngineError::codec(format!("sketch of {depth} levels is out of bounds")));
    }
    let levels = (0..depth)
        .map(|_| {
            let len = r.count(8)?;
            (0..len).map(|_| r.f64()).collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    r.end()?;
    KllSketch::from_parts(k, n, min, max, levels, rng).map_err(as_codec)
}

/// Encodes an ordered multi-feature profile.
pub fn encode_profile(features: &[(String, Feature)]) -> Vec<u8> {
    let mut w = Writer::new(KIND_PROFILE);
    w.u32(features.len());
    for (name, f) in features {
        w.str(name);
        match f {
            Feature::Numeric(h) => {
                w.u8(KIND_NUMERIC);
                write_numeric(&mut w, h);
            }
            Feature::Categorical(c) => {
                w.u8(KIND_CATEGORICAL);
                write_categorical(&mut w, c);
            }
        }
    }
    w.finish()
}

/// Decodes a multi-feature profile, refusing duplicate names.
pub fn decode_profile(bytes: &[u8]) -> Result<Vec<(String, Feature)>> {
    let mut r = Reader::open(bytes, KIND_PROFILE)?;
    let n = r.count(5)?;
    let mut out: Vec<(String, Feature)> = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?.to_string();
        if out.iter().any(|(k, _)| *k == name) {
            return Err(EngineError::codec(format!("duplicate feature {name:?}")));
        }
        let f = match r.u8()? {
            KIND_NUMERIC => Feature::Numeric(read_numeric(&mut r)?),
            KIND_CATEGORICAL => Feature::Categorical(read_categorical(&mut r)?),
            t => return Err(EngineError::codec(format!("unknown feature kind {t}"))),
        };
        out.push((name, f));
    }
    r.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::categorical::KeyRef;
    use ndarray::ArrayView1;

    fn hist() -> NumericHistogram {
        let mut h = NumericHistogram::new(BinEdges::explicit(vec![0.0, 1.0], -3.0, 4.0).unwrap());
        h.update(ArrayView1::from(&[0.5, f64::NAN, 9.0, -1.0][..]));
        h
    }

    fn cats() -> CategoryCounts {
        let mut c = CategoryCounts::fit(vec![(Key::Str("a".into()), 3), (Key::Int(4), 1)], 2, 1, 5).unwrap();
        c.add_value_counts([(KeyRef::Str("new"), 2)], 0);
        c
    }

    #[test]
    fn round_trips() {
        assert_eq!(decode_numeric(&encode_numeric(&hist())).unwrap(), hist());
        assert_eq!(decode_categorical(&encode_categorical(&cats())).unwrap(), cats());
        let p = vec![
            ("x".to_string(), Feature::Numeric(hist())),
            ("y".to_string(), Feature::Categorical(cats())),
        ];
        assert_eq!(decode_profile(&encode_profile(&p)).unwrap(), p);
    }

    #[test]
    fn sketches_round_trip_and_reject_bad_weights() {
        let mut s = KllSketch::new(16).unwrap();
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        s.update(ArrayView1::from(&v[..]));
        let b = encode_sketch(&s);
        assert_eq!(decode_sketch(&b).unwrap(), s);
        assert_eq!(
            decode_sketch(&encode_sketch(&KllSketch::new(8).unwrap())).unwrap().n(),
            0
        );
        for n in 0..b.len() {
            assert!(decode_sketch(&b[..n]).is_err());
        }
        // A count that the levels do not add up to, with a valid checksum.
        let mut bad = b.clone();
        bad[11] ^= 1;
        let body = bad.len() - 4;
        let crc = crc32fast::hash(&bad[..body]).to_le_bytes();
        bad[body..].copy_from_slice(&crc);
        assert!(decode_sketch(&bad).unwrap_err().message().contains("weights"));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let b = encode_profile(&[("y".to_string(), Feature::Categorical(cats()))]);
        for n in 0..b.len() {
            assert!(decode_profile(&b[..n]).is_err());
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert!(decode_profile(&c).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn wrong_version_is_named() {
        let mut b = encode_numeric(&hist());
        b[4] = 9;
        let body = b.len() - 4;
        let crc = crc32fast::hash(&b[..body]).to_le_bytes();
        b[body..].copy_from_slice(&crc);
        let e = decode_numeric(&b).unwrap_err();
        assert!(e.message().contains("unsupported format version 9"), "{e}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(decode_profile(&data).is_err() || data.len() > 10);
            let _ = decode_numeric(&data);
            let _ = decode_categorical(&data);
            let _ = decode_sketch(&data);
        }

        #[test]
        fn histograms_round_trip(
            cuts in proptest::collection::btree_set(-1_000_000i64..1_000_000, 0..40),
            values in proptest::collection::vec(-2e6f64..2e6, 0..300),
        ) {
            let cuts: Vec<f64> = cuts.into_iter().map(|c| c as f64 / 7.0).collect();
            let mut h = NumericHistogram::new(BinEdges::explicit(cuts, -1e6, 1e6).unwrap());
            h.update(ndarray::ArrayView1::from(&values[..]));
            let back = decode_numeric(&encode_numeric(&h)).unwrap();
            prop_assert_eq!(back, h);
        }
    }
}
