//! The gate's refusals: one constructor per reason, each with the code the
//! agent branches on, one sentence saying what was refused, and a hint
//! naming the fix (allowed choices, or a near miss the caller may see).
//!
//! Only names the caller is allowed to see appear in hints: allowed tables
//! and allowed columns, never denied ones.

use crate::error::{ErrorCode, ToolError};

/// Most names listed in one hint.
const MAX_LISTED: usize = 25;

/// `a`, `b`, `c` (and N more).
fn listing<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut shown: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > MAX_LISTED {
        shown.push(format!("and {} more", names.len() - MAX_LISTED));
    }
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

/// The closest candidate within a small edit distance, if any.
fn near_miss<'a>(wanted: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let wanted = wanted.to_lowercase();
    let wanted_chars = wanted.chars().count();
    let within = |c: &str| 2.max(c.len() / 5);
    candidates
        .iter()
        // The distance is at least the difference in length: a candidate
        // that differs more is no near miss, and is not measured (an
        // identifier of megabytes would take seconds to compare).
        .filter(|c| wanted_chars.abs_diff(c.chars().count()) <= within(c))
        .map(|c| (edit_distance(&wanted, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= within(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Most bytes of a name the caller sent that a refusal repeats: a name
/// can be megabytes long, and the message goes out twice (text and
/// structured content) and into the audit log.
const MAX_ECHOED_NAME: usize = 200;

/// `name` as a refusal repeats it: whole, or its first
/// [`MAX_ECHOED_NAME`] bytes and a note of how long it was.
fn echoed(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= MAX_ECHOED_NAME {
        return name.into();
    }
    // The engines' `cut_str` is on a floor above the gate.
    let mut end = MAX_ECHOED_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &name[..end], name.len()).into()
}

/// A hint that suggests a near miss or lists the choices.
fn choose(kind: &str, wanted: &str, allowed: &[&str]) -> String {
    match near_miss(wanted, allowed) {
        Some(m) if m != wanted => format!(
            "Did you mean `{m}`? Allowed {kind}: {}",
            listing(allowed.iter().copied())
        ),
        _ => format!("Allowed {kind}: {}", listing(allowed.iter().copied())),
    }
}

pub(crate) fn parse_error(detail: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("The SQL could not be parsed: {detail}"),
        "Send exactly one SELECT statement (WITH and set operations are fine) in the source's SQL dialect",
    )
}

pub(crate) fn nested_too_deep(bound: usize, max: usize) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("The SQL nests operators, parentheses and subqueries too deeply to be checked safely (about {bound} levels; at most {max} are read)"),
        "Flatten the query: `x IN (…)` instead of long OR chains, fewer operators chained in one expression, and WITH clauses instead of deeply nested subqueries",
    )
}

pub(crate) fn too_many_ctes(count: usize, max: usize) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("The SQL defines {count} WITH queries; at most {max} are checked"),
        "Combine WITH queries that read the same tables, or split the work into several queries",
    )
}

pub(crate) fn expanded_too_deep(depth: usize, max: usize) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("With its WITH queries expanded where they are read, the SQL nests {depth} SELECTs; at most {max} are run, since PostgreSQL's planner takes time that grows steeply with such nesting and cannot be interrupted while it plans"),
        "Read fewer WITH queries through one another in a chain, or split the work into several queries",
    )
}

pub(crate) fn empty_sql() -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        "The SQL is empty",
        "Send exactly one SELECT statement, for example `SELECT order_id FROM orders`",
    )
}

pub(crate) fn unsupported(construct: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("sqlwarden's gate does not accept {construct}"),
        "Rewrite the query with plain SELECT, JOIN, WHERE, GROUP BY, window functions and subqueries",
    )
}

pub(crate) fn multiple_statements() -> ToolError {
    ToolError::new(
        ErrorCode::SqlMultipleStatements,
        "Only one statement may be sent per call",
        "Send a single SELECT; a trailing `;` is fine, a second statement is not",
    )
}

pub(crate) fn readonly(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SqlReadonlyOnly,
        format!("Only read-only queries are allowed, and this is {what}"),
        "Send a SELECT (or WITH ... SELECT) that reads data; writes, session settings and utility statements are refused",
    )
}

pub(crate) fn locking() -> ToolError {
    ToolError::new(
        ErrorCode::LockingNotAllowed,
        "Row-locking clauses (`FOR UPDATE`, `FOR SHARE`, ...) are not allowed",
        "Remove the `FOR UPDATE` / `FOR SHARE` clause; queries run in a read-only transaction",
    )
}

pub(crate) fn no_table() -> ToolError {
    ToolError::new(
        ErrorCode::TableReferenceRequired,
        "The query reads no table",
        "Query at least one allowed table; call `list_allowed_tables` to see them",
    )
}

pub(crate) fn table_not_allowed(name: &str, allowed: &[&str]) -> ToolError {
    ToolError::new(
        ErrorCode::TableNotAllowed,
        format!("Table `{}` is not allowed on this source", echoed(name)),
        choose("tables", name, allowed),
    )
}

pub(crate) fn system_schema(name: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SystemSchemaNotAllowed,
        format!("`{name}` is in a system schema, which queries may not read"),
        "Use `list_allowed_tables` and `describe_table` for metadata instead of catalog tables",
    )
}

pub(crate) fn function_not_allowed(name: &str) -> ToolError {
    ToolError::new(
        ErrorCode::FunctionNotAllowed,
        format!("Function or operator `{name}` is not allowed"),
        "Use standard aggregate, window, math, string, date/time, conditional and JSON functions, called by their plain names",
    )
}

