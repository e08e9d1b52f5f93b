//! `json` and `jsonb` cells as JSON values, without losing numbers.
//!
//! serde_json reads every non-integer number as a double, which would
//! silently change `3.141592653589793238` or `1e400`. Before parsing, the
//! text's number tokens are checked; if any would not survive as a double
//! the document is returned as its text (a JSON string) instead. Duplicate
//! keys in a `json` (not `jsonb`) document keep their last value, as `jsonb`
//! itself does.

use std::error::Error;

use serde_json::Value;

/// Most significant decimal digits that always survive a round trip
/// through an IEEE double.
const SAFE_DIGITS: usize = 15;
/// Decimal exponents comfortably inside the double range (no subnormals).
const SAFE_EXPONENT: i64 = 300;

/// Render a `json` document.
pub(super) fn render(text: &str) -> Result<Value, Box<dyn Error + Sync + Send>> {
    if !numbers_are_exact(text) {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

/// Render a `jsonb` document: a version byte (1) followed by the text.
pub(super) fn render_jsonb(raw: &[u8]) -> Result<Value, Box<dyn Error + Sync + Send>> {
    match raw.split_first() {
        Some((1, text)) => render(std::str::from_utf8(text)?),
        _ => Err("unknown jsonb binary version".into()),
    }
}

/// Whether every number token outside strings parses to the same value in
/// serde_json (an exact integer, or a decimal a double holds exactly enough).
fn numbers_are_exact(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i + 1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                if !number_is_exact(&text[start..i]) {
                    return false;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// Index just past the closing quote of a string starting at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn number_is_exact(token: &str) -> bool {
    if !token.contains(['.', 'e', 'E']) {
        return token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok();
    }
    let (mantissa, exponent) = match token.find(['e', 'E']) {
        Some(at) => (
            &token[..at],
            token[at + 1..].parse::<i64>().unwrap_or(i64::MAX),
        ),
        None => (token, 0),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    significant.len() <= SAFE_DIGITS && exponent.abs() < SAFE_EXPONENT
}

#[cfg(test)]
mod tests;
