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
//! The cut text is what the caller would have seen cut: an array, a
//! composite or a record (type categories `A`, `C` and `P`, domains over
//! them included) is cut from its JSON text (`to_json`), so it still reads
//! as `[1, 2, …`; any other value from its own text (strings, `bytea`, JSON,
//! XML, …). The choice is made on the server, and only for a value that is
//! cut: the wrap needs no column types, only how many columns there are,
//! so it can be written before the server has described the query
//! (`run.rs` sends it in the same flight).
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

/// The bounding query around `sql`, which returns `columns` columns (at
/// least one), for cells of at most `max_cell_bytes` and at most `rows` rows.
pub(crate) fn wrap(sql: &str, columns: usize, max_cell_bytes: u64, rows: u64) -> String {
    let k = max_cell_bytes;
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
            "CASE WHEN NOT q.w{i} THEN pg_catalog.left(CASE WHEN \
             (SELECT t.typcategory FROM pg_catalog.pg_type AS t WHERE t.oid = pg_catalog.pg_typeof(q.c{i})) \
             IN ('A', 'C', 'P') \
             THEN pg_catalog.to_json(q.c{i})::pg_catalog.text ELSE q.c{i}::pg_catalog.text END, {k}) END"
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