pub(crate) fn operator_not_allowed(operator: &str) -> ToolError {
    ToolError::new(
        ErrorCode::FunctionNotAllowed,
        format!("Operator `{operator}` is not allowed: an operator runs the function behind it, and only PostgreSQL's built-in operators, written plainly, are checked to be safe"),
        "Write built-in operators as plain symbols (`=`, `<`, `+`, `||`, `~`, `->>`, `@>`, ...), without `OPERATOR(schema.op)`; order with `ASC` / `DESC` (or `USING <` / `USING >`). An extension's operator runs only as `OPERATOR(schema.op)` once policy lists it under `security.allowed_operators`",
    )
}

pub(crate) fn cast_not_allowed(ty: &str) -> ToolError {
    ToolError::new(
        ErrorCode::FunctionNotAllowed,
        format!("Casting to `{ty}` is not allowed"),
        "Cast only to standard types: integer, numeric, real/double precision, text/varchar, boolean, date, time, timestamp, interval, json, uuid",
    )
}

pub(crate) fn column_not_allowed(table: &str, column: &str, allowed: &[&str]) -> ToolError {
    ToolError::new(
        ErrorCode::ColumnNotAllowed,
        format!("Column `{}` of `{table}` is not allowed", echoed(column)),
        choose(&format!("columns of `{table}`"), column, allowed),
    )
}

pub(crate) fn unknown_column(column: &str, allowed: &[&str]) -> ToolError {
    ToolError::new(
        ErrorCode::ColumnNotAllowed,
        format!(
            "Column `{}` does not match an allowed column of the tables in scope",
            echoed(column)
        ),
        choose("columns in scope", column, allowed),
    )
}

pub(crate) fn select_star(table: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SelectStarNotAllowed,
        format!("`*` and whole-row references are not allowed on `{table}`"),
        format!(
            "List the columns you need; call `describe_table` on `{table}` to see the allowed ones"
        ),
    )
}

/// `column_rules`: whether the table has column rules (else `*` is
/// refused on every table of the source, `ban_select_star`).
pub(crate) fn count_whole_row(binding: &str, table: &str, column_rules: bool) -> ToolError {
    let why = if column_rules {
        format!("`{table}` has column rules, and `{binding}.*` stands for every column, denied ones included")
    } else {
        format!("this source refuses `*` on every table (`ban_select_star`), and `{binding}.*` stands for every column of `{table}`")
    };
    ToolError::new(
        ErrorCode::SelectStarNotAllowed,
        format!("`count({binding}.*)` is a whole-row reference: {why}, so it is refused like `*`"),
        format!("Use `count(*)` to count rows, or `count({binding}.<column>)` with an allowed column of `{table}` to count its non-null values"),
    )
}

pub(crate) fn join_not_approved(detail: &str, approved: &[String]) -> ToolError {
    let hint = if approved.is_empty() {
        "No joins are approved on this source; query one table at a time".to_string()
    } else {
        format!(
            "Join only along approved joins, equating all of their columns: {}. Call `get_join_paths` for examples",
            approved.join("; ")
        )
    };
    ToolError::new(
        ErrorCode::JoinNotApproved,
        format!("{detail} is not an approved join"),
        hint,
    )
}

/// `clause` says which tables, for example "`a` and `b` are combined".
pub(crate) fn unrelated_tables(clause: &str, approved: &[String]) -> ToolError {
    let mut e = join_not_approved(clause, approved);
    e.message = format!("{clause} without an approved join condition (a cross join)");
    e
}

pub(crate) fn tablesample_derived() -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        "`TABLESAMPLE` applies to tables only, not to a derived table",
        "Put `TABLESAMPLE BERNOULLI (p)` or `SYSTEM (p)` right after a table name, or filter with `WHERE random() < p / 100.0`",
    )
}

/// `reason` says why this sample cannot be honoured.
pub(crate) fn tablesample(table: &str, reason: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SqlParseError,
        format!("`TABLESAMPLE` on `{table}` is not accepted: {reason}"),
        "Sample with `WHERE random() < 0.1` instead (the same as `TABLESAMPLE BERNOULLI (10)`), or use `TABLESAMPLE BERNOULLI (p)` / `SYSTEM (p)` with a numeric literal on a table without row policies or column rules",
    )
}

pub(crate) fn with_ties() -> ToolError {
    ToolError::new(
        ErrorCode::LimitMustBeLiteral,
        "`FETCH FIRST ... WITH TIES` is not accepted: it may return more rows than requested, and the result is always cut at the row limit, which would silently drop some of the ties",
        "Use `FETCH FIRST n ROWS ONLY` or `LIMIT n`; to keep every tied row, filter with a window function instead, e.g. `WHERE rank <= n` over `rank() OVER (ORDER BY ...)` in a derived table",
    )
}

pub(crate) fn too_many_tables(count: usize, max: u32) -> ToolError {
    ToolError::new(
        ErrorCode::TooManyJoinTables,
        format!("The query reads {count} distinct tables; at most {max} are allowed"),
        format!("Split the question into queries over at most {max} tables"),
    )
}

pub(crate) fn partition_required(table: &str, field: &str) -> ToolError {
    ToolError::new(
        ErrorCode::PartitionFilterRequired,
        format!("`{table}` needs a filter on its partition column `{field}`"),
        format!("Add `WHERE {field} = '<value>'` (or IN / BETWEEN with constants); call `list_partitions` to see the values"),
    )
}

pub(crate) fn limit_literal(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::LimitMustBeLiteral,
        format!("{what} must be a plain integer literal"),
        "Write `LIMIT <n>` with a positive whole number, or pass the tool's `limit` argument",
    )
}

pub(crate) fn limit_positive(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::LimitMustBePositive,
        format!("{what} must be positive"),
        "Write `LIMIT <n>` with n of at least 1",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
