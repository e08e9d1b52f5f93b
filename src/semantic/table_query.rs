//! `query_table`: a structured read (columns, typed filter, order, limit,
//! cursor) compiled to one `SELECT` over one table.
//!
//! Column names from the caller become quoted identifiers and values become
//! literal nodes; no text of the caller's is ever SQL. The built query is
//! not checked here: [`TableQuery::check`] sends it through the same gate
//! as `run_select_sql`, which refuses denied columns (wherever they appear,
//! the filter included) and applies row policies, partitions and limits.
//! Paging is by offset under a total order (the caller's `order_by`, then
//! every returned column), carried in a signed cursor.

use serde::Serialize;

use super::args::{OrderBy, QueryTableArgs};
use super::cursor::{self, CursorKey};
use super::filter::Filter;
use super::gated::GatedQuery;
use super::refusal::invalid;
use super::sql::{self, SelectParts};
use crate::error::ToolError;
use crate::guard::CheckedQuery;
use crate::policy::SourceRules;

/// Most columns one `query_table` call may name.
const MAX_COLUMNS: usize = 200;

/// A `query_table` request compiled to SQL that has not yet passed the gate.
#[derive(Debug, Clone)]
pub struct TableQuery {
    sql: String,
    limit: Option<u64>,
    offset: u64,
    fingerprint: String,
}

/// What identifies a request for its cursor: everything but the limit and
/// the cursor itself (a caller may change the page size between pages).
#[derive(Serialize)]
struct Identity<'a> {
    source: &'a str,
    table: &'a str,
    columns: &'a [String],
    filter: &'a Option<Filter>,
    order_by: &'a [OrderBy],
}

/// Compile a `query_table` request for the source `rules` describe; a
/// `cursor` is checked against `key` and the request.
pub fn compile_query_table(
    rules: &SourceRules<'_>,
    key: &CursorKey,
    args: &QueryTableArgs,
) -> Result<TableQuery, ToolError> {
    let engine = rules.engine;
    if args.columns.is_empty() || args.columns.len() > MAX_COLUMNS {
        return Err(invalid(
            format!("`columns` needs 1 to {MAX_COLUMNS} column names"),
            "Name the columns to return (see `describe_table` for the allowed ones)",
        ));
    }
    check_names(args)?;
    let table = rules.normalize_key(&args.table);
    let fingerprint = cursor::fingerprint(&Identity {
        source: rules.name,
        table: &table,
        columns: &args.columns,
        filter: &args.filter,
        order_by: &args.order_by,
    })?;
    let offset = match &args.cursor {
        Some(c) => cursor::decode(key, c, &fingerprint)?,
        None => 0,
    };
    let mut parts = SelectParts {
        from: (table, None),
        offset: Some(offset),
        ..SelectParts::default()
    };
    parts.projection = args
        .columns
        .iter()
        .map(|c| (sql::column(engine, None, c), None))
        .collect();
    if let Some(filter) = &args.filter {
        parts.selection = Some(filter.to_expr(engine, &mut |c| Ok(sql::column(engine, None, c)))?);
    }
    // Offset paging is only stable under a total order: the caller's order
    // first, then every returned column as a tie-breaker.
    let mut order: Vec<(&str, bool)> = args
        .order_by
        .iter()
        .map(|o| (o.column.as_str(), o.descending))
        .collect();
    for column in &args.columns {
        if !order.iter().any(|(c, _)| c == column) {
            order.push((column, false));
        }
    }
    parts.order_by = order
        .into_iter()
        .map(|(c, desc)| (sql::column(engine, None, c), desc))
        .collect();
    let query = parts.build(engine)?;
    Ok(TableQuery {
        sql: query.to_string(),
        limit: args.limit,
        offset,
        fingerprint,
    })
}

/// Refuse names no table or column has: quote characters, backslashes or
/// control characters. Such names could only serve to end a quoted
/// identifier early, and sqlparser prints a backslash before a quote as is.
fn check_names(args: &QueryTableArgs) -> Result<(), ToolError> {
    let mut names: Vec<(&str, &str)> = vec![("table", args.table.as_str())];
    names.extend(args.columns.iter().map(|c| ("columns", c.as_str())));
    names.extend(
        args.order_by
            .iter()
            .map(|o| ("order_by", o.column.as_str())),
    );
    if let Some(filter) = &args.filter {
        filter.fields(&mut |f| names.push(("filter", f)));
    }
    for (argument, name) in names {
        if name.is_empty()
            || name
                .chars()
                .any(|c| matches!(c, '"' | '`' | '\\' | '\'') || c.is_control())
        {
            return Err(invalid(
                format!(
                    "`{argument}` holds `{}`, which is not a table or column name",
                    name.escape_debug()
                ),
                "Use names exactly as `describe_table` and `list_allowed_tables` show them",
            ));
        }
    }
    Ok(())
}

impl GatedQuery for TableQuery {
    fn gate_input(&self) -> (&str, Option<u64>) {
        (&self.sql, self.limit)
    }
}

impl TableQuery {
    /// The SQL as built, before the gate rewrites it.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Rows skipped (from the cursor).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The cursor of the next page, when the page that `checked` returned
    /// was cut at its limit (`truncated`): the caller gets exactly
    /// `applied_limit` rows per page.
    pub fn next_cursor(
        &self,
        key: &CursorKey,
        checked: &CheckedQuery,
        truncated: bool,
    ) -> Result<Option<String>, ToolError> {
        if !truncated {
            return Ok(None);
        }
        let next = self.offset.saturating_add(checked.applied_limit());
        cursor::encode(key, next, &self.fingerprint).map(Some)
    }
}
