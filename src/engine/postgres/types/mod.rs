//! Lossless JSON rendering of PostgreSQL values, decoded from the binary
//! wire format.
//!
//! tokio-postgres always asks for binary results, so every cell arrives as
//! the type's `send` representation. This module turns those bytes into a
//! JSON value that keeps every bit of information; it does no I/O and knows
//! nothing about caps (see `run.rs`). The one idea: a JSON number is used
//! only where it is exact (integers, floats that round-trip); everything else
//! whose precision or form JSON cannot carry is a string.
//!
//! Chosen forms (the tool descriptions should state them for the agent):
//! - `numeric`: exact decimal string (`"NaN"`, `"Infinity"`, `"-Infinity"`).
//! - `float4`/`float8`: numbers; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings.
//! - `money`: decimal string with two fraction digits (the binary form is
//!   the amount in cents for the common `lc_monetary` settings).
//! - `bytea`: `"\x…"` hex string, as PostgreSQL's own `bytea_output = hex`.
//! - `date` `YYYY-MM-DD`, `timestamp` ISO 8601 without offset, `timestamptz`
//!   RFC 3339 in UTC (`…Z`), `time` `HH:MM:SS[.ffffff]`, `timetz` with its
//!   offset; `infinity` / `-infinity` as PostgreSQL spells them; dates past
//!   year 262143 (beyond the calendar library) as `N days after 2000-01-01`.
//! - `interval`: ISO 8601 as PostgreSQL's `intervalstyle = iso_8601` prints it
//!   (per-component signs, for example `P1Y2M-3DT4H5M6.5S`).
//! - `json`/`jsonb`: JSON values; when a number inside would lose precision
//!   as a double, the whole document is returned as its text instead.
//! - arrays: nested JSON arrays with `null` elements; enums: their label;
//!   domains: their base type.
//! - anything else (ranges, composites, geometric types, extension types):
//!   `{"pg_type": name, "binary_base64": …}`, so nothing is lost silently.

mod json;
mod numeric;
mod time;

use std::borrow::Cow;
use std::error::Error;
use std::fmt::Write as _;

use base64::Engine as _;
use fallible_iterator::FallibleIterator;
use postgres_protocol::types as wire;
use serde_json::{Map, Number, Value};
use tokio_postgres::types::{FromSql, Kind, Type};

use crate::engine::result::CellWriter;
use crate::engine::rows::RowText;

/// The raw binary bytes of one cell, whatever its type.
pub(crate) struct RawCell<'a>(pub(crate) &'a [u8]);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawCell(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The type name shown to the caller: PostgreSQL's internal name, with
/// arrays as `element[]` rather than `_element`.
pub(crate) fn display_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(element) => format!("{}[]", element.name()),
        _ => ty.name().to_owned(),
    }
}

type BoxError = Box<dyn Error + Sync + Send>;
type DecodeResult = Result<Value, BoxError>;

/// The types whose binary form is their text, which is their JSON string.
const TEXTS: [Type; 7] = [
    Type::TEXT,
    Type::VARCHAR,
    Type::BPCHAR,
    Type::NAME,
    Type::UNKNOWN,
    Type::XML,
    Type::REFCURSOR,
];

/// The types whose binary form is an `oid`, shown as its number.
const OIDS: [Type; 12] = [
    Type::OID,
    Type::REGCLASS,
    Type::REGPROC,
    Type::REGPROCEDURE,
    Type::REGTYPE,
    Type::REGOPER,
    Type::REGOPERATOR,
    Type::REGNAMESPACE,
    Type::REGROLE,
    Type::REGCONFIG,
    Type::XID,
    Type::CID,
];

