//! The borrowed columns of a batch, as the engine reads them: numbers in any kernel dtype (strided
//! allowed), dictionary codes, fixed-width UCS4 strings, Arrow string buffers, and values already
//! reduced to counts. Pure Rust: the bindings build these views over NumPy and Arrow memory.

use crate::categorical::{CategoryCounts, KeyRef};
use crate::counting::{count_arrow_strings, count_arrow_views, ArrowStrings, ArrowViews, ByteCounts, StrSink};
use crate::error::{EngineError, Result};
use crate::short_index::ShortView;
use crate::sketch::Key;
use ndarray::{ArrayView1, ArrayView2};

/// A borrowed 1-D numeric column (contiguous or strided) in a dtype the kernels read.
#[derive(Debug, Clone, Copy)]
pub enum Numbers<'a> {
    /// float64.
    F64(ArrayView1<'a, f64>),
    /// float32.
    F32(ArrayView1<'a, f32>),
    /// int64.
    I64(ArrayView1<'a, i64>),
    /// int32.
    I32(ArrayView1<'a, i32>),
    /// int16.
    I16(ArrayView1<'a, i16>),
    /// int8.
    I8(ArrayView1<'a, i8>),
    /// uint8.
    U8(ArrayView1<'a, u8>),
    /// uint16.
    U16(ArrayView1<'a, u16>),
    /// uint32.
    U32(ArrayView1<'a, u32>),
}

/// `$ints` with `$v` bound to the view when `$n` holds integers, `$floats` with `$w` bound to it when
/// it holds floats (categories are integers, never floats).
macro_rules! dispatch {
    ($n:expr, |$v:ident| $ints:expr, |$w:ident| $floats:expr) => {
        match $n {
            Numbers::F64($w) => $floats,
            Numbers::F32($w) => $floats,
            Numbers::I64($v) => $ints,
            Numbers::I32($v) => $ints,
            Numbers::I16($v) => $ints,
            Numbers::I8($v) => $ints,
            Numbers::U8($v) => $ints,
            Numbers::U16($v) => $ints,
            Numbers::U32($v) => $ints,
        }
    };
}

pub(crate) use dispatch;

impl Numbers<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        dispatch!(self, |v| v.len(), |w| w.len())
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Dictionary codes (negative = missing), in any integer dtype or as booleans (codes 0 and 1).
#[derive(Debug, Clone, Copy)]
pub enum Codes<'a> {
    /// A boolean column: code 0 is `false`, 1 is `true`.
    Bool(ArrayView1<'a, bool>),
    /// Integer codes.
    Int(Numbers<'a>),
}

/// One Arrow string array's buffers, in any of the three string layouts.
pub enum StrChunk<'a> {
    /// `string`: i32 offsets.
    Offsets32(ArrowStrings<'a, i32>),
    /// `large_string`: i64 offsets.
    Offsets64(ArrowStrings<'a, i64>),
    /// `string_view`: 16-byte views.
    Views(ArrowViews<'a>),
}

impl StrChunk<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Offsets32(a) => a.offsets.len().saturating_sub(1),
            Self::Offsets64(a) => a.offsets.len().saturating_sub(1),
            Self::Views(a) => a.views.len() / 16,
        }
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Null values, from the validity bitmap (bits beyond a short bitmap read as null).
    pub fn nulls(&self) -> u64 {
        let validity = match self {
            Self::Offsets32(a) => a.validity,
            Self::Offsets64(a) => a.validity,
            Self::Views(a) => a.validity,
        };
        let Some((bits, offset)) = validity else { return 0 };
        let valid = crate::kernel::Validity { bits, offset };
        (0..self.len()).filter(|&i| !valid.get(i)).count() as u64
    }
}

impl std::fmt::Debug for StrChunk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StrChunk({} values)", self.len())
    }
}

/// Reads every value of `chunks` into `sink`; returns the null count.
fn read_strings<'a, S: StrSink<'a>>(chunks: &[StrChunk<'a>], sink: &mut S) -> Result<u64> {
    let mut missing = 0u64;
    for chunk in chunks {
        missing += match chunk {
            StrChunk::Offsets32(a) => count_arrow_strings(a, sink)?,
            StrChunk::Offsets64(a) => count_arrow_strings(a, sink)?,
            StrChunk::Views(a) => count_arrow_views(a, sink)?,
        };
    }
    Ok(missing)
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| EngineError::invalid("arrow string data is not valid UTF-8"))
}

/// Distinct strings of Arrow string chunks with their counts, and the null count; each distinct
/// value's UTF-8 is checked once.
pub fn count_strings(chunks: &[StrChunk<'_>]) -> Result<(Vec<(Key, u64)>, u64)> {
    let mut counts = ByteCounts::default();
    let missing = read_strings(chunks, &mut counts)?;
    let mut values = Vec::new();
    for (bytes, n) in counts.into_counts() {
        values.push((Key::Str(utf8(bytes)?.into()), n));
    }
    Ok((values, missing))
}

/// Counts each string straight into its category's slot when its packed key is a short category's;
/// every other value is left in `misses` for the general lookup. The index is held by value, so its
/// parts stay in registers while the loop stores counts.
struct SlotSink<'a, 'm> {
    index: ShortView<'m>,
    delta: &'m mut [u64],
    misses: &'m mut ByteCounts<'a>,
}

impl<'a> StrSink<'a> for SlotSink<'a, '_> {
    #[inline(always)]
    fn add_keyed(&mut self, key: Option<u128>, v: &'a [u8]) {
        if let Some(id) = key.and_then(|k| self.index.get(k)) {
            if let Some(d) = self.delta.get_mut(id as usize) {
                *d += 1;
                return;
            }
        }
        miss(self.misses, key, v);
    }
}

#[cold]
#[inline(never)]
fn miss<'a>(misses: &mut ByteCounts<'a>, key: Option<u128>, v: &'a [u8]) {
    misses.add_keyed(key, v);
}

/// A count per slot (the codec's order) and the distinct unseen values with their counts.
pub(crate) type Slotted = (Vec<u64>, Vec<(Key, u64)>);

/// Arrow string chunks reduced to `counts`' slots (the codec's order: categories, other, unseen,
/// missing) and the distinct unseen values: what [`CategoryCounts::add_value_counts`] of
/// [`count_strings`] would add, counted without building the distinct values (one probe of a table as
/// small as the categories per value, where a batch-wide map of distinct values cost 3x more).
pub(crate) fn slot_strings(chunks: &[StrChunk<'_>], counts: &CategoryCounts) -> Result<Slotted> {
    let mut delta = vec![0; counts.raw_counts().len()];
    let mut misses = ByteCounts::default();
    let mut sink = SlotSink {
        index: counts.short_index().view(),
        delta: &mut delta,
        misses: &mut misses,
    };
    let missing = read_strings(chunks, &mut sink)?;
    let mut unseen = Vec::new();
    let misses: Vec<(&str, u64)> = misses
        .into_counts()
        .map(|(b, n)| utf8(b).map(|s| (s, n)))
        .collect::<Result<_>>()?;
    counts.tally(
        misses.into_iter().map(|(s, n)| (KeyRef::Str(s), n)),
        &mut delta,
        &mut unseen,
    );
    if let Some(m) = delta.last_mut() {
        *m += missing;
    }
    Ok((delta, unseen))
}

/// One column of a batch, borrowed from its source.
#[derive(Debug, Clone)]
pub enum Column<'a> {
    /// Numbers: binned by a numerical feature, counted as integer categories by a categorical one.
    Numbers(Numbers<'a>),
    /// Codes into `dictionary` (`None` entries are missing values).
    Codes {
        /// The codes.
        codes: Codes<'a>,
        /// The value of each code.
        dictionary: Vec<Option<Key>>,
    },
    /// Fixed-width UCS4 strings (numpy `U`), one row per value, trailing NULs as padding.
    Ucs4(ArrayView2<'a, u32>),
    /// Arrow string arrays (the chunks of one column), read from their buffers.
    Strings(&'a [StrChunk<'a>]),
    /// Values already reduced to distinct values and counts (Python objects, read with the GIL).
    Counted {
        /// Distinct values (each once) with their counts.
        values: &'a [(Key, u64)],
        /// Missing values.
        missing: u64,
        /// Rows.
        rows: u64,
    },
    /// Values already reduced to their feature's slots (by a cache of the feature's own categories):
    /// a count per slot in the codec's order (categories, other, unseen, missing) and the unseen values.
    Slotted {
        /// Count per slot.
        delta: &'a [u64],
        /// Distinct unseen values (each once) with their counts.
        unseen: &'a [(Key, u64)],
        /// Rows.
        rows: u64,
    },
}

impl Column<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Self::Numbers(n) => n.len(),
            Self::Codes {
                codes: Codes::Bool(v), ..
            } => v.len(),
            Self::Codes {
                codes: Codes::Int(n), ..
            } => n.len(),
            Self::Ucs4(rows) => rows.nrows(),
            Self::Strings(chunks) => chunks.iter().map(StrChunk::len).sum(),
            Self::Counted { rows, .. } | Self::Slotted { rows, .. } => usize::try_from(*rows).unwrap_or(usize::MAX),
        }
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
