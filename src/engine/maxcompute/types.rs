//! MaxCompute column types, and how each value renders to JSON without loss.
//!
//! Type strings are Hive-style and case-insensitive (`bigint`,
//! `decimal(38,18)`, `array<struct<a:int,b:map<string,bigint>>>`;
//! docs/maxcompute-rest.md §3.5). The JSON forms:
//!
//! | type | JSON |
//! |---|---|
//! | tinyint … bigint | number (exact: serde_json keeps i64) |
//! | float, double | number (float in its shortest f32 form); `"NaN"`, `"Infinity"`, `"-Infinity"` as strings |
//! | decimal | string (exact digits) |
//! | string, varchar, char | string |
//! | binary | base64 string |
//! | boolean | boolean |
//! | date | `"YYYY-MM-DD"` |
//! | datetime | RFC 3339 UTC with milliseconds (the wire carries epoch ms) |
//! | timestamp | RFC 3339 UTC with nanoseconds |
//! | timestamp_ntz | `"YYYY-MM-DDTHH:MM:SS.nnnnnnnnn"`, no zone |
//! | interval_day_time | ISO 8601 duration in seconds, `"PT90061.5S"` |
//! | interval_year_month | ISO 8601 duration, `"P1Y2M"` |
//! | json | the JSON value itself |
//! | array | array; map: object when keys are strings, else `[[k, v], …]`; struct: object |
//!
//! This module parses and renders; it does not read the wire (see `tunnel`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Number, Value};

/// A parsed MaxCompute type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum McType {
    /// 8-bit integer.
    TinyInt,
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    BigInt,
    /// Boolean.
    Boolean,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
    /// Decimal, carried as text.
    Decimal,
    /// String (also `varchar(n)` and `char(n)`).
    String,
    /// Bytes.
    Binary,
    /// Milliseconds since the epoch.
    DateTime,
    /// Days since the epoch.
    Date,
    /// Seconds and nanoseconds since the epoch, an instant.
    Timestamp,
    /// Seconds and nanoseconds, a wall-clock time without zone.
    TimestampNtz,
    /// Seconds and nanoseconds of duration.
    IntervalDayTime,
    /// Months of duration.
    IntervalYearMonth,
    /// JSON text.
    Json,
    /// `array<T>`.
    Array(Box<McType>),
    /// `map<K,V>`.
    Map(Box<McType>, Box<McType>),
    /// `struct<name:T,…>`.
    Struct(Vec<(String, McType)>),
}

/// A type string this client cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported MaxCompute type `{0}`")]
pub(crate) struct TypeError(pub(crate) String);

impl McType {
    /// Parse a type string such as `map<string,array<bigint>>`.
    pub(crate) fn parse(text: &str) -> Result<Self, TypeError> {
        let mut parser = Parser { text, pos: 0 };
        let parsed = parser.parse_type().ok_or_else(|| TypeError(text.into()))?;
        parser.skip_ws();
        if parser.pos == text.len() {
            Ok(parsed)
        } else {
            Err(TypeError(text.into()))
        }
    }

    /// Whether values of this type are text (for map keys as object keys).
    fn is_text(&self) -> bool {
        matches!(self, Self::String | Self::Decimal)
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.text[self.pos..]
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
        {
            self.pos += c.len_utf8();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<&str> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted.find('`')?;
            self.pos += end + 2;
            return Some(&quoted[..end]);
        }
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (len > 0).then(|| {
            self.pos += len;
            &rest[..len]
        })
    }

    /// Skip `(…)` arguments such as decimal precision or varchar length.
    fn skip_args(&mut self) -> Option<()> {
        if self.eat('(') {
            let close = self.text[self.pos..].find(')')?;
            self.pos += close + 1;
        }
        Some(())
    }

    fn parse_type(&mut self) -> Option<McType> {
        let name = self.word()?.to_ascii_lowercase();
        let scalar = match name.as_str() {
            "tinyint" => McType::TinyInt,
            "smallint" => McType::SmallInt,
            "int" | "integer" => McType::Int,
            "bigint" => McType::BigInt,
            "boolean" => McType::Boolean,
            "float" => McType::Float,
            "double" => McType::Double,
            "decimal" => McType::Decimal,
            "string" | "varchar" | "char" => McType::String,
            "binary" => McType::Binary,
            "datetime" => McType::DateTime,
            "date" => McType::Date,
            "timestamp" => McType::Timestamp,
            "timestamp_ntz" => McType::TimestampNtz,
            "interval_day_time" => McType::IntervalDayTime,
            "interval_year_month" => McType::IntervalYearMonth,
            "json" => McType::Json,
            "array" => return self.parse_array(),
            "map" => return self.parse_map(),
            "struct" => return self.parse_struct(),
            _ => return None,
        };
        self.skip_args()?;
        Some(scalar)
    }

    fn parse_array(&mut self) -> Option<McType> {
        self.eat('<').then_some(())?;
        let element = self.parse_type()?;
        self.eat('>').then_some(McType::Array(Box::new(element)))
    }

    fn parse_map(&mut self) -> Option<McType> {
        self.eat('<').then_some(())?;
        let key = self.parse_type()?;
        self.eat(',').then_some(())?;
        let value = self.parse_type()?;
        self.eat('>')
            .then_some(McType::Map(Box::new(key), Box::new(value)))
    }