/// A cell of a type whose JSON form is one number, boolean or string,
/// decoded from its bytes: what both the row writer ([`write`]) and the
/// value renderer ([`render`]) start from, so the two cannot differ.
enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Oid(u32),
    /// A double; a `real` already widened as [`widened`] does.
    Float(f64),
    /// Text, borrowed from the cell's bytes where the type's binary form
    /// is its text.
    Text(Cow<'a, str>),
    /// A UUID, formatted only as it is written.
    Uuid([u8; 16]),
}

impl Scalar<'_> {
    /// Write the cell into a row.
    fn write(self, cells: &mut CellWriter<'_>) {
        match self {
            Scalar::Bool(value) => cells.scalar(&value),
            Scalar::Int(value) => cells.scalar(&value),
            Scalar::Oid(value) => cells.scalar(&value),
            Scalar::Float(value) => match non_finite_text(value) {
                Some(text) => cells.text(text),
                None => cells.scalar(&value),
            },
            Scalar::Text(text) => cells.text(&text),
            Scalar::Uuid(bytes) => cells.text(uuid_text(bytes, &mut uuid::Uuid::encode_buffer())),
        }
    }
}

impl From<Scalar<'_>> for Value {
    fn from(scalar: Scalar<'_>) -> Self {
        match scalar {
            Scalar::Bool(value) => Value::Bool(value),
            Scalar::Int(value) => value.into(),
            Scalar::Oid(value) => value.into(),
            Scalar::Float(value) => float8(value),
            Scalar::Text(text) => Value::String(text.into_owned()),
            Scalar::Uuid(bytes) => {
                Value::String(uuid_text(bytes, &mut uuid::Uuid::encode_buffer()).to_owned())
            }
        }
    }
}

/// Decode a cell of a scalar type (domains over one included); `Ok(None)`
/// for any other type (`json`, arrays, ranges, composites, …).
fn scalar<'a>(ty: &Type, raw: &'a [u8]) -> Result<Option<Scalar<'a>>, BoxError> {
    let text = |text: String| Ok(Some(Scalar::Text(Cow::Owned(text))));
    match *ty {
        Type::BOOL => Ok(Some(Scalar::Bool(wire::bool_from_sql(raw)?))),
        Type::INT2 => Ok(Some(Scalar::Int(wire::int2_from_sql(raw)?.into()))),
        Type::INT4 => Ok(Some(Scalar::Int(wire::int4_from_sql(raw)?.into()))),
        Type::INT8 => Ok(Some(Scalar::Int(wire::int8_from_sql(raw)?))),
        Type::FLOAT4 => Ok(Some(Scalar::Float(widened(wire::float4_from_sql(raw)?)))),
        Type::FLOAT8 => Ok(Some(Scalar::Float(wire::float8_from_sql(raw)?))),
        Type::NUMERIC => text(numeric::render(raw)?),
        Type::UUID => Ok(Some(Scalar::Uuid(wire::uuid_from_sql(raw)?))),
        Type::DATE => text(time::date(wire::date_from_sql(raw)?)),
        Type::TIMESTAMP => text(time::timestamp(wire::timestamp_from_sql(raw)?, false)),
        Type::TIMESTAMPTZ => text(time::timestamp(wire::timestamp_from_sql(raw)?, true)),
        // After the commonest types, so they skip the scan of the list.
        ref text_type if TEXTS.contains(text_type) => own_text(raw),
        Type::MONEY => text(money(wire::int8_from_sql(raw)?)),
        Type::CHAR => text(char::from(raw.first().copied().unwrap_or(0)).to_string()),
        Type::BYTEA => text(bytea(raw)),
        Type::TIME => text(time::time_of_day(wire::time_from_sql(raw)?)),
        Type::TIMETZ => text(time::timetz(raw)?),
        Type::INTERVAL => text(time::interval(raw)?),
        Type::INET | Type::CIDR => text(inet(raw, *ty == Type::CIDR)?),
        Type::MACADDR | Type::MACADDR8 => text(macaddr(raw)),
        Type::BIT | Type::VARBIT => text(bits(raw)?),
        Type::PG_LSN => {
            let lsn = wire::lsn_from_sql(raw)?;
            text(format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff))
        }
        ref oid_type if OIDS.contains(oid_type) => Ok(Some(Scalar::Oid(wire::oid_from_sql(raw)?))),
        _ => match ty.kind() {
            Kind::Enum(_) => own_text(raw),
            Kind::Domain(base) => scalar(base, raw),
            // citext is the one extension type common enough to name: its
            // binary form is the text itself.
            Kind::Simple if ty.name() == "citext" => own_text(raw),
            _ => Ok(None),
        },
    }
}

