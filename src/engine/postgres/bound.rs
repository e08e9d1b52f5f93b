//! Bounding every cell on the server, before it is sent.
//!
//! tokio-postgres reads each `DataRow` message whole into memory, so a
//! query computing one huge value (`repeat('x', 300000000)`, an
//! `array_agg` over a big table) would be held whole by sqlwarden before
//! `max_cell_bytes` could cut it. The engine therefore runs the checked
//! query as a derived table and asks the server to bound each output
//! column: a value whose text form is at most `max_cell_bytes` is sent as
//! is (in binary); a larger one is sent as NULL, with the start of its text
//! (see below) in a trailing `text[]` column, one element per output
//! column (NULL where nothing was cut, and NULL as a whole for a row where
//! nothing was):
//!
//! ```sql
//! SELECT CASE WHEN q.w1 THEN q.c1 END, …,
//!        CASE WHEN NOT q.w1 OR … THEN
//!          ARRAY[CASE WHEN NOT q.w1 THEN left(to_json(q.c1)::text, 2K+1) END, …] END
//! FROM (SELECT q0.c1, …, octet_length(q0.c1::text) <= K AS w1, …
//!       FROM (<checked query>) AS q0 (c1, …) OFFSET 0) AS q
//! LIMIT <rows>
//! ```
//!
//! Each value's text length is measured once (the text conversion is most
//! of the server's work here), and the array is only built for a row with
//! a cut value; it is NULL otherwise.
//!
//! A column whose values always fit is not measured at all ([`sent`]):
//! one of a type whose text is always short (an integer, a date, …) is
//! sent as `q.cN`; one whose type modifier bounds its text (`varchar(n)`,
//! `char(n)`, `numeric(p, s)`, `bit(n)`) is sent cast to that same type
//! and modifier, `q.cN::pg_catalog.varchar(44)`. The cast changes no value
//! of a column that has the modifier; it is there for the column the
//! engine only assumed has it (one flight takes the types from the table
//! facts before the server describes the query, `run.rs`): a set
//! operation whose other branch computes a longer value describes the
//! column without the modifier, and the cast then cuts (or, for a number
//! or a `bit(n)`, refuses) that value on the server instead of sending it
//! whole. The rows of such a flight are dropped and the query runs again,
//! described. When no column is measured, the query is wrapped once,
//! without the flags, and each column is referenced once, so no `OFFSET
//! 0` is needed (see below). The server's parse and plan of the measuring
//! expressions are most of a point query's time: pgbench, a 16-column
//! TPC-H `lineitem` row by its key, 0.53 ms with its 9 `char`, `varchar`
//! and `numeric` columns measured, 0.19 ms with them cast, 0.16 ms for
//! the query alone.
//!
//! A string column (`text`, or `varchar` whose modifier does not hold it
//! under the cap) is not measured either: it is sent as its first K + 1
//! characters, `pg_catalog.left(q.cN, K + 1)`. That is at most 4 (K + 1)
//! bytes, and a value over K bytes arrives with more than K bytes, so the
//! engine cuts it to K bytes and counts it as cut exactly as if the whole
//! value had come (a character is at least one byte). One call of `left`
//! per value costs the server less than measuring it and building the
//! array (pgbench, a 12-column point query with four `text` columns: 0.15
//! against 0.23 ms; 10,000 of its rows take 5% longer, since `left` copies
//! each value), and the value is still referenced once. In one flight,
//! the rows are used only when the server describes the column as that
//! same type.
//!
//! The `LIMIT` is the engine's own row cap (`applied_limit + 1`): the
//! server stops there whatever the checked query asks for.
//!
//! The cut text is what the caller would have seen cut: the value's own
//! text for strings, `bytea`, JSON and XML (domains over them too), and
//! its JSON text for everything else, so an array still reads as
//! `[1, 2, …`. The server sends the start of every cut value's JSON text
//! (`to_json`, 2 K + 1 characters) whatever its type, and the engine,
//! which knows the type from the bounding query's own columns, reads a
//! string's own text back out of it ([`cut_text`]) and cuts it to K bytes.
//! Choosing the text on the server instead (`pg_typeof` against a list of
//! types for every column) made the server's parse and plan of a point
//! query's wrap 1.7 times as long (pgbench: 0.34 against 0.20 ms for 12
//! columns); a catalog subquery raised the plan's estimated cost enough to
//! have the server JIT-compile the query, which costs a second. The 2 K
//! covers JSON's two-character escapes (`\"`, `\\`, `\n`, …); a string
//! of control characters other than those (`\u0001`, six characters each)
//! reads back shorter than K bytes, still a true start of the value.
//!
//! `OFFSET 0` keeps the planner from pulling the query up and computing
//! each expression once per reference. The text of the checked query is
//! the gate's rendering, which the engine also prepares on its own (a
//! result is used only when that prepare succeeded, see `run.rs`); it is
//! placed on lines of its own, so a trailing comment cannot swallow the
//! closing parenthesis. The row order of the checked
//! query is kept: the outer query only projects.
//!
//! The bound on what arrives: a value sent whole has a text form of at most
//! K bytes, and no type's binary form is more than 8 times its text form
//! (the worst are composites and arrays of small numbers, 8 bytes of
//! header per 1-byte field); a cut value is at most 4 (2 K + 1) bytes
//! (2 K + 1 characters of UTF-8), a prefix at most 4 (K + 1). So one row
//! is at most about 8 K bytes per column, 32 KiB per column at the default
//! `max_cell_bytes` of 4096.

