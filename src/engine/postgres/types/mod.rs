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

use std::error::Error;
use std::fmt::Write as _;

use base64::Engine as _;
use fallible_iterator::FallibleIterator;
use postgres_protocol::types as wire;
use serde_json::{Map, Number, Value};
use tokio_postgres::types::{FromSql, Kind, Type};

use crate::engine::result::CellWriter;

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

type DecodeResult = Result<Value, Box<dyn Error + Sync + Send>>;

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

/// Write one cell into `cells`: the common types straight from their
/// bytes (no `Value`; a string type's text without a copy of its own),
/// anything else as [`render`] renders it. `raw` is `None` for SQL NULL.
pub(crate) fn write(ty: &Type, raw: Option<&[u8]>, cells: &mut CellWriter<'_>) {
    let Some(bytes) = raw else {
        return cells.scalar(&());
    };
    if direct(ty, bytes, cells).is_none() {
        cells.value(render(ty, raw));
    }
}

/// Write a cell of a common type as [`render`] would render it; `None`,
/// having written nothing, for any other type or bytes that do not decode.
fn direct(ty: &Type, raw: &[u8], cells: &mut CellWriter<'_>) -> Option<()> {
    match *ty {
        Type::BOOL => cells.scalar(&wire::bool_from_sql(raw).ok()?),
        Type::INT2 => cells.scalar(&wire::int2_from_sql(raw).ok()?),
        Type::INT4 => cells.scalar(&wire::int4_from_sql(raw).ok()?),
        Type::INT8 => cells.scalar(&wire::int8_from_sql(raw).ok()?),
        Type::FLOAT4 => float(widened(wire::float4_from_sql(raw).ok()?), cells),
        Type::FLOAT8 => float(wire::float8_from_sql(raw).ok()?, cells),
        Type::NUMERIC => cells.text(&numeric::render(raw).ok()?),
        Type::UUID => cells.text(uuid_text(
            wire::uuid_from_sql(raw).ok()?,
            &mut uuid::Uuid::encode_buffer(),
        )),
        Type::DATE => cells.text(&time::date(wire::date_from_sql(raw).ok()?)),
        Type::TIMESTAMP => cells.text(&time::timestamp(wire::timestamp_from_sql(raw).ok()?, false)),
        Type::TIMESTAMPTZ => {
            cells.text(&time::timestamp(wire::timestamp_from_sql(raw).ok()?, true))
        }
        // Last, so the types above skip the scan of the list.
        ref text_type if TEXTS.contains(text_type) => cells.text(wire::text_from_sql(raw).ok()?),
        _ => return None,
    }
    Some(())
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
    match *ty {
        Type::BOOL => Ok(Value::Bool(wire::bool_from_sql(raw)?)),
        Type::INT2 => Ok(wire::int2_from_sql(raw)?.into()),
        Type::INT4 => Ok(wire::int4_from_sql(raw)?.into()),
        Type::INT8 => Ok(wire::int8_from_sql(raw)?.into()),
        Type::OID
        | Type::REGCLASS
        | Type::REGPROC
        | Type::REGPROCEDURE
        | Type::REGTYPE
        | Type::REGOPER
        | Type::REGOPERATOR
        | Type::REGNAMESPACE
        | Type::REGROLE
        | Type::REGCONFIG
        | Type::XID
        | Type::CID => Ok(wire::oid_from_sql(raw)?.into()),
        Type::FLOAT4 => Ok(float4(wire::float4_from_sql(raw)?)),
        Type::FLOAT8 => Ok(float8(wire::float8_from_sql(raw)?)),
        Type::NUMERIC => Ok(Value::String(numeric::render(raw)?)),
        Type::MONEY => Ok(Value::String(money(wire::int8_from_sql(raw)?))),
        ref text_type if TEXTS.contains(text_type) => text(raw),
        Type::CHAR => Ok(Value::String(
            char::from(raw.first().copied().unwrap_or(0)).to_string(),
        )),
        Type::BYTEA => Ok(Value::String(bytea(raw))),
        Type::UUID => Ok(Value::String(
            uuid_text(wire::uuid_from_sql(raw)?, &mut uuid::Uuid::encode_buffer()).to_owned(),
        )),
        Type::JSON => json::render(std::str::from_utf8(raw)?),
        Type::JSONB => json::render_jsonb(raw),
        Type::DATE => Ok(Value::String(time::date(wire::date_from_sql(raw)?))),
        Type::TIME => Ok(Value::String(time::time_of_day(wire::time_from_sql(raw)?))),
        Type::TIMETZ => Ok(Value::String(time::timetz(raw)?)),
        Type::TIMESTAMP => Ok(Value::String(time::timestamp(
            wire::timestamp_from_sql(raw)?,
            false,
        ))),
        Type::TIMESTAMPTZ => Ok(Value::String(time::timestamp(
            wire::timestamp_from_sql(raw)?,
            true,
        ))),
        Type::INTERVAL => Ok(Value::String(time::interval(raw)?)),
        Type::INET | Type::CIDR => Ok(Value::String(inet(raw, *ty == Type::CIDR)?)),
        Type::MACADDR | Type::MACADDR8 => Ok(Value::String(macaddr(raw))),
        Type::BIT | Type::VARBIT => Ok(Value::String(bits(raw)?)),
        Type::PG_LSN => {
            let lsn = wire::lsn_from_sql(raw)?;
            Ok(Value::String(format!(
                "{:X}/{:X}",
                lsn >> 32,
                lsn & 0xffff_ffff
            )))
        }
        _ => decode_by_kind(ty, raw),
    }
}

fn decode_by_kind(ty: &Type, raw: &[u8]) -> DecodeResult {
    match ty.kind() {
        Kind::Enum(_) => text(raw),
        Kind::Domain(base) => decode(base, raw),
        Kind::Array(element) => array(element, raw),
        // citext is the one extension type common enough to name: its
        // binary form is the text itself.
        Kind::Simple if ty.name() == "citext" => text(raw),
        _ => Ok(fallback(ty, raw)),
    }
}

fn text(raw: &[u8]) -> DecodeResult {
    Ok(Value::String(wire::text_from_sql(raw)?.to_owned()))
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

fn float4(value: f32) -> Value {
    float8(widened(value))
}

fn float8(value: f64) -> Value {
    non_finite(value).unwrap_or_else(|| Number::from_f64(value).map_or(Value::Null, Value::Number))
}

/// A float cell written as [`float8`] renders it.
fn float(value: f64, cells: &mut CellWriter<'_>) {
    match non_finite_text(value) {
        Some(text) => cells.text(text),
        None => cells.scalar(&value),
    }
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