/// A cell whose binary form is its text, borrowed from the bytes.
fn own_text(raw: &[u8]) -> Result<Option<Scalar<'_>>, BoxError> {
    Ok(Some(Scalar::Text(Cow::Borrowed(wire::text_from_sql(raw)?))))
}

/// Write one cell into `cells`: scalars and arrays of them straight from
/// their bytes (no `Value`; a string type's text without a copy of its
/// own), anything else as [`render`] renders it. `raw` is `None` for SQL
/// NULL.
pub(crate) fn write(ty: &Type, raw: Option<&[u8]>, cells: &mut CellWriter<'_>) {
    let Some(bytes) = raw else {
        return cells.scalar(&());
    };
    if direct(ty, bytes, cells).is_none() {
        cells.value(render(ty, raw));
    }
}

/// Write a cell of a scalar type, or an array of one, as [`render`] would
/// render it; `None`, having written nothing, for any other type or bytes
/// that do not decode (which [`render`] then shows as it always did).
fn direct(ty: &Type, raw: &[u8], cells: &mut CellWriter<'_>) -> Option<()> {
    match scalar(ty, raw).ok()? {
        Some(cell) => cell.write(cells),
        None => match ty.kind() {
            Kind::Array(element) => cells.json(&array_text(element, raw)?),
            Kind::Domain(base) => direct(base, raw, cells)?,
            _ => return None,
        },
    }
    Some(())
}

/// The compact JSON text of an array of a scalar type: nested arrays, SQL
/// NULL elements as `null`, each element as [`write`] writes a cell of its
/// type, uncut (the cell cap applies to the whole array). `None` for an
/// element type without a scalar form, an element that does not decode,
/// or fewer elements than the dimensions promise.
fn array_text(element: &Type, raw: &[u8]) -> Option<String> {
    let parsed = wire::array_from_sql(raw).ok()?;
    let dims: Vec<usize> = parsed
        .dimensions()
        .map(|d| Ok(usize::try_from(d.len).unwrap_or(0)))
        .collect()
        .ok()?;
    if dims.is_empty() {
        return Some("[]".to_owned());
    }
    nested_text(&dims, element, &mut parsed.values())
}

/// One dimension of [`array_text`], from the flat, row-major elements.
fn nested_text(
    dims: &[usize],
    element: &Type,
    values: &mut wire::ArrayValues<'_>,
) -> Option<String> {
    let (&len, inner) = dims.split_first()?;
    let mut items = RowText::array();
    for _ in 0..len {
        if inner.is_empty() {
            let mut cells = CellWriter::unbounded(&mut items);
            match values.next().ok()?? {
                None => cells.scalar(&()),
                Some(bytes) => scalar(element, bytes).ok()??.write(&mut cells),
            }
        } else {
            items.raw(&nested_text(inner, element, values)?);
        }
    }
    Some(items.close())
}

/// Render one cell. `raw` is `None` for SQL NULL. A value whose bytes do not
/// decode as its type (which would be a server bug) falls back to the
/// base64 form rather than failing the whole result.
pub(crate) fn render(ty: &Type, raw: Option<&[u8]>) -> Value {
    match raw {
        None => Value::Null,
        Some(bytes) => decode(ty, bytes).unwrap_or_else(|_| fallback(ty, bytes)),
    }
}

