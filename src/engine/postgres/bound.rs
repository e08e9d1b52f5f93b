//! Bounding every cell on the server, before it is sent.
//!
//! tokio-postgres reads each `DataRow` message whole into memory, so a
//! query computing one huge value (`repeat('x', 300000000)`, an
//! `array_agg` over a big table) would be held whole by sqlwarden before
//! `max_cell_bytes` could cut it. The engine therefore runs the checked
//! query as a derived table and asks the server to bound each output
//! column: a value whose text form is at most `max_cell_bytes` is sent as
//! is (in binary); a larger one is sent as NULL, with its text form cut to
//! `max_cell_bytes` characters in a trailing `text[]` column, one element
//! per output column (NULL where nothing was cut):
//!
//! ```sql
//! SELECT CASE WHEN octet_length(q.c1::text) <= K THEN q.c1 END, …,
//!        ARRAY[CASE WHEN octet_length(q.c1::text) > K THEN left(q.c1::text, K) END, …]
//! FROM (SELECT * FROM (<checked query>) AS q0 (c1, …) OFFSET 0) AS q
//! LIMIT <rows>
//! ```
//!
//! The `LIMIT` is the engine's own row cap (`applied_limit + 1`): the
//! server stops there whatever the checked query asks for.
//!
//! The cut text is what the caller would have seen cut: the value's own
//! text for strings, `bytea`, JSON and XML, and its JSON text (`to_json`)
//! for everything else, so an array still reads as `[1, 2, …`.
//!
//! `OFFSET 0` keeps the planner from pulling the query up and computing
//! each expression once per reference. The text of the checked query is
//! the gate's rendering, already prepared on its own (so it is one
//! statement); it is placed on lines of its own, so a trailing comment
//! cannot swallow the closing parenthesis. The row order of the checked
//! query is kept: the outer query only projects.
//!
//! The bound on what arrives: a value sent whole has a text form of at most
//! K bytes, and no type's binary form is more than 8 times its text form
//! (the worst are composites and arrays of small numbers, 8 bytes of
//! header per 1-byte field); a cut value is at most 4 K bytes (K
//! characters of UTF-8). So one row is at most about 8 K bytes per column,
//! 32 KiB per column at the default `max_cell_bytes` of 4096.

use std::fmt::Write as _;

use tokio_postgres::types::{Kind, Type};

/// Whether the type's own text is what the caller sees (as a string, or
/// as the JSON it holds).
fn shown_as_text(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(base) => shown_as_text(base),
        _ => [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::CHAR,
            Type::UNKNOWN,
            Type::BYTEA,
            Type::JSON,
            Type::JSONB,
            Type::XML,
        ]
        .contains(ty),
    }
}

/// The bounding query around `sql`, whose result columns have `types` (at
/// least one), for cells of at most `max_cell_bytes` and at most `rows` rows.
pub(crate) fn wrap(sql: &str, types: &[Type], max_cell_bytes: u64, rows: u64) -> String {
    let k = max_cell_bytes;
    let columns = types.len();
    let mut out = String::with_capacity(sql.len() + 160 * columns);
    out.push_str("SELECT ");
    for i in 1..=columns {
        let _ = write!(
            out,
            "CASE WHEN pg_catalog.octet_length(q.c{i}::pg_catalog.text) <= {k} THEN q.c{i} END, "
        );
    }
    out.push_str("ARRAY[");
    for (i, ty) in (1..).zip(types) {
        if i > 1 {
            out.push_str(", ");
        }
        let text = if shown_as_text(ty) {
            format!("q.c{i}::pg_catalog.text")
        } else {
            format!("pg_catalog.to_json(q.c{i})::pg_catalog.text")
        };
        let _ = write!(
            out,
            "CASE WHEN pg_catalog.octet_length(q.c{i}::pg_catalog.text) > {k} \
             THEN pg_catalog.left({text}, {k}) END"
        );
    }
    out.push_str("]::pg_catalog.text[]\nFROM (SELECT * FROM (\n");
    out.push_str(sql);
    out.push_str("\n) AS q0 (");
    for i in 1..=columns {
        if i > 1 {
            out.push_str(", ");
        }
        let _ = write!(out, "c{i}");
    }
    let _ = write!(out, ") OFFSET 0) AS q\nLIMIT {rows}");
    out
}

#[cfg(test)]
mod tests;
