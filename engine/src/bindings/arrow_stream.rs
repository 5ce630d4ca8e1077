//! Tables from any Arrow producer (pyarrow, polars, duckdb, arro3, nanoarrow...) through the Arrow
//! PyCapsule interface: `__arrow_c_stream__` (or `__arrow_c_array__` for one record batch) imported by
//! arrow-rs' C Data Interface, and every record batch of the stream counted by [`PyProfile::count`] in
//! one detached call, all or nothing.
//!
//! The engine reads the producer's buffers in place: numbers without nulls, strings (`utf8`,
//! `large_utf8`, `utf8_view`, nulls through their bitmap) and dictionary keys without nulls. A few
//! rarer layouts are converted first, one column at a time: numbers with nulls become float64 with NaN
//! (missing, as NaN is), integer categories with nulls are reduced to value counts, booleans are
//! unpacked from their bits. A schema with a feature of any other type (float16, uint64, decimals,
//! dates, nested types, floats for a categorical feature, ...) is left to the caller, before any batch
//! is read, so the caller can take its general path over the same object.

use super::arrow_column::{arrow_error, c_array, c_stream};
use super::errors::{dtype_error, input_error};
use super::held::bool_dictionary;
use super::profile::PyProfile;
use crate::counting::{count_ints, ArrowStrings, ArrowViews};
use crate::profile::{Codes, Column, Numbers, StrChunk};
use crate::sketch::Key;
use arrow_array::cast::AsArray;
use arrow_array::ffi_stream::RecordBatchStreamReader;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch, RecordBatchReader, StructArray};
use arrow_schema::{DataType, SchemaRef};
use ndarray::ArrayView1;
use pyo3::prelude::*;

/// What `Profile.update_arrow` returns: rows, every column name, and the invalid columns.
pub(super) type ArrowUpdated = Option<(u64, Vec<String>, Vec<(String, u64, u64)>)>;

/// Whether the engine reads a column of type `dt` for a numerical (`numeric`) or categorical feature
/// exactly as the general path would.
fn readable(dt: &DataType, numeric: bool) -> bool {
    use DataType as D;
    let ints = |d: &DataType| {
        matches!(
            d,
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32
        )
    };
    let strings = |d: &DataType| matches!(d, D::Utf8 | D::LargeUtf8 | D::Utf8View);
    match dt {
        D::Float32 | D::Float64 => numeric,
        D::Boolean => true,
        D::Dictionary(k, v) => ints(k) && strings(v),
        d => ints(d) || strings(d),
    }
}

/// A stream's schema and record batches.
type Imported = (SchemaRef, Vec<RecordBatch>);

/// The record batches of `obj`, or `None` when it speaks no Arrow or `keep` refuses its schema (then
/// nothing was read).
fn import(obj: &Bound<'_, PyAny>, keep: impl Fn(&SchemaRef) -> bool) -> PyResult<Option<Imported>> {
    let py = obj.py();
    if obj.hasattr(pyo3::intern!(py, "__arrow_c_stream__"))? {
        let reader = RecordBatchStreamReader::try_new(c_stream(obj)?).map_err(arrow_error)?;
        let schema = reader.schema();
        if !keep(&schema) {
            return Ok(None);
        }
        let batches = reader.collect::<Result<Vec<_>, _>>().map_err(arrow_error)?;
        return Ok(Some((schema, batches)));
    }
    if obj.hasattr(pyo3::intern!(py, "__arrow_c_array__"))? {
        let data = c_array(obj)?.to_data();
        if !matches!(data.data_type(), DataType::Struct(_)) {
            return Err(dtype_error(format!(
                "an Arrow {} is not a table: give a table or record batch",
                data.data_type()
            )));
        }
        let batch = RecordBatch::from(StructArray::from(data));
        let schema = batch.schema();
        return Ok(keep(&schema).then(|| (schema, vec![batch])));
    }
    Ok(None)
}

