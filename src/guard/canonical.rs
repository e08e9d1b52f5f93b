//! Layer 1 of "what runs is what was checked": every leaf that carries
//! text (identifiers and literals) is put into one canonical spelling that
//! the engine's lexer reads exactly as the gate's AST holds it.
//!
//! sqlparser's printer is not written for that: it keeps a quoted name's
//! backslashes and doubled quotes as it found them (so `"a\""` prints as
//! text PostgreSQL ends one character early), and it prints hex and bit
//! strings, dollar quotes and numbers as raw text. So before the query is
//! printed, this pass rewrites each leaf into a form sqlwarden owns:
//!
//! - **Identifiers**: a quoted name may hold no quote character of its own
//!   and no control character; an unquoted one only characters that both
//!   lexers read as part of a name; non-ASCII names are quoted (after
//!   folding, so they still resolve the same). Names longer than the
//!   engine keeps (PostgreSQL: 63 bytes, silently truncated) are refused,
//!   since two different names could end up as one.
//! - **Strings** (any quoting the agent used: plain, `E'…'`, `U&'…'`,
//!   dollar quotes) are printed by [`postgres_string`]: `'…'` with doubled
//!   quotes when that means the same whatever `standard_conforming_strings`
//!   says, otherwise `E'…'` with every backslash, quote and control
//!   character escaped. MaxCompute strings, where `\` and `''` mean
//!   different things than to sqlparser, may hold neither.
//! - **Hex and bit strings** only with their digits; **numbers** only in
//!   plain decimal or exponent form. Parameters are refused.
//!
//! The printed text goes into sqlparser's verbatim value
//! (`Value::Placeholder`, which prints as is), so the structure around it
//! is still printed by sqlparser while the text of every literal is ours.
//! Anything that cannot be printed unambiguously is refused, never guessed.

use std::fmt::Write as _;
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, Query, Value, ValueWithSpan, VisitMut, VisitorMut};

use super::dialect::Flavor;
use crate::error::{ErrorCode, ToolError};

/// Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes).
const POSTGRES_MAX_IDENT_BYTES: usize = 63;
/// Longest name MaxCompute accepts for tables and columns.
const MAXCOMPUTE_MAX_IDENT_BYTES: usize = 128;

/// Rewrite every identifier and literal of `query` into its canonical
/// spelling for `flavor`, or refuse the query when one has none.
pub(crate) fn canonicalize(flavor: Flavor, query: &mut Query) -> Result<(), ToolError> {
    let mut pass = Canonical { flavor };
    match query.visit(&mut pass) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(refusal) => Err(refusal),
    }
}

struct Canonical {
    flavor: Flavor,
}

impl VisitorMut for Canonical {
    type Break = ToolError;

