//! MaxCompute column types: parsing the type strings, their PostgreSQL
//! storage types, and the reverse mapping for computed result columns.
//!
//! It does not convert values (see `value.rs`) or encode them (see
//! `tunnel.rs`). The one idea: every MaxCompute type is stored as one
//! PostgreSQL type, and a result column that comes straight from a table
//! column gets its declared MaxCompute type back from the catalog, so
//! `tinyint`, `datetime` or `varchar(10)` survive the round trip even though
//! PostgreSQL has no such types.
//!
//! Complex types: `array<T>`, `map<K,V>` and `struct<a:T,...>` are
//! supported; arrays are PostgreSQL arrays, maps and structs are `jsonb`
//! objects (so an array of maps is `jsonb[]`). Arrays of arrays are not.

use std::fmt;

use tokio_postgres::types::{Kind, Type};

/// A MaxCompute column type the emulator can store and return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McType {
    /// `bigint` (int8).
    Bigint,
    /// `int` (int4).
    Int,
    /// `smallint` (int2).
    Smallint,
    /// `tinyint`, stored as int2.
    Tinyint,
    /// `double` (float8).
    Double,
    /// `float` (float4).
    Float,
    /// `decimal(p,s)`; bare `decimal` is `decimal(38,18)`.
    Decimal(u8, u8),
    /// `string` (text).
    String,
    /// `varchar(n)`.
    Varchar(u32),
    /// `char(n)`.
    Char(u32),
    /// `boolean`.
    Boolean,
    /// `datetime`: millisecond precision, stored as timestamp(3).
    Datetime,
    /// `date`.
    Date,
    /// `timestamp`: stored as timestamp(6) (PostgreSQL has no nanoseconds).
    Timestamp,
    /// `timestamp_ntz`.
    TimestampNtz,
    /// `binary` (bytea).
    Binary,
    /// `array<T>` (T not itself an array).
    Array(Box<McType>),
    /// `map<K,V>`, stored as a jsonb object.
    Map(Box<McType>, Box<McType>),
    /// `struct<a:T,...>`, stored as a jsonb object keyed by field name.
    Struct(Vec<(String, McType)>),
}

/// Split `text` at commas that are not inside `<...>` or `(...)`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A type string the emulator does not know.
#[derive(Debug, thiserror::Error)]
#[error("unsupported MaxCompute type `{0}`")]
pub struct UnsupportedType(pub String);

impl McType {
    /// Parse a MaxCompute type string, case-insensitively.
    pub fn parse(text: &str) -> Result<McType, UnsupportedType> {
        let t = text.trim().to_ascii_lowercase();
        let unsupported = || UnsupportedType(text.to_string());
        if let Some(inner) = t.strip_prefix("array<").and_then(|r| r.strip_suffix('>')) {
            let elem = McType::parse(inner)?;
            if matches!(elem, McType::Array(_)) {
                return Err(unsupported());
            }
            return Ok(McType::Array(Box::new(elem)));
        }
        if let Some(inner) = t.strip_prefix("map<").and_then(|r| r.strip_suffix('>')) {
            return match split_top_level(inner).as_slice() {
                [k, v] => Ok(McType::Map(
                    Box::new(McType::parse(k)?),
                    Box::new(McType::parse(v)?),
                )),
                _ => Err(unsupported()),
            };
        }
        if let Some(inner) = t.strip_prefix("struct<").and_then(|r| r.strip_suffix('>')) {
            let fields = split_top_level(inner)
                .into_iter()
                .map(|f| {
                    let (name, ty) = f.split_once(':').ok_or_else(unsupported)?;
                    let name = name.trim().trim_matches('`').to_string();
                    Ok((name, McType::parse(ty)?))
                })
                .collect::<Result<Vec<_>, UnsupportedType>>()?;
            return Ok(McType::Struct(fields));
        }
        let (base, args) = match t.split_once('(') {
            Some((b, rest)) => (b.trim(), rest.strip_suffix(')').ok_or_else(unsupported)?),
            None => (t.as_str(), ""),
        };
        let nums: Vec<u32> = if args.is_empty() {
            Vec::new()
        } else {
            args.split(',')
                .map(|n| n.trim().parse().map_err(|_| unsupported()))
                .collect::<Result<_, _>>()?
        };
        Ok(match (base, nums.as_slice()) {
            ("bigint", []) => McType::Bigint,
            ("int", []) => McType::Int,
            ("smallint", []) => McType::Smallint,
            ("tinyint", []) => McType::Tinyint,
            ("double", []) => McType::Double,
            ("float", []) => McType::Float,
            ("decimal", []) => McType::Decimal(38, 18),
            ("decimal", [p, s]) if *p <= 38 && s <= p => McType::Decimal(*p as u8, *s as u8),
            ("string", []) => McType::String,
            ("varchar", [n]) => McType::Varchar(*n),
            ("char", [n]) => McType::Char(*n),
            ("boolean", []) => McType::Boolean,
            ("datetime", []) => McType::Datetime,
            ("date", []) => McType::Date,
            ("timestamp", []) => McType::Timestamp,
            ("timestamp_ntz", []) => McType::TimestampNtz,
            ("binary", []) => McType::Binary,
            _ => return Err(unsupported()),
        })
    }

