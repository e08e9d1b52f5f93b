//! Result values: decoding PostgreSQL's binary cells into [`Value`], and
//! the text form the `?result` CSV uses.
//!
//! It does not know the tunnel wire format (`tunnel.rs` does). The one
//! idea: decode PostgreSQL's binary protocol exactly (including `numeric`,
//! which tokio-postgres leaves to optional crates), so a decimal never
//! passes through a float.

use std::error::Error;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tokio_postgres::types::{FromSql, Kind, Type};
use tokio_postgres::Row;

use super::types::McType;

/// One cell of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer type.
    Int(i64),
    /// `double`.
    Double(f64),
    /// `float`.
    Float(f32),
    /// `boolean`.
    Bool(bool),
    /// Strings, and decimals in their exact text form.
    Text(String),
    /// `binary`.
    Bytes(Vec<u8>),
    /// `datetime`, `timestamp`, `timestamp_ntz` (UTC wall clock).
    DateTime(NaiveDateTime),
    /// `date`.
    Date(NaiveDate),
    /// `array<T>`.
    Array(Vec<Value>),
    /// `map<K,V>`: entries in stored order.
    Map(Vec<(Value, Value)>),
    /// `struct<...>`: `(field, value)` in declared order.
    Struct(Vec<(String, Value)>),
}

type BoxError = Box<dyn Error + Sync + Send>;

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Double(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)?),
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                Value::Text(String::from_sql(ty, raw)?)
            }
            Type::JSON | Type::JSONB => {
                Value::Text(serde_json::Value::from_sql(ty, raw)?.to_string())
            }
            Type::NUMERIC => Value::Text(numeric_text(raw)?),
            Type::BYTEA => Value::Bytes(Vec::<u8>::from_sql(ty, raw)?),
            Type::TIMESTAMP => Value::DateTime(NaiveDateTime::from_sql(ty, raw)?),
            Type::TIMESTAMPTZ => Value::DateTime(DateTime::<Utc>::from_sql(ty, raw)?.naive_utc()),
            Type::DATE => Value::Date(NaiveDate::from_sql(ty, raw)?),
            _ => return Err(format!("unsupported PostgreSQL type {ty}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::FLOAT8
                | Type::FLOAT4
                | Type::BOOL
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::JSON
                | Type::JSONB
                | Type::NUMERIC
                | Type::BYTEA
                | Type::TIMESTAMP
                | Type::TIMESTAMPTZ
                | Type::DATE
        )
    }
}

/// Read cell `idx` of `row`, arrays included.
pub fn cell(row: &Row, idx: usize) -> Result<Value, tokio_postgres::Error> {
    if let Kind::Array(_) = row.columns()[idx].type_().kind() {
        let items: Option<Vec<Option<Value>>> = row.try_get(idx)?;
        return Ok(match items {
            None => Value::Null,
            Some(items) => Value::Array(
                items
                    .into_iter()
                    .map(|v| v.unwrap_or(Value::Null))
                    .collect(),
            ),
        });
    }
    row.try_get(idx)
}

/// Give a decoded cell its MaxCompute shape: maps and structs arrive as
/// jsonb text and become [`Value::Map`] / [`Value::Struct`]; other values
/// pass through.
pub fn shape(ty: &McType, v: Value) -> Result<Value, String> {
    match (ty, v) {
        (McType::Map(..) | McType::Struct(_), Value::Text(json)) => {
            let j: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| format!("bad stored json: {e}"))?;
            from_json(ty, &j)
        }
        (McType::Array(elem), Value::Array(items)) => items
            .into_iter()
            .map(|i| shape(elem, i))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (_, v) => Ok(v),
    }
}