use std::fmt::Write as _;

use tokio_postgres::types::{Kind, Type};

/// The types whose own text is what the caller sees and whose JSON text
/// is a JSON string of it (JSON and JSONB are their own text already).
const JSON_STRINGS: [Type; 8] = [
    Type::TEXT,
    Type::VARCHAR,
    Type::BPCHAR,
    Type::NAME,
    Type::CHAR,
    Type::UNKNOWN,
    Type::BYTEA,
    Type::XML,
];

/// Whether `to_json` of a value of `ty` is a JSON string of its own text.
fn json_string(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(base) => json_string(base),
        _ => JSON_STRINGS.contains(ty),
    }
}

/// Types whose text form is never longer than [`SHORT_TEXT`] bytes, in
/// any `DateStyle`, `IntervalStyle` or float setting (the longest is a
/// `timestamptz` in the `Postgres` style with a BC year and a zone name,
/// under 48 bytes; an `inet` is at most 43, eight IPv6 groups and a
/// prefix length).
const SHORT: [Type; 17] = [
    Type::BOOL,
    Type::INT2,
    Type::INT4,
    Type::INT8,
    Type::OID,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::DATE,
    Type::TIME,
    Type::TIMETZ,
    Type::TIMESTAMP,
    Type::TIMESTAMPTZ,
    Type::UUID,
    Type::INET,
    Type::CIDR,
    Type::MACADDR,
    Type::MACADDR8,
];

/// The string types whose value is its text, sent as a prefix when their
/// modifier does not hold them under the cap ([`Sent::Prefix`]). Not
/// `bpchar`: `left` would drop its padding.
const STRINGS: [Type; 2] = [Type::TEXT, Type::VARCHAR];

/// The most bytes a value of a [`SHORT`] type takes as text.
const SHORT_TEXT: u64 = 64;

/// PostgreSQL's `VARHDRSZ`, which the modifier of a `varchar(n)`,
/// `char(n)` or `numeric(p, s)` column adds to what it says.
const VARHDRSZ: i32 = 4;

/// A column's type and type modifier (`atttypmod`; -1 for none), as the
/// catalog or the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// The type.
    pub(crate) ty: Type,
    /// Its modifier: the `n` of `varchar(n)` (plus 4), the precision and
    /// scale of `numeric(p, s)`, …; -1 when the column has none.
    pub(crate) typmod: i32,
}

/// How the bounding query sends one output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Measured, and cut on the server when its text is over the cap.
    Bounded,
    /// As it is: every value of this type's text is short ([`SHORT`]),
    /// whatever the modifier.
    Whole(Type),
    /// Cast to its own type and modifier, which bound every value's text.
    Held(ColumnType),
    /// A string of this type (`text` or `varchar`), sent as its first
    /// `max_cell_bytes + 1` characters; the engine cuts what is longer
    /// than the cap.
    Prefix(Type),
}

impl Sent {
    /// Whether the server's description of a column, `ty` with `typmod`,
    /// is what this column was sent as.
    pub(crate) fn describes(&self, ty: &Type, typmod: i32) -> bool {
        match self {
            Sent::Bounded => true,
            Sent::Whole(whole) | Sent::Prefix(whole) => whole == ty,
            Sent::Held(held) => held.ty == *ty && held.typmod == typmod,
        }
    }
}

