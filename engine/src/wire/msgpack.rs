//! The msgpack reader of an ingest body's `columns` map: markers and numbers through `rmp`, strings
//! and binary data borrowed from the body (no copy), every value checked against the baseline's
//! schema as it is read.
//!
//! It follows the msgspec Structs of `mlmon.service.ingest.schemas` (`columns_type`) rule for rule:
//! the same forms are accepted, the same types refused, and a refusal names the same path
//! (`$.age[3]`) with msgspec's wording, so the service answers the same 422 whichever reader ran.
//! Bytes that are not msgpack (truncated, reserved marker, a string that is not UTF-8) are
//! [`EngineError::Codec`] (the service's 400); everything else is [`EngineError::Invalid`] (422).
//! Reading stops at the first problem, so nothing is ever skipped and nesting cannot recurse.

use super::{Batch, Col, Dtype, Label, RawBytes, RawCodes, Schema, CODE_DTYPES, NUMBER_DTYPES};
use crate::error::{EngineError, Result};
use rmp::decode::{read_marker, Bytes, RmpRead};
use rmp::Marker;
use std::borrow::Cow;

/// A cursor over the body: `rmp` reads markers and fixed-width data, slices are taken directly.
struct Reader<'a> {
    rd: Bytes<'a>,
}

fn truncated() -> EngineError {
    EngineError::codec("Input data was truncated")
}

fn invalid(msg: String) -> EngineError {
    EngineError::invalid(format!("columns: {msg}"))
}

/// msgspec's name of the type a marker starts.
fn type_name(m: Marker) -> &'static str {
    match m {
        Marker::Null => "null",
        Marker::True | Marker::False => "bool",
        Marker::FixPos(_) | Marker::FixNeg(_) | Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => "int",
        Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => "int",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "str",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "bytes",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "object",
        _ => "ext",
    }
}

/// What a value is, once its marker and length are read.
enum Head {
    Nil,
    Bool,
    Int(i128),
    Float(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    Other,
}

impl<'a> Reader<'a> {
    fn marker(&mut self) -> Result<Marker> {
        match read_marker(&mut self.rd) {
            Ok(Marker::Reserved) => Err(EngineError::codec(
                "MessagePack data is malformed: invalid opcode '\\xc1'",
            )),
            Ok(m) => Ok(m),
            Err(_) => Err(truncated()),
        }
    }

    fn len8(&mut self) -> Result<usize> {
        self.rd.read_data_u8().map(usize::from).map_err(|_| truncated())
    }
    fn len16(&mut self) -> Result<usize> {
        self.rd.read_data_u16().map(usize::from).map_err(|_| truncated())
    }
    fn len32(&mut self) -> Result<usize> {
        let n = self.rd.read_data_u32().map_err(|_| truncated())?;
        usize::try_from(n).map_err(|_| truncated())
    }

    /// The next value's marker and what follows it (numbers read, lengths of the rest).
    fn head(&mut self) -> Result<(Marker, Head)> {
        let m = self.marker()?;
        let rd = &mut self.rd;
        let head = match m {
            Marker::Null => Head::Nil,
            Marker::True | Marker::False => Head::Bool,
            Marker::FixPos(v) => Head::Int(i128::from(v)),
            Marker::FixNeg(v) => Head::Int(i128::from(v)),
            Marker::U8 => Head::Int(i128::from(rd.read_data_u8().map_err(|_| truncated())?)),
            Marker::U16 => Head::Int(i128::from(rd.read_data_u16().map_err(|_| truncated())?)),
            Marker::U32 => Head::Int(i128::from(rd.read_data_u32().map_err(|_| truncated())?)),
            Marker::U64 => Head::Int(i128::from(rd.read_data_u64().map_err(|_| truncated())?)),
            Marker::I8 => Head::Int(i128::from(rd.read_data_i8().map_err(|_| truncated())?)),
            Marker::I16 => Head::Int(i128::from(rd.read_data_i16().map_err(|_| truncated())?)),
            Marker::I32 => Head::Int(i128::from(rd.read_data_i32().map_err(|_| truncated())?)),
            Marker::I64 => Head::Int(i128::from(rd.read_data_i64().map_err(|_| truncated())?)),
            Marker::F32 => Head::Float(f64::from(rd.read_data_f32().map_err(|_| truncated())?)),
            Marker::F64 => Head::Float(rd.read_data_f64().map_err(|_| truncated())?),
            Marker::FixStr(n) => Head::Str(usize::from(n)),
            Marker::Str8 => Head::Str(self.len8()?),
            Marker::Str16 => Head::Str(self.len16()?),
            Marker::Str32 => Head::Str(self.len32()?),
            Marker::Bin8 => Head::Bin(self.len8()?),
            Marker::Bin16 => Head::Bin(self.len16()?),
            Marker::Bin32 => Head::Bin(self.len32()?),
            Marker::FixArray(n) => Head::Array(usize::from(n)),
            Marker::Array16 => Head::Array(self.len16()?),
            Marker::Array32 => Head::Array(self.len32()?),
            Marker::FixMap(n) => Head::Map(usize::from(n)),
            Marker::Map16 => Head::Map(self.len16()?),
            Marker::Map32 => Head::Map(self.len32()?),
            _ => Head::Other,
        };
        Ok((m, head))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let rest = self.rd.remaining_slice();
        let (taken, tail) = rest.split_at_checked(n).ok_or_else(truncated)?;
        self.rd = Bytes::new(tail);
        Ok(taken)
    }

