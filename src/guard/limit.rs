//! Rule 8: `LIMIT`, `OFFSET` and `FETCH FIRST` must be positive integer
//! literals, at every level; the outermost one is folded into the row limit
//! the policy grants, and the rendered query fetches one row more than that
//! so truncation is reported truthfully.

use sqlparser::ast::{Expr, LimitClause, Offset, OffsetRows, Query, SetExpr, UnaryOperator, Value};

use super::refusal;
use crate::error::ToolError;

/// Validate a query's own limit clauses; returns its literal row limit.
pub(crate) fn literal_limit(query: &Query) -> Result<Option<u64>, ToolError> {
    let mut limit = None;
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: row_limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(refusal::unsupported("`LIMIT ... BY`"));
            }
            if let Some(expr) = row_limit {
                limit = Some(positive(expr, "`LIMIT`")?);
            }
            if let Some(Offset { value, .. }) = offset {
                non_negative(value, "`OFFSET`")?;
            }
        }
        Some(LimitClause::OffsetCommaLimit {
            offset,
            limit: row_limit,
        }) => {
            non_negative(offset, "`OFFSET`")?;
            limit = Some(positive(row_limit, "`LIMIT`")?);
        }
    }
    if let Some(fetch) = &query.fetch {
        if fetch.percent {
            return Err(refusal::limit_literal("`FETCH FIRST ... PERCENT`"));
        }
        if fetch.with_ties {
            return Err(refusal::with_ties());
        }
        let rows = match &fetch.quantity {
            Some(expr) => positive(expr, "`FETCH FIRST`")?,
            None => 1,
        };
        limit = Some(limit.map_or(rows, |l: u64| l.min(rows)));
    }
    Ok(limit)
}

/// The literal value: `Ok(Some(n))` for an integer literal, `Ok(None)` for
/// a negated one, an error for anything else.
fn integer(expr: &Expr, what: &str) -> Result<Result<u64, ()>, ToolError> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(text, false) => text
                .parse::<u64>()
                .map(Ok)
                .map_err(|_| refusal::limit_literal(what)),
            _ => Err(refusal::limit_literal(what)),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match integer(expr, what)? {
            Ok(0) => Ok(Ok(0)),
            _ => Ok(Err(())),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => integer(expr, what),
        _ => Err(refusal::limit_literal(what)),
    }
}

fn positive(expr: &Expr, what: &str) -> Result<u64, ToolError> {
    match integer(expr, what)? {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(refusal::limit_positive(what)),
    }
}

/// OFFSET 0 skips nothing and is allowed; negative offsets are not.
fn non_negative(expr: &Expr, what: &str) -> Result<u64, ToolError> {
    match integer(expr, what)? {
        Ok(n) => Ok(n),
        Err(()) => Err(refusal::limit_positive(what)),
    }
}

/// The query whose limit is the statement's: a parenthesised query
/// `(SELECT ... LIMIT 3)` with nothing outside the parentheses is its
/// inner query (PostgreSQL merges the two, and refuses a second LIMIT).
pub(crate) fn outermost(query: &Query) -> &Query {
    match query.body.as_ref() {
        SetExpr::Query(inner) if bare(query) => outermost(inner),
        _ => query,
    }
}

/// The gate's own LIMIT goes on the statement's query; PostgreSQL merges a
/// parenthesised query with the clauses after it and refuses two LIMITs,
/// so `(SELECT ... LIMIT 3) ORDER BY x` cannot take one. Refused with the
/// way to write it instead.
pub(crate) fn single_limit(query: &Query) -> Result<(), ToolError> {
    let top = outermost(query);
    if let SetExpr::Query(inner) = top.body.as_ref() {
        let inner = outermost(inner);
        if inner.limit_clause.is_some() || inner.fetch.is_some() {
            return Err(refusal::unsupported(
                "a LIMIT inside parentheses followed by ORDER BY, LIMIT or OFFSET outside them; write one query with one ORDER BY and one LIMIT",
            ));
        }
    }
    Ok(())
}

/// Whether a query adds nothing to its body: no WITH, ORDER BY, limit or
/// locking clause of its own.
fn bare(query: &Query) -> bool {
    query.with.is_none()
        && query.order_by.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.locks.is_empty()
}

/// Replace the outermost query's limit with `rows` (keeping its OFFSET).
pub(crate) fn set_limit(query: &mut Query, rows: u64) {
    if bare(query) {
        if let SetExpr::Query(inner) = query.body.as_mut() {
            return set_limit(inner, rows);
        }
    }
    let offset = match query.limit_clause.take() {
        Some(LimitClause::LimitOffset { offset, .. }) => offset,
        Some(LimitClause::OffsetCommaLimit { offset, .. }) => Some(Offset {
            value: offset,
            rows: OffsetRows::None,
        }),
        None => None,
    };
    query.fetch = None;
    query.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(Expr::value(Value::Number(rows.to_string(), false))),
        offset,
        limit_by: Vec::new(),
    });
}