/// How to send a column of `column`'s type without measuring it, when
/// every value's text fits `max_cell_bytes`; [`Sent::Bounded`] otherwise.
pub(crate) fn sent(column: &ColumnType, max_cell_bytes: u64) -> Sent {
    if SHORT.contains(&column.ty) {
        if max_cell_bytes >= SHORT_TEXT {
            return Sent::Whole(column.ty.clone());
        }
        return Sent::Bounded;
    }
    match longest_by_modifier(column) {
        Some(longest) if longest <= max_cell_bytes => Sent::Held(column.clone()),
        // `left` counts characters in a 32-bit integer.
        _ if STRINGS.contains(&column.ty) && max_cell_bytes < i32::MAX as u64 => {
            Sent::Prefix(column.ty.clone())
        }
        _ => Sent::Bounded,
    }
}

/// The most bytes a value of `column` takes as UTF-8 text, when its type
/// modifier bounds it: 4 per character of a `varchar(n)` or `char(n)`,
/// the digits, sign, point and leading zero of a `numeric(p, s)` (its
/// `NaN` is shorter; an infinity does not fit a modifier), one per bit.
pub(super) fn longest_by_modifier(column: &ColumnType) -> Option<u64> {
    let typmod = column.typmod;
    let longest = match column.ty {
        Type::VARCHAR | Type::BPCHAR if typmod > VARHDRSZ => 4 * i64::from(typmod - VARHDRSZ),
        Type::NUMERIC if typmod >= VARHDRSZ => {
            let (precision, scale) = numeric_modifier(typmod);
            3 + precision.max(scale) + (-scale).max(0)
        }
        Type::BIT | Type::VARBIT if typmod > 0 => i64::from(typmod),
        _ => return None,
    };
    u64::try_from(longest).ok()
}

/// The precision and scale of a `numeric` modifier; the scale is 11 bits
/// with a sign (negative since PostgreSQL 15).
fn numeric_modifier(typmod: i32) -> (i64, i64) {
    let packed = i64::from(typmod - VARHDRSZ);
    let scale = ((packed & 0x7ff) ^ 0x400) - 0x400;
    ((packed >> 16) & 0xffff, scale)
}

/// The SQL type name of a column held to its modifier ([`Sent::Held`]).
fn held_type(column: &ColumnType) -> String {
    let typmod = column.typmod;
    match column.ty {
        Type::NUMERIC => {
            let (precision, scale) = numeric_modifier(typmod);
            format!("pg_catalog.numeric({precision}, {scale})")
        }
        Type::BIT => format!("pg_catalog.bit({typmod})"),
        Type::VARBIT => format!("pg_catalog.varbit({typmod})"),
        ref ty => format!("pg_catalog.{}({})", ty.name(), typmod - VARHDRSZ),
    }
}