    /// The PostgreSQL column type that stores this type.
    pub fn pg_storage(&self) -> String {
        match self {
            McType::Bigint => "int8".into(),
            McType::Int => "int4".into(),
            McType::Smallint | McType::Tinyint => "int2".into(),
            McType::Double => "float8".into(),
            McType::Float => "float4".into(),
            McType::Decimal(p, s) => format!("numeric({p},{s})"),
            McType::String => "text".into(),
            McType::Varchar(n) => format!("varchar({n})"),
            McType::Char(n) => format!("char({n})"),
            McType::Boolean => "bool".into(),
            McType::Datetime => "timestamp(3)".into(),
            McType::Date => "date".into(),
            McType::Timestamp | McType::TimestampNtz => "timestamp(6)".into(),
            McType::Binary => "bytea".into(),
            McType::Array(elem) => format!("{}[]", elem.pg_storage()),
            McType::Map(..) | McType::Struct(_) => "jsonb".into(),
        }
    }

    /// The MaxCompute type of a computed result column of PostgreSQL type
    /// `ty` (a column that is not a plain table column).
    pub fn from_pg(ty: &Type) -> Option<McType> {
        if let Kind::Array(elem) = ty.kind() {
            return McType::from_pg(elem).map(|e| McType::Array(Box::new(e)));
        }
        Some(match *ty {
            Type::INT8 => McType::Bigint,
            Type::INT4 => McType::Int,
            Type::INT2 => McType::Smallint,
            Type::FLOAT8 => McType::Double,
            Type::FLOAT4 => McType::Float,
            Type::NUMERIC => McType::Decimal(38, 18),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::JSONB => {
                McType::String
            }
            Type::BOOL => McType::Boolean,
            Type::TIMESTAMP | Type::TIMESTAMPTZ => McType::Datetime,
            Type::DATE => McType::Date,
            Type::BYTEA => McType::Binary,
            _ => return None,
        })
    }

    /// True for the integer family (sent as zig-zag varints).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            McType::Bigint | McType::Int | McType::Smallint | McType::Tinyint
        )
    }
}

impl fmt::Display for McType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            McType::Bigint => f.write_str("bigint"),
            McType::Int => f.write_str("int"),
            McType::Smallint => f.write_str("smallint"),
            McType::Tinyint => f.write_str("tinyint"),
            McType::Double => f.write_str("double"),
            McType::Float => f.write_str("float"),
            McType::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            McType::String => f.write_str("string"),
            McType::Varchar(n) => write!(f, "varchar({n})"),
            McType::Char(n) => write!(f, "char({n})"),
            McType::Boolean => f.write_str("boolean"),
            McType::Datetime => f.write_str("datetime"),
            McType::Date => f.write_str("date"),
            McType::Timestamp => f.write_str("timestamp"),
            McType::TimestampNtz => f.write_str("timestamp_ntz"),
            McType::Binary => f.write_str("binary"),
            McType::Array(elem) => write!(f, "array<{elem}>"),
            McType::Map(k, v) => write!(f, "map<{k},{v}>"),
            McType::Struct(fields) => {
                let inner: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{t}")).collect();
                write!(f, "struct<{}>", inner.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_round_trip() {
        for t in [
            "bigint",
            "int",
            "smallint",
            "tinyint",
            "double",
            "float",
            "decimal(10,2)",
            "string",
            "varchar(20)",
            "char(3)",
            "boolean",
            "datetime",
            "date",
            "timestamp",
            "timestamp_ntz",
            "binary",
            "array<bigint>",
            "array<string>",
            "map<string,bigint>",
            "map<bigint,array<decimal(10,2)>>",
            "struct<a:int,b:map<string,string>>",
            "array<struct<x:double>>",
        ] {
            assert_eq!(McType::parse(t).expect(t).to_string(), t);
        }
        assert_eq!(
            McType::parse("DECIMAL").expect("decimal"),
            McType::Decimal(38, 18)
        );
    }

    #[test]
    fn unsupported_types_are_refused() {
        for t in [
            "map<string>",
            "struct<a>",
            "array<array<int>>",
            "decimal(40,2)",
            "varchar",
        ] {
            assert!(McType::parse(t).is_err(), "{t}");
        }
    }
}
