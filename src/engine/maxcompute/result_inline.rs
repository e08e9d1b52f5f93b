//! Typing inline (`?result` / MaxQA status) CSV by the `ResultDescriptor`
//! schema, so an inline read gives the same JSON the instance tunnel does.
//!
//! Only types whose CSV text is unambiguous are typed: integers, boolean,
//! float, double, decimal, strings and date. Binary (pyodps refuses it
//! from CSV too), date-times (the CSV text carries no zone), intervals,
//! JSON and nested types are not "inline safe": `result_read: auto` reads
//! those through the tunnel. This module converts text; it fetches nothing.

use chrono::NaiveDate;
use serde_json::Value;

use super::types::{self, McType};

/// Whether a value of `ty` reads back from CSV text exactly.
pub(crate) fn inline_safe(ty: &McType) -> bool {
    matches!(
        ty,
        McType::TinyInt
            | McType::SmallInt
            | McType::Int
            | McType::BigInt
            | McType::Boolean
            | McType::Float
            | McType::Double
            | McType::Decimal
            | McType::String
            | McType::Date
    )
}

/// The JSON of a CSV cell of an inline-safe `ty`, rendered as the tunnel
/// decoder renders it; `None` when the text is not a value of that type.
pub(crate) fn typed_cell(ty: &McType, text: &str) -> Option<Value> {
    Some(match ty {
        McType::TinyInt | McType::SmallInt | McType::Int | McType::BigInt => {
            Value::from(text.trim().parse::<i64>().ok()?)
        }
        McType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return None,
        },
        McType::Float => types::float_value(text.trim().parse::<f32>().ok()?),
        McType::Double => types::double_value(text.trim().parse::<f64>().ok()?),
        McType::Decimal | McType::String => Value::String(text.to_owned()),
        McType::Date => {
            let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
            Value::String(day.format("%Y-%m-%d").to_string())
        }
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
