//! The MaxCompute re-check: the text that will be sent is cut into tokens
//! by MaxCompute's lexical rules and by the gate's parser, and the two token
//! streams must be the same, token for token.
//!
//! MaxCompute's rules (its SQL reference, Hive-like): names are ASCII
//! letters, digits and `_`, case-insensitive, or quoted in backticks (a
//! doubled backtick stands for one); strings are quoted with `'` *or* `"`,
//! and a backslash escapes the next character in both; `--` comments run
//! to the end of the line and `/* … */` comments (`/*+ … */` are hints)
//! do not nest; numbers may carry a type suffix (`1L`, `1BD`). The gate
//! renders none of the constructs where these rules and sqlparser's
//! generic dialect part ways, so any difference means the text would run
//! as something the gate did not check.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::mismatch;
use crate::error::ToolError;

/// One token, as both readings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    /// An unquoted word (keyword or name), lower-cased.
    Word(String),
    /// A backtick-quoted name, unescaped.
    Quoted(String),
    /// A string literal, unescaped.
    Str(String),
    /// A number, as written (suffix included).
    Number(String),
    /// An operator or punctuation, as written.
    Symbol(String),
}

/// Why one of the two readings could not cut the text into tokens (the
/// text is then refused: the gate never prints such a thing).
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("MaxCompute reads a comment or hint at character {0}")]
    Comment(usize),
    #[error("MaxCompute reads no token at character {0} ({1:?})")]
    NoToken(usize, char),
    #[error("MaxCompute reads an unterminated string from character {0}")]
    UnterminatedString(usize),
    #[error("MaxCompute reads an unterminated name from character {0}")]
    UnterminatedName(usize),
    #[error("the gate's tokenizer: {0}")]
    GateTokenizer(sqlparser::tokenizer::TokenizerError),
    #[error("the gate read a name quoted with {0}")]
    GateQuote(char),
    #[error("the gate read the token {0:?}")]
    GateToken(Token),
}

/// Operators MaxCompute reads as one token, longest first.
const MULTI_CHAR_SYMBOLS: &[&str] = &[
    "<=>", "<>", "!=", "<=", ">=", "==", "||", "&&", "<<", ">>", "::",
];

/// Characters MaxCompute reads as one-character operators or punctuation.
const SINGLE_CHAR_SYMBOLS: &str = "+-*/%=<>!~&|^(),.;[]:{}";

/// Compare MaxCompute's reading of `sql` with the gate parser's.
pub(super) fn verify(sql: &str) -> Result<(), ToolError> {
    let engine = lex(sql).map_err(|e| mismatch(e.to_string()))?;
    let gate = gate_tokens(sql).map_err(|e| mismatch(e.to_string()))?;
    if engine == gate {
        return Ok(());
    }
    let at = engine
        .iter()
        .zip(&gate)
        .position(|(a, b)| a != b)
        .unwrap_or(engine.len().min(gate.len()));
    Err(mismatch(format!(
        "MaxCompute reads {:?} where the gate read {:?} (token {at})",
        engine.get(at),
        gate.get(at)
    )))
}

/// The gate parser's tokens of `sql`.
fn gate_tokens(sql: &str) -> Result<Vec<Lexeme>, Unreadable> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(Unreadable::GateTokenizer)?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        out.push(match token {
            Token::Whitespace(_) => continue,
            Token::Word(w) => match w.quote_style {
                None => Lexeme::Word(w.value.to_lowercase()),
                Some('`') => Lexeme::Quoted(w.value),
                Some(q) => return Err(Unreadable::GateQuote(q)),
            },
            Token::SingleQuotedString(s) => Lexeme::Str(s),
            Token::Number(n, long) => Lexeme::Number(if long { format!("{n}L") } else { n }),
            Token::EOF => continue,
            other @ (Token::Char(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)) => {
                return Err(Unreadable::GateToken(other));
            }
            other => Lexeme::Symbol(other.to_string()),
        });
    }
    Ok(out)
}

/// MaxCompute's tokens of `sql`. Comments, hints and characters that start
/// no token are errors: the gate never prints them.
fn lex(sql: &str) -> Result<Vec<Lexeme>, Unreadable> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if (c == '-' && next == Some('-')) || (c == '/' && next == Some('*')) {
            return Err(Unreadable::Comment(i));
        } else if c == '\'' || c == '"' {
            let (text, end) = string(&chars, i)?;
            out.push(Lexeme::Str(text));
            i = end;
        } else if c == '`' {
            let (text, end) = backtick(&chars, i)?;
            out.push(Lexeme::Quoted(text));
            i = end;
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let end = number_end(&chars, i);
            out.push(Lexeme::Number(chars[i..end].iter().collect()));
            i = end;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut end = i;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let word: String = chars[i..end].iter().collect();
            out.push(Lexeme::Word(word.to_lowercase()));
            i = end;
        } else if let Some(symbol) = MULTI_CHAR_SYMBOLS.iter().find(|s| {
            s.chars()
                .enumerate()
                .all(|(k, sc)| chars.get(i + k) == Some(&sc))
        }) {
            out.push(Lexeme::Symbol((*symbol).to_string()));
            i += symbol.chars().count();
        } else if SINGLE_CHAR_SYMBOLS.contains(c) {
            out.push(Lexeme::Symbol(c.to_string()));
            i += 1;
        } else {
            return Err(Unreadable::NoToken(i, c));
        }
    }
    Ok(out)
}

/// A string quoted with `chars[start]`, backslash escapes decoded.
fn string(chars: &[char], start: usize) -> Result<(String, usize), Unreadable> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let Some(&escaped) = chars.get(i + 1) else {
                    break;
                };
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    other => other,
                });
                i += 2;
            }
            c if c == quote => return Ok((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(Unreadable::UnterminatedString(start))
}

/// A backtick-quoted name; a doubled backtick stands for one.
fn backtick(chars: &[char], start: usize) -> Result<(String, usize), Unreadable> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '`' {
            if chars.get(i + 1) == Some(&'`') {
                text.push('`');
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    Err(Unreadable::UnterminatedName(start))
}

/// Where a number starting at `start` ends: digits, a fraction, an
/// exponent, and any type suffix letters (`L`, `BD`, `Y`, `S`).
fn number_end(chars: &[char], start: usize) -> usize {
    let digits = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if chars.get(i) == Some(&'.') {
        i = digits(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            i = digits(j);
        }
    }
    while i < chars.len() && chars[i].is_ascii_alphabetic() {
        i += 1;
    }
    i
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