fn decode(ty: &Type, raw: &[u8]) -> DecodeResult {
    if let Some(cell) = scalar(ty, raw)? {
        return Ok(cell.into());
    }
    match *ty {
        Type::JSON => json::render(std::str::from_utf8(raw)?),
        Type::JSONB => json::render_jsonb(raw),
        _ => match ty.kind() {
            Kind::Domain(base) => decode(base, raw),
            Kind::Array(element) => array(element, raw),
            _ => Ok(fallback(ty, raw)),
        },
    }
}

/// The documented form for types without a JSON rendering: the type name
/// and the exact binary value.
fn fallback(ty: &Type, raw: &[u8]) -> Value {
    let mut object = Map::new();
    object.insert("pg_type".into(), Value::String(ty.name().to_owned()));
    object.insert(
        "binary_base64".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(raw)),
    );
    Value::Object(object)
}

/// How JSON spells a float it has no number for: `NaN`, `Infinity`,
/// `-Infinity`; `None` for a finite one.
fn non_finite_text(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

fn non_finite(value: f64) -> Option<Value> {
    non_finite_text(value).map(|text| Value::String(text.into()))
}

/// A `real` as the double JSON carries. Widening 0.1f32 gives
/// 0.10000000149011612; going through the shortest decimal that
/// round-trips as f32 keeps the value the user stored.
fn widened(value: f32) -> f64 {
    if !value.is_finite() {
        return f64::from(value);
    }
    value.to_string().parse::<f64>().unwrap_or(f64::from(value))
}

fn float8(value: f64) -> Value {
    non_finite(value).unwrap_or_else(|| Number::from_f64(value).map_or(Value::Null, Value::Number))
}

/// A UUID's text, hyphenated in lower case, written into `buffer`.
fn uuid_text(bytes: [u8; 16], buffer: &mut [u8; 45]) -> &str {
    uuid::Uuid::from_bytes(bytes)
        .hyphenated()
        .encode_lower(buffer)
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn bytea(raw: &[u8]) -> String {
    let mut out = String::with_capacity(2 + raw.len() * 2);
    out.push_str("\\x");
    out.push_str(&hex::encode(raw));
    out
}

fn inet(raw: &[u8], is_cidr: bool) -> Result<String, Box<dyn Error + Sync + Send>> {
    let value = wire::inet_from_sql(raw)?;
    let full = if value.addr().is_ipv4() { 32 } else { 128 };
    // PostgreSQL prints an inet host address without its /32 (or /128),
    // and a cidr always with its prefix length.
    Ok(if is_cidr || value.netmask() != full {
        format!("{}/{}", value.addr(), value.netmask())
    } else {
        value.addr().to_string()
    })
}

fn macaddr(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() * 3);
    for (i, byte) in raw.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn bits(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    let value = wire::varbit_from_sql(raw)?;
    let mut out = String::with_capacity(value.len());
    for i in 0..value.len() {
        let byte = value.bytes().get(i / 8).copied().unwrap_or(0);
        out.push(if byte & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        });
    }
    Ok(out)
}

fn array(element: &Type, raw: &[u8]) -> DecodeResult {
    let parsed = wire::array_from_sql(raw)?;
    let dims: Vec<usize> = parsed
        .dimensions()
        .map(|d| Ok(usize::try_from(d.len).unwrap_or(0)))
        .collect()?;
    let values: Vec<Value> = parsed
        .values()
        .map(|cell| Ok(render(element, cell)))
        .collect()?;
    if dims.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    let mut values = values.into_iter();
    Ok(nest(&dims, &mut values))
}

/// Build nested arrays from the flat, row-major element list.
fn nest(dims: &[usize], values: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        Some((&len, [])) => Value::Array(values.take(len).collect()),
        Some((&len, rest)) => Value::Array((0..len).map(|_| nest(rest, values)).collect()),
        None => Value::Array(Vec::new()),
    }
}

#[cfg(test)]
mod tests;