    fn str(&mut self, n: usize) -> Result<&'a str> {
        std::str::from_utf8(self.take(n)?).map_err(|_| EngineError::codec("Invalid UTF-8 encoded string"))
    }

    /// A map key: a string (a 422 naming `where_` otherwise).
    fn key(&mut self, where_: &str) -> Result<&'a str> {
        match self.head()? {
            (_, Head::Str(n)) => self.str(n),
            (m, _) => Err(invalid(format!(
                "Expected `str`, got `{}` - at `key` in `{where_}`",
                type_name(m)
            ))),
        }
    }

    /// A declared element count that cannot be in the rest of the body is truncated data (each
    /// element is at least one byte), refused before anything is allocated for it.
    fn fits(&self, n: usize) -> Result<()> {
        if n > self.rd.remaining_slice().len() {
            return Err(truncated());
        }
        Ok(())
    }
}

fn expected(what: &str, m: Marker, at: &str) -> EngineError {
    invalid(format!("Expected `{what}`, got `{}` - at `{at}`", type_name(m)))
}

/// Reads the `columns` map of an ingest body against `schema`, in full: the columns in baseline
/// feature order (`None` for an absent one) and how many entries the map declared.
///
/// Errors: [`EngineError::Codec`] for bytes that are not msgpack, [`EngineError::Invalid`] for a value
/// the schema refuses (with its path), an unknown column or a repeated one.
pub fn read_columns<'a>(schema: &Schema, body: &'a [u8]) -> Result<Batch<'a>> {
    let mut r = Reader { rd: Bytes::new(body) };
    let entries = match r.head()? {
        (_, Head::Map(n)) => n,
        (m, _) => return Err(invalid(format!("Expected `object`, got `{}`", type_name(m)))),
    };
    r.fits(entries)?;
    let mut columns: Vec<Option<Col<'a>>> = (0..schema.features.len()).map(|_| None).collect();
    let mut seen = vec![false; schema.features.len()];
    let mut distinct = 0usize;
    for _ in 0..entries {
        let name = r.key("$")?;
        let Some(i) = schema.index_of(name) else {
            return Err(invalid(format!("Object contains unknown field `{name}`")));
        };
        if let Some(s) = seen.get_mut(i) {
            distinct += usize::from(!*s);
            *s = true;
        }
        let at = format!("$.{name}");
        let numeric = schema.features.get(i).is_some_and(|f| f.numeric);
        let col = column(&mut r, numeric, schema.max_rows, &at)?;
        if let Some(slot) = columns.get_mut(i) {
            *slot = col; // a repeated name keeps its last value, as msgspec does, and is refused below
        }
    }
    if distinct != entries {
        return Err(invalid(format!(
            "the map has {entries} entries but {distinct} distinct names: a column is repeated"
        )));
    }
    Ok(Batch { columns })
}

fn column<'a>(r: &mut Reader<'a>, numeric: bool, max_rows: usize, at: &str) -> Result<Option<Col<'a>>> {
    match r.head()? {
        (_, Head::Nil) => Ok(None),
        (_, Head::Array(n)) => {
            if n > max_rows {
                return Err(invalid(format!("Expected `array` of length <= {max_rows} - at `{at}`")));
            }
            r.fits(n)?;
            Ok(Some(if numeric {
                Col::Numbers(numbers(r, n, at)?)
            } else {
                Col::Labels(labels(r, n, at)?)
            }))
        }
        (_, Head::Map(n)) if numeric => {
            let raw = raw_struct(r, n, at, NUMBER_DTYPES)?;
            Ok(Some(Col::RawNumbers(raw)))
        }
        (_, Head::Map(n)) => coded(r, n, at).map(Some),
        (m, _) => Err(expected("object | array | null", m, at)),
    }
}

