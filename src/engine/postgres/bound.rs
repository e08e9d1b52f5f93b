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
//! per output column (NULL where nothing was cut, and NULL as a whole for
//! a row where nothing was):
//!
//! ```sql
//! SELECT CASE WHEN q.w1 THEN q.c1 END, …,
//!        CASE WHEN NOT q.w1 OR … THEN
//!          ARRAY[CASE WHEN NOT q.w1 THEN left(<cut text of q.c1>, K) END, …] END
//! FROM (SELECT q0.c1, …, octet_length(q0.c1::text) <= K AS w1, …
//!       FROM (<checked query>) AS q0 (c1, …) OFFSET 0) AS q
//! LIMIT <rows>
//! ```
//!
//! Each value's text length is measured once (the text conversion is most
//! of the server's work here), and the array is only built for a row with
//! a cut value; it is NULL otherwise.
//!
//! The `LIMIT` is the engine's own row cap (`applied_limit + 1`): the
//! server stops there whatever the checked query asks for.
//!
//! The cut text is what the caller would have seen cut: the value's own
//! text for strings, `bytea`, JSON and XML (domains over them too), and
//! its JSON text (`to_json`) for everything else, so an array still reads
//! as `[1, 2, …`. With the column types known ([`Cut::Typed`]) the choice
//! is written into the query; without them ([`Cut::OnServer`], the one
//! flight, where every type is built in) the server makes it per cut value
//! from `pg_typeof`, against the same built-in types. No catalog lookup
//! is involved: a subquery would raise the plan's estimated cost enough to
//! have the server JIT-compile the query, which costs a second.
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
//! header per 1-byte field); a cut value is at most 4 K bytes (K
//! characters of UTF-8). So one row is at most about 8 K bytes per column,
//! 32 KiB per column at the default `max_cell_bytes` of 4096.

use std::fmt::Write as _;

use tokio_postgres::types::{Kind, Type};

/// The types whose own text is what the caller sees (as a string, or as
/// the JSON it holds).
const SHOWN_AS_TEXT: [Type; 10] = [
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
];

/// Whether the type's own text is what the caller sees.
fn shown_as_text(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(base) => shown_as_text(base),
        _ => SHOWN_AS_TEXT.contains(ty),
    }
}

/// How the bounding query learns which text of a cut value to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cut<'a> {
    /// From the columns' types, as the server described them.
    Typed(&'a [Type]),
    /// On the server, from each cut value's type, for this many columns
    /// (all of built-in types).
    OnServer(usize),
}

impl Cut<'_> {
    fn columns(&self) -> usize {
        match self {
            Cut::Typed(types) => types.len(),
            Cut::OnServer(columns) => *columns,
        }
    }

    /// The text of column `i` (1-based) to cut.
    fn text(&self, i: usize) -> String {
        let own = format!("q.c{i}::pg_catalog.text");
        let json = format!("pg_catalog.to_json(q.c{i})::pg_catalog.text");
        match self {
            Cut::Typed(types) if types.get(i - 1).is_some_and(shown_as_text) => own,
            Cut::Typed(_) => json,
            Cut::OnServer(_) => {
                let oids: Vec<String> = SHOWN_AS_TEXT.iter().map(|t| t.oid().to_string()).collect();
                format!(
                    "CASE WHEN pg_catalog.pg_typeof(q.c{i})::pg_catalog.oid = ANY ('{{{}}}'::pg_catalog.oid[]) \
                     THEN {own} ELSE {json} END",
                    oids.join(",")
                )
            }
        }
    }
}

/// The bounding query around `sql` (at least one column), for cells of at
/// most `max_cell_bytes` and at most `rows` rows.
pub(crate) fn wrap(sql: &str, cut: Cut<'_>, max_cell_bytes: u64, rows: u64) -> String {
    let k = max_cell_bytes;
    let columns = cut.columns();
    let mut out = String::with_capacity(sql.len() + 400 * columns);
    out.push_str("SELECT ");
    for i in 1..=columns {
        let _ = write!(out, "CASE WHEN q.w{i} THEN q.c{i} END, ");
    }
    out.push_str("CASE WHEN ");
    for i in 1..=columns {
        if i > 1 {
            out.push_str(" OR ");
        }
        let _ = write!(out, "NOT q.w{i}");
    }
    out.push_str(" THEN ARRAY[");
    for i in 1..=columns {
        if i > 1 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "CASE WHEN NOT q.w{i} THEN pg_catalog.left({}, {k}) END",
            cut.text(i)
        );
    }
    out.push_str("]::pg_catalog.text[] END\nFROM (SELECT ");
    for i in 1..=columns {
        let _ = write!(out, "q0.c{i}, ");
    }
    for i in 1..=columns {
        if i > 1 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "pg_catalog.octet_length(q0.c{i}::pg_catalog.text) <= {k} AS w{i}"
        );
    }
    out.push_str(" FROM (\n");
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