/// A value of type `ty` from its JSON form (inside a stored map/struct).
fn from_json(ty: &McType, j: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let bad = || format!("stored json {j} is not a {ty}");
    if j.is_null() {
        return Ok(Value::Null);
    }
    // Map keys are JSON strings whatever their type; parse them back.
    let text = match j {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match ty {
        t if t.is_integer() => Value::Int(text.parse().map_err(|_| bad())?),
        McType::Double => Value::Double(text.parse().map_err(|_| bad())?),
        McType::Float => Value::Float(text.parse().map_err(|_| bad())?),
        McType::Boolean => Value::Bool(text.parse().map_err(|_| bad())?),
        McType::Datetime | McType::Timestamp | McType::TimestampNtz => Value::DateTime(
            NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| bad())?,
        ),
        McType::Date => {
            Value::Date(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| bad())?)
        }
        McType::Binary => Value::Bytes(text.into_bytes()),
        McType::Array(elem) => Value::Array(
            j.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|i| from_json(elem, i))
                .collect::<Result<_, _>>()?,
        ),
        McType::Map(k, v) => Value::Map(
            j.as_object()
                .ok_or_else(bad)?
                .iter()
                .map(|(key, val)| Ok((from_json(k, &J::String(key.clone()))?, from_json(v, val)?)))
                .collect::<Result<_, String>>()?,
        ),
        McType::Struct(fields) => {
            let obj = j.as_object().ok_or_else(bad)?;
            Value::Struct(
                fields
                    .iter()
                    .map(|(name, t)| {
                        Ok((
                            name.clone(),
                            from_json(t, obj.get(name).unwrap_or(&J::Null))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        _ => Value::Text(text),
    })
}

/// Render PostgreSQL's binary `numeric` (base-10000 digits) as exact text.
fn numeric_text(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<i32, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i32::from(i16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| "short numeric".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)?;
    let sign = word(4)? as u16;
    let dscale = word(6)? as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<i32> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Result<_, _>>()?;
    // Integer part: groups 0..=weight; fraction: the groups after, padded
    // or cut to the display scale.
    let mut int_part = String::new();
    for w in 0..=weight.max(0) {
        let d = if weight < 0 {
            0
        } else {
            digits.get(w as usize).copied().unwrap_or(0)
        };
        if int_part.is_empty() {
            int_part = d.to_string();
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    let mut frac = String::new();
    let mut idx = weight + 1;
    while frac.len() < dscale {
        let d = if idx < 0 {
            0
        } else {
            digits.get(idx as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        idx += 1;
    }
    frac.truncate(dscale);
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    out.push_str(&int_part);
    if dscale > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    Ok(out)
}

impl Value {
    fn nested_text(&self) -> String {
        self.csv_text().unwrap_or_else(|| "null".into())
    }

    /// The text of this value in a `?result` CSV cell, `None` for NULL
    /// (written as `\N`).
    pub fn csv_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Int(i) => i.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.clone(),
            // Printable ASCII as is, other bytes as `\xNN`: lossless, and
            // never a character XML cannot carry.
            Value::Bytes(b) => b
                .iter()
                .map(|&c| match c {
                    b'\\' => "\\\\".to_string(),
                    0x20..=0x7e => char::from(c).to_string(),
                    _ => format!("\\x{c:02x}"),
                })
                .collect(),
            Value::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::Array(items) => {
                let inner: Vec<String> = items.iter().map(Value::nested_text).collect();
                format!("[{}]", inner.join(","))
            }
            Value::Struct(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.nested_text()))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            Value::Map(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", k.nested_text(), v.nested_text()))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::numeric_text;

    fn numeric(weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend((digits.len() as i16).to_be_bytes());
        raw.extend(weight.to_be_bytes());
        raw.extend(sign.to_be_bytes());
        raw.extend(dscale.to_be_bytes());
        for d in digits {
            raw.extend(d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numeric_binary_renders_exactly() {
        // 12345.6789 = groups [1, 2345, 6789], weight 1.
        assert_eq!(
            numeric_text(&numeric(1, 0, 4, &[1, 2345, 6789])).expect("n"),
            "12345.6789"
        );
        // -0.05 with scale 2: one group 500 at weight -1.
        assert_eq!(
            numeric_text(&numeric(-1, 0x4000, 2, &[500])).expect("n"),
            "-0.05"
        );
        // 100000000 = [1, 0, 0] weight 2, scale 0.
        assert_eq!(
            numeric_text(&numeric(2, 0, 0, &[1])).expect("n"),
            "100000000"
        );
        assert_eq!(numeric_text(&numeric(0, 0, 2, &[])).expect("n"), "0.00");
    }
}