fn numbers(r: &mut Reader<'_>, n: usize, at: &str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match r.head()? {
            (_, Head::Float(v)) => v,
            // As msgspec (and Python's float()): the nearest double, ties to even.
            (_, Head::Int(v)) => v as f64,
            (_, Head::Nil) => f64::NAN,
            (m, _) => return Err(expected("float | null", m, &format!("{at}[{i}]"))),
        });
    }
    Ok(out)
}

/// Longest category label, in code points (the Structs' `max_length`).
const MAX_LABEL_CHARS: usize = 1024;

fn labels<'a>(r: &mut Reader<'a>, n: usize, at: &str) -> Result<Vec<Label<'a>>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match r.head()? {
            (_, Head::Str(len)) => {
                let s = r.str(len)?;
                // Bytes bound code points from above, so only long strings need counting.
                if len > MAX_LABEL_CHARS && s.chars().count() > MAX_LABEL_CHARS {
                    let msg = format!("Expected `str` of length <= {MAX_LABEL_CHARS} - at `{at}[{i}]`");
                    return Err(invalid(msg));
                }
                Label::Str(s)
            }
            (_, Head::Int(v)) => Label::Int(v),
            (_, Head::Nil) => Label::Missing,
            (m, _) => return Err(expected("int | str | null", m, &format!("{at}[{i}]"))),
        });
    }
    Ok(out)
}

/// `{dtype, data}` (`RawNumbers`, `RawCodes`): a dtype among `dtypes` and msgpack bin.
fn raw_struct<'a>(r: &mut Reader<'a>, n: usize, at: &str, dtypes: &[(&str, Dtype)]) -> Result<RawBytes<'a>> {
    r.fits(n)?;
    let (mut dtype, mut data) = (None, None);
    for _ in 0..n {
        match r.key(at)? {
            "dtype" => {
                let where_ = format!("{at}.dtype");
                let s = match r.head()? {
                    (_, Head::Str(len)) => r.str(len)?,
                    (m, _) => return Err(expected("str", m, &where_)),
                };
                let found = dtypes.iter().find(|(name, _)| *name == s).map(|(_, d)| *d);
                dtype = Some(found.ok_or_else(|| invalid(format!("Invalid enum value '{s}' - at `{where_}`")))?);
            }
            "data" => {
                data = Some(match r.head()? {
                    (_, Head::Bin(len)) => r.take(len)?,
                    (m, _) => return Err(expected("bytes", m, &format!("{at}.data"))),
                });
            }
            other => return Err(invalid(format!("Object contains unknown field `{other}` - at `{at}`"))),
        }
    }
    let missing = |field: &str| invalid(format!("Object missing required field `{field}` - at `{at}`"));
    Ok(RawBytes {
        dtype: dtype.ok_or_else(|| missing("dtype"))?,
        data: Cow::Borrowed(data.ok_or_else(|| missing("data"))?),
    })
}

/// `{categories, codes}` (`CodedColumn`).
fn coded<'a>(r: &mut Reader<'a>, n: usize, at: &str) -> Result<Col<'a>> {
    r.fits(n)?;
    let (mut categories, mut codes) = (None, None);
    for _ in 0..n {
        match r.key(at)? {
            "categories" => {
                let where_ = format!("{at}.categories");
                categories = Some(match r.head()? {
                    (_, Head::Array(len)) => {
                        r.fits(len)?;
                        labels(r, len, &where_)?
                    }
                    (m, _) => return Err(expected("array", m, &where_)),
                });
            }
            "codes" => {
                let where_ = format!("{at}.codes");
                codes = Some(match r.head()? {
                    (_, Head::Array(len)) => RawCodes::List(code_list(r, len, &where_)?),
                    (_, Head::Map(len)) => RawCodes::Raw(raw_struct(r, len, &where_, CODE_DTYPES)?),
                    (m, _) => return Err(expected("array | object", m, &where_)),
                });
            }
            other => return Err(invalid(format!("Object contains unknown field `{other}` - at `{at}`"))),
        }
    }
    let missing = |field: &str| invalid(format!("Object missing required field `{field}` - at `{at}`"));
    Ok(Col::Coded {
        categories: categories.ok_or_else(|| missing("categories"))?,
        codes: codes.ok_or_else(|| missing("codes"))?,
    })
}

fn code_list(r: &mut Reader<'_>, n: usize, at: &str) -> Result<Vec<i128>> {
    r.fits(n)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match r.head()? {
            (_, Head::Int(v)) => v,
            (m, _) => return Err(expected("int", m, &format!("{at}[{i}]"))),
        });
    }
    Ok(out)
}