/// One column of one record batch, borrowed from its buffers or converted.
enum Piece<'a> {
    Numbers(Numbers<'a>),
    Floats(Vec<f64>),
    Bools(Vec<bool>),
    Keys(Numbers<'a>, Vec<Option<Key>>),
    Codes(Vec<i64>, Vec<Option<Key>>),
    Strings(Vec<StrChunk<'a>>),
    Counted(Vec<(Key, u64)>, u64, u64),
}

impl<'a> Piece<'a> {
    fn column(&'a self) -> Column<'a> {
        match self {
            Piece::Numbers(n) => Column::Numbers(*n),
            Piece::Floats(v) => Column::Numbers(Numbers::F64(ArrayView1::from(v.as_slice()))),
            Piece::Bools(v) => Column::Codes {
                codes: Codes::Bool(ArrayView1::from(v.as_slice())),
                dictionary: bool_dictionary(),
            },
            Piece::Keys(n, dictionary) => Column::Codes {
                codes: Codes::Int(*n),
                dictionary: dictionary.clone(),
            },
            Piece::Codes(v, dictionary) => Column::Codes {
                codes: Codes::Int(Numbers::I64(ArrayView1::from(v.as_slice()))),
                dictionary: dictionary.clone(),
            },
            Piece::Strings(chunks) => Column::Strings(chunks.as_slice()),
            Piece::Counted(values, missing, rows) => Column::Counted {
                values,
                missing: *missing,
                rows: *rows,
            },
        }
    }
}

fn validity(a: &dyn Array) -> Option<(&[u8], usize)> {
    a.nulls()
        .filter(|n| n.null_count() > 0)
        .map(|n| (n.inner().values(), n.inner().offset()))
}

/// A numeric column: borrowed without nulls, else float64 with NaN for the nulls (missing).
fn numbers<'a, T>(a: &'a PrimitiveArray<T>, wrap: fn(ArrayView1<'a, T::Native>) -> Numbers<'a>) -> Piece<'a>
where
    T: ArrowPrimitiveType,
    T::Native: crate::kernel::Element,
{
    if a.null_count() == 0 {
        return Piece::Numbers(wrap(ArrayView1::from(&a.values()[..])));
    }
    Piece::Floats(a.iter().map(|v| v.map_or(f64::NAN, crate::kernel::widen_f64)).collect())
}

/// An integer column: as [`numbers`], except that integer categories with nulls are reduced to
/// value counts (a NaN is no category).
fn ints<'a, T>(a: &'a PrimitiveArray<T>, numeric: bool, wrap: fn(ArrayView1<'a, T::Native>) -> Numbers<'a>) -> Piece<'a>
where
    T: ArrowPrimitiveType,
    T::Native: crate::kernel::Element + crate::counting::Code,
{
    if numeric || a.null_count() == 0 {
        return numbers(a, wrap);
    }
    let valid: Vec<T::Native> = a.iter().flatten().collect();
    let counted = count_ints(ArrayView1::from(valid.as_slice()));
    let values = counted.into_iter().map(|(k, n)| (Key::Int(k), n)).collect();
    Piece::Counted(values, a.null_count() as u64, a.len() as u64)
}

pub(super) fn strings(a: &dyn Array) -> Option<StrChunk<'_>> {
    let valid = validity(a);
    Some(match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            StrChunk::Offsets32(ArrowStrings {
                offsets: s.value_offsets(),
                data: s.values().as_slice(),
                validity: valid,
            })
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            StrChunk::Offsets64(ArrowStrings {
                offsets: s.value_offsets(),
                data: s.values().as_slice(),
                validity: valid,
            })
        }
        DataType::Utf8View => {
            let s = a.as_string_view();
            let buffers = s.data_buffers().iter().map(|b| b.as_slice()).collect();
            StrChunk::Views(ArrowViews {
                views: s.views().inner().as_slice(),
                buffers,
                validity: valid,
            })
        }
        _ => return None,
    })
}

/// A dictionary's values as categories (nulls as missing), UTF-8 checked.
fn dictionary_keys(values: &dyn Array) -> PyResult<Vec<Option<Key>>> {
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(|s| Some(Key::Str(s.into())))
            .map_err(|_| input_error("an Arrow dictionary holds invalid UTF-8"))
    };
    let valid = |i: usize| values.is_valid(i);
    match values.data_type() {
        DataType::Utf8 => values
            .as_string::<i32>()
            .iter()
            .map(|v| v.map_or(Ok(None), |s| text(s.as_bytes())))
            .collect(),
        DataType::LargeUtf8 => values
            .as_string::<i64>()
            .iter()
            .map(|v| v.map_or(Ok(None), |s| text(s.as_bytes())))
            .collect(),
        DataType::Utf8View => {
            let s = values.as_string_view();
            (0..s.len())
                .map(|i| {
                    if valid(i) {
                        text(s.value(i).as_bytes())
                    } else {
                        Ok(None)
                    }
                })
                .collect()
        }
        other => Err(dtype_error(format!("unsupported Arrow dictionary values {other}"))),
    }
}

macro_rules! keys {
    ($a:expr, $dict:expr, $($t:ty => $d:ident => $n:ident),*) => {
        match $a.data_type() {
            $(DataType::$d => {
                let k = $a.as_primitive::<$t>();
                if k.null_count() == 0 {
                    Piece::Keys(Numbers::$n(ArrayView1::from(&k.values()[..])), $dict)
                } else {
                    Piece::Codes(k.iter().map(|c| c.map_or(-1, i64::from)).collect(), $dict)
                }
            })*
            other => return Err(dtype_error(format!("unsupported Arrow dictionary keys {other}"))),
        }
    };
}