    fn parse_struct(&mut self) -> Option<McType> {
        self.eat('<').then_some(())?;
        let mut fields = Vec::new();
        loop {
            let name = self.word()?.to_owned();
            self.eat(':').then_some(())?;
            fields.push((name, self.parse_type()?));
            // Hive allows a field comment: `a:int comment 'x'`.
            self.skip_ws();
            if self.text[self.pos..]
                .to_ascii_lowercase()
                .starts_with("comment")
            {
                self.pos += "comment".len();
                self.skip_ws();
                let rest = &self.text[self.pos..];
                let quote = rest.chars().next()?;
                let end = rest[1..].find(quote)?;
                self.pos += end + 2;
            }
            if self.eat('>') {
                return Some(McType::Struct(fields));
            }
            self.eat(',').then_some(())?;
        }
    }
}

/// A 32-bit float in its shortest round-trip form.
pub(crate) fn float_value(value: f32) -> Value {
    if value.is_finite() {
        // `f32` → text → `f64` keeps the short form (`0.1`, not `0.100000001…`),
        // which still reads back to the same `f32`.
        let shortest: f64 = value.to_string().parse().unwrap_or(f64::from(value));
        Number::from_f64(shortest).map_or(Value::Null, Value::Number)
    } else {
        non_finite(f64::from(value))
    }
}

/// A 64-bit float.
pub(crate) fn double_value(value: f64) -> Value {
    Number::from_f64(value).map_or_else(|| non_finite(value), Value::Number)
}

fn non_finite(value: f64) -> Value {
    let text = if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    Value::String(text.into())
}

/// Bytes as base64.
pub(crate) fn binary_value(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

/// Text; invalid UTF-8 (MaxCompute strings may hold any bytes) is replaced
/// by U+FFFD rather than failing the whole result.
pub(crate) fn text_value(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// JSON text as the value it holds, or as a string when it is not JSON.
pub(crate) fn json_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| text_value(bytes))
}

/// Epoch milliseconds as RFC 3339 UTC.
pub(crate) fn datetime_value(millis: i64) -> Value {
    let (seconds, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    // `rem_euclid(1000)` is in 0..1000, so the cast is exact.
    match civil_text(seconds, Some((ms as u32, 3)), true) {
        Some(text) => Value::String(text),
        None => Value::String(format!("{millis} ms since 1970-01-01T00:00:00Z")),
    }
}

/// Epoch days as `YYYY-MM-DD`.
pub(crate) fn date_value(days: i64) -> Value {
    match days
        .checked_mul(86_400)
        .and_then(|s| civil_text(s, None, false))
    {
        Some(mut text) => {
            text.truncate("YYYY-MM-DD".len());
            Value::String(text)
        }
        None => Value::String(format!("{days} days since 1970-01-01")),
    }
}

/// Epoch seconds + nanoseconds; with zone (`timestamp`) or without
/// (`timestamp_ntz`).
pub(crate) fn timestamp_value(seconds: i64, nanos: i32, with_zone: bool) -> Value {
    let text = u32::try_from(nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|n| civil_text(seconds, Some((n, 9)), with_zone));
    match text {
        Some(text) => Value::String(text),
        None => Value::String(format!("{seconds}s {nanos}ns since 1970-01-01T00:00:00")),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` for epoch seconds in years
/// 0000–9999, or `None` outside them. Written by hand because these three
/// types are most of the cost of decoding a tunnel stream, and chrono's
/// formatter is several times slower than pushing digits.
fn civil_text(seconds: i64, fraction: Option<(u32, usize)>, zone: bool) -> Option<String> {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = String::with_capacity(32);
    push_digits(&mut out, year as u64, 4);
    out.push('-');
    push_digits(&mut out, u64::from(month), 2);
    out.push('-');
    push_digits(&mut out, u64::from(day), 2);
    out.push('T');
    let sod = second_of_day as u64;
    push_digits(&mut out, sod / 3600, 2);
    out.push(':');
    push_digits(&mut out, sod / 60 % 60, 2);
    out.push(':');
    push_digits(&mut out, sod % 60, 2);
    if let Some((value, width)) = fraction {
        out.push('.');
        push_digits(&mut out, u64::from(value), width);
    }
    if zone {
        out.push('Z');
    }
    Some(out)
}

/// Days since 1970-01-01 to a proleptic Gregorian `(year, month, day)`
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `value` as exactly `width` decimal digits, zero-padded.
fn push_digits(out: &mut String, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    for &digit in &digits[..width] {
        out.push(char::from(digit));
    }
}

/// Seconds + nanoseconds of duration as ISO 8601 (`PT90061.000000001S`).
pub(crate) fn interval_day_time_value(seconds: i64, nanos: i32) -> Value {
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let sign = if total < 0 { "-" } else { "" };
    let total = total.unsigned_abs();
    let (whole, frac) = (total / 1_000_000_000, total % 1_000_000_000);
    let text = if frac == 0 {
        format!("{sign}PT{whole}S")
    } else {
        let digits = format!("{frac:09}");
        format!("{sign}PT{whole}.{}S", digits.trim_end_matches('0'))
    };
    Value::String(text)
}

/// Months of duration as ISO 8601 (`P1Y2M`).
pub(crate) fn interval_year_month_value(months: i64) -> Value {
    let sign = if months < 0 { "-" } else { "" };
    let months = months.unsigned_abs();
    Value::String(format!("{sign}P{}Y{}M", months / 12, months % 12))
}

/// A map's keys and values as JSON: an object when the keys are text
/// (the common case), otherwise pairs, so no key is stringified or lost.
pub(crate) fn map_value(key_type: &McType, keys: Vec<Value>, values: Vec<Value>) -> Value {
    if key_type.is_text() {
        let object = keys
            .into_iter()
            .zip(values)
            .map(|(k, v)| match k {
                Value::String(k) => (k, v),
                other => (other.to_string(), v),
            })
            .collect();
        Value::Object(object)
    } else {
        Value::Array(
            keys.into_iter()
                .zip(values)
                .map(|(k, v)| Value::Array(vec![k, v]))
                .collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