/// The bounding query around `sql`, one output column for each element of
/// `columns` (at least one), sent as it says; at most `rows` rows.
pub(crate) fn wrap(sql: &str, columns: &[Sent], max_cell_bytes: u64, rows: u64) -> String {
    let k = max_cell_bytes;
    let sent = k.saturating_mul(2).saturating_add(1);
    let bounded: Vec<usize> = (1..)
        .zip(columns)
        .filter(|(_, column)| **column == Sent::Bounded)
        .map(|(i, _)| i)
        .collect();
    let mut out = String::with_capacity(sql.len() + 250 * bounded.len() + 30 * columns.len());
    // Nothing measured: one derived table, no flags to compute once.
    let q = if bounded.is_empty() { "q0" } else { "q" };
    out.push_str("SELECT ");
    for (i, column) in (1..).zip(columns) {
        match column {
            Sent::Whole(_) => {
                let _ = write!(out, "{q}.c{i}, ");
            }
            Sent::Held(held) => {
                let _ = write!(out, "{q}.c{i}::{}, ", held_type(held));
            }
            // `left` returns `text`; a `varchar` stays one.
            Sent::Prefix(ty) if *ty == Type::VARCHAR => {
                let _ = write!(
                    out,
                    "pg_catalog.left({q}.c{i}, {})::pg_catalog.varchar, ",
                    k + 1
                );
            }
            Sent::Prefix(_) => {
                let _ = write!(out, "pg_catalog.left({q}.c{i}, {}), ", k + 1);
            }
            Sent::Bounded => {
                let _ = write!(out, "CASE WHEN q.w{i} THEN q.c{i} END, ");
            }
        }
    }
    if bounded.is_empty() {
        out.push_str("NULL::pg_catalog.text[]\nFROM (\n");
        out.push_str(sql);
        out.push_str("\n) AS q0 (");
        push_names(&mut out, columns.len());
        let _ = write!(out, ")\nLIMIT {rows}");
        return out;
    }
    out.push_str("CASE WHEN ");
    for (n, i) in bounded.iter().enumerate() {
        if n > 0 {
            out.push_str(" OR ");
        }
        let _ = write!(out, "NOT q.w{i}");
    }
    out.push_str(" THEN ARRAY[");
    for (i, column) in (1..).zip(columns) {
        if i > 1 {
            out.push_str(", ");
        }
        if *column == Sent::Bounded {
            let _ = write!(
                out,
                "CASE WHEN NOT q.w{i} THEN pg_catalog.left(pg_catalog.to_json(q.c{i})::pg_catalog.text, {sent}) END"
            );
        } else {
            out.push_str("NULL");
        }
    }
    out.push_str("]::pg_catalog.text[] END");
    out.push_str("\nFROM (SELECT ");
    for i in 1..=columns.len() {
        if i > 1 {
            out.push_str(", ");
        }
        let _ = write!(out, "q0.c{i}");
    }
    for i in &bounded {
        let _ = write!(
            out,
            ", pg_catalog.octet_length(q0.c{i}::pg_catalog.text) <= {k} AS w{i}"
        );
    }
    out.push_str(" FROM (\n");
    out.push_str(sql);
    out.push_str("\n) AS q0 (");
    push_names(&mut out, columns.len());
    let _ = write!(out, ") OFFSET 0) AS q\nLIMIT {rows}");
    out
}

/// The derived table's column names, `c1, c2, …`.
fn push_names(out: &mut String, columns: usize) {
    for i in 1..=columns {
        if i > 1 {
            out.push_str(", ");
        }
        let _ = write!(out, "c{i}");
    }
}

/// What the caller sees of a cut value of type `ty`, from the start of its
/// JSON text as the server sent it: a string's own text, read back out of
/// its JSON string, or the JSON text itself. The caller then cuts it to
/// `max_cell_bytes`.
pub(crate) fn cut_text(ty: &Type, sent: String) -> String {
    if json_string(ty) {
        json_string_start(&sent)
    } else {
        sent
    }
}

/// The text of a JSON string from the start of its JSON text, which may be
/// cut anywhere: up to the closing quote, or up to the last whole escape.
/// A text that is not a JSON string is returned as it is.
fn json_string_start(json: &str) -> String {
    let Some(body) = json.strip_prefix('"') else {
        return json.to_owned();
    };
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => {
                let escaped = match chars.next() {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('/') => '/',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('u') => match unicode_escape(&mut chars) {
                        Some(c) => c,
                        None => break,
                    },
                    _ => break,
                };
                out.push(escaped);
            }
            c => out.push(c),
        }
    }
    out
}

/// The character of a `\uXXXX` escape (its `\u` read), joining a
/// surrogate pair; `None` when the text ends inside it. A lone surrogate
/// reads as U+FFFD.
fn unicode_escape(chars: &mut std::str::Chars<'_>) -> Option<char> {
    fn four(chars: &mut std::str::Chars<'_>) -> Option<u32> {
        let hex: String = chars.by_ref().take(4).collect();
        if hex.len() < 4 {
            return None;
        }
        u32::from_str_radix(&hex, 16).ok()
    }
    let first = four(chars)?;
    if (0xD800..0xDC00).contains(&first) {
        let mut rest = chars.clone();
        if rest.next() == Some('\\') && rest.next() == Some('u') {
            let second = four(&mut rest)?;
            if (0xDC00..0xE000).contains(&second) {
                *chars = rest;
                let joined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Some(char::from_u32(joined).unwrap_or('\u{FFFD}'));
            }
        }
        return Some('\u{FFFD}');
    }
    Some(char::from_u32(first).unwrap_or('\u{FFFD}'))
}

#[cfg(test)]
mod tests;