fn piece(a: &dyn Array, numeric: bool) -> PyResult<Piece<'_>> {
    use DataType as D;
    Ok(match a.data_type() {
        D::Float64 => numbers(a.as_primitive::<Float64Type>(), Numbers::F64),
        D::Float32 => numbers(a.as_primitive::<Float32Type>(), Numbers::F32),
        D::Int64 => ints(a.as_primitive::<Int64Type>(), numeric, Numbers::I64),
        D::Int32 => ints(a.as_primitive::<Int32Type>(), numeric, Numbers::I32),
        D::Int16 => ints(a.as_primitive::<Int16Type>(), numeric, Numbers::I16),
        D::Int8 => ints(a.as_primitive::<Int8Type>(), numeric, Numbers::I8),
        D::UInt32 => ints(a.as_primitive::<UInt32Type>(), numeric, Numbers::U32),
        D::UInt16 => ints(a.as_primitive::<UInt16Type>(), numeric, Numbers::U16),
        D::UInt8 => ints(a.as_primitive::<UInt8Type>(), numeric, Numbers::U8),
        D::Boolean => {
            let b = a.as_boolean();
            if b.null_count() == 0 {
                Piece::Bools(b.values().iter().collect())
            } else {
                Piece::Codes(b.iter().map(|v| v.map_or(-1, i64::from)).collect(), bool_dictionary())
            }
        }
        D::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let dict = dictionary_keys(d.values().as_ref())?;
            let k = d.keys();
            keys!(k, dict, Int8Type => Int8 => I8, Int16Type => Int16 => I16, Int32Type => Int32 => I32,
                  Int64Type => Int64 => I64, UInt8Type => UInt8 => U8, UInt16Type => UInt16 => U16,
                  UInt32Type => UInt32 => U32)
        }
        _ => match strings(a) {
            Some(chunk) => Piece::Strings(vec![chunk]),
            None => return Err(dtype_error(format!("unsupported Arrow type {}", a.data_type()))),
        },
    })
}

/// `Profile.update_arrow`: counts every record batch of `obj` in one call (see the module docs); with
/// `strict`, a schema without every feature is left to the caller too.
pub(super) fn update(
    profile: &PyProfile,
    obj: &Bound<'_, PyAny>,
    threads: Option<usize>,
    strict: bool,
) -> PyResult<ArrowUpdated> {
    let wanted = |schema: &SchemaRef| {
        let mut seen = std::collections::HashSet::new();
        // A column of type null is left to the caller even when it is no feature: arrow-rs refuses
        // the buffers pyarrow exports for it.
        let readable = schema.fields().iter().all(|f| match profile.feature(f.name()) {
            Some((i, numeric)) => seen.insert(i) && readable(f.data_type(), numeric),
            None => f.data_type() != &DataType::Null,
        });
        readable && (!strict || seen.len() == profile.len())
    };
    let Some((schema, batches)) = import(obj, wanted)? else {
        return Ok(None);
    };
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let features: Vec<(usize, usize, bool)> = names
        .iter()
        .enumerate()
        .filter_map(|(col, n)| profile.feature(n).map(|(i, numeric)| (col, i, numeric)))
        .collect();
    let pieces: Vec<Vec<Piece<'_>>> = batches
        .iter()
        .map(|b| {
            features
                .iter()
                .map(|&(col, _, numeric)| piece(b.column(col).as_ref(), numeric))
                .collect()
        })
        .collect::<PyResult<_>>()?;
    let columns: Vec<Vec<Column<'_>>> = pieces.iter().map(|ps| ps.iter().map(Piece::column).collect()).collect();
    let indices: Vec<usize> = features.iter().map(|&(_, i, _)| i).collect();
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let mut invalid = profile.count(obj.py(), &indices, &columns, threads, strict)?;
    if batches.is_empty() {
        // No batch, so no piece said so: a column of the wrong kind is still one, as on the general path.
        invalid = features
            .iter()
            .filter(|&&(col, _, numeric)| numeric && !is_number(schema.field(col).data_type()))
            .map(|&(col, _, _)| (schema.field(col).name().clone(), 0, 0))
            .collect();
    }
    Ok(Some((rows, names, invalid)))
}

/// Whether a numerical feature counts a column of type `dt` (others are invalid values for it).
fn is_number(dt: &DataType) -> bool {
    dt.is_integer() || dt.is_floating()
}