    fn pre_visit_ident(&mut self, ident: &mut Ident) -> ControlFlow<ToolError> {
        match canonical_ident(self.flavor, ident) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<ToolError> {
        match canonical_value(self.flavor, &value.value) {
            Ok(Some(text)) => {
                value.value = Value::Placeholder(text);
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

fn canonical_ident(flavor: Flavor, ident: &mut Ident) -> Result<(), ToolError> {
    let max = match flavor {
        Flavor::Postgres => POSTGRES_MAX_IDENT_BYTES,
        Flavor::MaxCompute => MAXCOMPUTE_MAX_IDENT_BYTES,
    };
    let quote = flavor.quote_char();
    if ident.value.is_empty() {
        return Err(unrenderable("an empty quoted name"));
    }
    if ident.value.chars().any(char::is_control) {
        return Err(unrenderable("a name holding a control character"));
    }
    if ident.value.len() > max {
        return Err(unrenderable(&format!(
            "a name longer than the {max} bytes the engine keeps"
        )));
    }
    match ident.quote_style {
        Some(q) if q == quote => {
            if ident.value.contains(quote) {
                return Err(unrenderable(&format!(
                    "a quoted name that holds the quote character {quote}"
                )));
            }
            Ok(())
        }
        Some(_) => Err(unrenderable("a name in this engine's foreign quote style")),
        None if is_plain_ascii_name(&ident.value) => Ok(()),
        // sqlparser keeps the operator of `ORDER BY … USING <` as a name;
        // printed as it was lexed, unless it would start a comment.
        None if is_operator(&ident.value) => Ok(()),
        None if ident
            .value
            .chars()
            .all(|c| !c.is_ascii() || is_name_char(c)) =>
        {
            // Non-ASCII letters: both lexers take them as part of a name, but
            // quoting them (after the engine's own folding) leaves no doubt
            // where the name ends.
            let folded = flavor.fold(ident);
            if folded.contains(quote) {
                return Err(unrenderable("a name that holds a quote character"));
            }
            *ident = Ident::with_quote(quote, folded);
            Ok(())
        }
        None => Err(unrenderable("a name with characters outside a plain name")),
    }
}

/// `[A-Za-z_][A-Za-z0-9_$]*` (no `$` on MaxCompute is checked by the
/// token re-check; here `$` is a name character as on PostgreSQL).
fn is_plain_ascii_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(is_name_char)
}

/// Only operator characters, and no comment start among them.
fn is_operator(text: &str) -> bool {
    text.chars().all(|c| "+-*/<>=~!@#%^&|`?".contains(c))
        && !text.contains("--")
        && !text.contains("/*")
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The canonical text of a literal, `None` to keep it as sqlparser prints
/// it (keywords such as `NULL` and `TRUE`).
fn canonical_value(flavor: Flavor, value: &Value) -> Result<Option<String>, ToolError> {
    let text = match value {
        Value::Null | Value::Boolean(_) => return Ok(None),
        Value::Number(digits, long) => {
            if *long || !is_plain_number(digits) {
                return Err(unrenderable(&format!("the number `{digits}`")));
            }
            digits.clone()
        }
        Value::SingleQuotedString(s)
        | Value::EscapedStringLiteral(s)
        | Value::UnicodeStringLiteral(s) => string(flavor, s)?,
        Value::DollarQuotedString(d) => string(flavor, &d.value)?,
        Value::NationalStringLiteral(s) if flavor == Flavor::Postgres => {
            // `N'…'` cannot take escapes; a value that needs them is sent
            // as an escape string (the national type only pads blanks).
            let plain = string(flavor, s)?;
            if plain.starts_with('E') {
                plain
            } else {
                format!("N{plain}")
            }
        }
        Value::HexStringLiteral(digits) if flavor == Flavor::Postgres => {
            if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(unrenderable(
                    "a hex string with characters other than hex digits",
                ));
            }
            format!("X'{digits}'")
        }
        Value::SingleQuotedByteStringLiteral(bits) if flavor == Flavor::Postgres => {
            if !bits.chars().all(|c| c == '0' || c == '1') {
                return Err(unrenderable(
                    "a bit string with characters other than 0 and 1",
                ));
            }
            format!("B'{bits}'")
        }
        Value::Placeholder(p) => {
            return Err(ToolError::new(
                ErrorCode::SqlParseError,
                format!("The query holds the parameter placeholder `{p}`"),
                "Write values as literals; sqlwarden does not bind parameters",
            ))
        }
        _ => return Err(unrenderable("this kind of literal")),
    };
    Ok(Some(text))
}

/// Decimal digits with an optional fraction and exponent: what every
/// engine's lexer reads as one number token.
fn is_plain_number(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = digits(whole)
        && fraction.is_none_or(digits)
        && !(whole.is_empty() && fraction.is_none_or(str::is_empty));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

fn string(flavor: Flavor, value: &str) -> Result<String, ToolError> {
    match flavor {
        Flavor::Postgres => postgres_string(value),
        Flavor::MaxCompute => maxcompute_string(value),
    }
}

/// A PostgreSQL string literal that reads as `value` whatever
/// `standard_conforming_strings` and `backslash_quote` say: `'…'` with
/// doubled quotes when there is no backslash or control character,
/// otherwise an escape string in which every backslash is doubled, every
/// quote is doubled (never `\'`, which `backslash_quote = off` rejects) and
/// every control character is a `\x`/`\u` escape.
pub(crate) fn postgres_string(value: &str) -> Result<String, ToolError> {
    if value.contains('\0') {
        return Err(unrenderable("a string holding a NUL character"));
    }
    let needs_escapes = value.chars().any(|c| c == '\\' || c.is_control());
    let mut out = String::with_capacity(value.len() + 3);
    if needs_escapes {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() && c.is_ascii() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// A MaxCompute string literal: `'…'` holding no quote, backslash or
/// control character. MaxCompute reads `\` as an escape in both quote
/// styles while the gate's parser does not, so no spelling of such a value
/// reads the same to both; the caller is told how to write it instead.
fn maxcompute_string(value: &str) -> Result<String, ToolError> {
    if value
        .chars()
        .any(|c| c == '\'' || c == '"' || c == '\\' || c.is_control())
    {
        return Err(ToolError::new(
            ErrorCode::SqlParseError,
            "A string literal holds a quote, a backslash or a control character, which MaxCompute reads differently from sqlwarden's gate",
            "Build such values with functions instead, for example concat('O', chr(39), 'Brien') for O'Brien, or filter with LIKE and a plain pattern",
        ));
    }
    Ok(format!("'{value}'"))
}

/// Why a leaf cannot be printed unambiguously.
pub(crate) fn unrenderable(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("The query holds {what}, which cannot be passed on to the database unambiguously"),
        "Use plain names (letters, digits, underscores) or quoted names without quote or control characters, and ordinary string and number literals",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
