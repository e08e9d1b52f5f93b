//! AST building blocks for the semantic layer: quoted identifiers, literal
//! values, catalog expressions parsed in the engine's dialect.
//!
//! Nothing here renders SQL text or splices strings: callers assemble a
//! sqlparser `Query` from these nodes, and only then is it printed, for the
//! gate to parse again. Catalog text (a metric's `expression`, its
//! `default_filters`) is parsed here; the caller's values become literal
//! nodes and its names quoted identifiers, never SQL.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, Expr, GroupByExpr, Ident, LimitClause, ObjectName,
    Offset, OffsetRows, OrderBy, OrderByExpr, OrderByKind, OrderByOptions, OrderBySort, Query,
    SelectItem, SetExpr, TableFactor, Value,
};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::config::EngineKind;
use crate::error::ToolError;
use crate::guard::Flavor;

/// A column reference, `alias.column` when an alias is given.
pub(crate) fn column(engine: EngineKind, alias: Option<&str>, name: &str) -> Expr {
    let flavor = Flavor::of(engine);
    match alias {
        Some(alias) => Expr::CompoundIdentifier(vec![Ident::new(alias), flavor.ident(name)]),
        None => Expr::Identifier(flavor.ident(name)),
    }
}

/// An identifier that prints as `name` and reads back as exactly `name`.
pub(crate) fn ident(engine: EngineKind, name: &str) -> Ident {
    Flavor::of(engine).ident(name)
}

/// A table name from a policy key (`schema.table`, `project.table`).
pub(crate) fn table_name(engine: EngineKind, key: &str) -> ObjectName {
    let parts: Vec<String> = key.split('.').map(str::to_string).collect();
    Flavor::of(engine).object_name(&parts)
}

/// A string literal.
pub(crate) fn text(value: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(value.to_string()))
}

/// A caller's text as a literal that reads back as exactly that text.
///
/// sqlparser prints a plain literal's `\'` as is (it takes it for an
/// escape), so text holding a backslash would end the literal early when
/// the gate parses it again: on PostgreSQL it becomes an escape string
/// (`E'...'`, every backslash and quote escaped). MaxCompute reads
/// backslashes in every literal as escapes while the gate's dialect does
/// not, so there text with a backslash or a quote is refused rather than
/// risk the two reading different values.
pub(crate) fn value_text(engine: EngineKind, value: &str) -> Result<Expr, ToolError> {
    match engine {
        EngineKind::Postgres if value.contains('\\') => {
            Ok(Expr::value(Value::EscapedStringLiteral(value.to_string())))
        }
        EngineKind::Postgres => Ok(text(value)),
        EngineKind::MaxCompute if value.contains(['\\', '\'']) => Err(ToolError::new(
            crate::error::ErrorCode::InvalidArgument,
            "text values with a backslash or a single quote are not accepted on MaxCompute",
            "Match those characters with `like` and the `_` wildcard instead",
        )),
        EngineKind::MaxCompute => Ok(text(value)),
    }
}

/// An integer literal.
pub(crate) fn number(value: u64) -> Expr {
    Expr::value(Value::Number(value.to_string(), false))
}

/// Parse a fixed query shape that the caller then fills in. Templates are
/// constants of this module's callers, never caller input.
pub(crate) fn template(engine: EngineKind, sql: &str) -> Result<Query, ToolError> {
    Parser::new(Flavor::of(engine).dialect())
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_query())
        .map(|q| *q)
        .map_err(|e| ToolError::internal(format!("semantic template `{sql}`: {e}")))
}

/// Why a catalog expression cannot be used (shown in the config error or
/// the internal error that names the expression).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExprError {
    /// It does not parse in the engine's dialect.
    #[error("{0}")]
    Parse(#[from] ParserError),
    /// Something follows the expression.
    #[error("unexpected `{0}` after the expression")]
    Trailing(Token),
    /// It names something other than a plain column of the base table.
    #[error("`{0}` is not allowed here; write plain column names of the base table")]
    NotAColumn(String),
}

/// Parse one catalog expression in the engine's dialect.
pub(crate) fn parse_expr(engine: EngineKind, text: &str) -> Result<Expr, ExprError> {
    let mut parser = Parser::new(Flavor::of(engine).dialect()).try_with_sql(text)?;
    let expr = parser.parse_expr()?;
    match parser.peek_token().token {
        Token::EOF => Ok(expr),
        other => Err(ExprError::Trailing(other)),
    }
}

/// The columns a catalog expression reads, as the engine resolves them.
/// Qualified names are refused: a catalog expression is over one table.
pub(crate) fn expr_columns(engine: EngineKind, expr: &Expr) -> Result<Vec<String>, ExprError> {
    let flavor = Flavor::of(engine);
    let mut columns = Vec::new();
    let outcome = visit_expressions(expr, |e| match e {
        Expr::Identifier(id) => {
            if !columns.contains(&flavor.fold(id)) {
                columns.push(flavor.fold(id));
            }
            ControlFlow::Continue(())
        }
        Expr::CompoundIdentifier(parts) => ControlFlow::Break(parts_text(parts)),
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            ControlFlow::Break("a subquery".to_string())
        }
        _ => ControlFlow::Continue(()),
    });
    match outcome {
        ControlFlow::Continue(()) => Ok(columns),
        ControlFlow::Break(what) => Err(ExprError::NotAColumn(what)),
    }
}

fn parts_text(parts: &[Ident]) -> String {
    parts
        .iter()
        .map(|p| p.value.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// Qualify every plain column of a catalog expression with `alias`, so it
/// stays bound to the base table once other tables are joined.
pub(crate) fn qualify(expr: &mut Expr, alias: &str) {
    let _ = visit_expressions_mut(expr, |e| {
        if let Expr::Identifier(id) = e {
            *e = Expr::CompoundIdentifier(vec![Ident::new(alias), id.clone()]);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `left AND right`, each side parenthesised when it is itself a boolean
/// combination, so precedence never depends on how the parts were written.
pub(crate) fn and_all(parts: Vec<Expr>) -> Option<Expr> {
    combine(parts, sqlparser::ast::BinaryOperator::And)
}

/// `a OR b OR ...`, each part parenthesised.
pub(crate) fn or_all(parts: Vec<Expr>) -> Option<Expr> {
    combine(parts, sqlparser::ast::BinaryOperator::Or)
}

fn combine(parts: Vec<Expr>, op: sqlparser::ast::BinaryOperator) -> Option<Expr> {
    parts
        .into_iter()
        .map(|p| Expr::Nested(Box::new(p)))
        .reduce(|left, right| Expr::BinaryOp {
            left: Box::new(left),
            op: op.clone(),
            right: Box::new(right),
        })
}

/// The parts of one `SELECT` the semantic layer builds.
#[derive(Debug, Clone, Default)]
pub(crate) struct SelectParts {
    /// Output expressions, each with its output name when it has one.
    pub(crate) projection: Vec<(Expr, Option<Ident>)>,
    /// Policy key of the table read first, and its alias.
    pub(crate) from: (String, Option<String>),
    /// Joined tables: policy key, alias and `ON` condition.
    pub(crate) joins: Vec<(String, String, Expr)>,
    /// `WHERE`.
    pub(crate) selection: Option<Expr>,
    /// `GROUP BY` expressions.
    pub(crate) group_by: Vec<Expr>,
    /// `ORDER BY` expressions, `true` for descending.
    pub(crate) order_by: Vec<(Expr, bool)>,
    /// `OFFSET`, when paging.
    pub(crate) offset: Option<u64>,
}

impl SelectParts {
    /// The query, as an AST in the engine's dialect.
    pub(crate) fn build(self, engine: EngineKind) -> Result<Query, ToolError> {
        let mut query = template(engine, "SELECT 1 FROM t AS t0")?;
        let join_template = template(engine, "SELECT 1 FROM t AS t0 JOIN t AS t1 ON TRUE")?;
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Err(ToolError::internal("semantic template is not a SELECT"));
        };
        select.projection = self
            .projection
            .into_iter()
            .map(|(expr, alias)| match alias {
                Some(alias) => SelectItem::ExprWithAlias { expr, alias },
                None => SelectItem::UnnamedExpr(expr),
            })
            .collect();
        let Some(from) = select.from.first_mut() else {
            return Err(ToolError::internal("semantic template has no FROM"));
        };
        set_table(
            &mut from.relation,
            engine,
            &self.from.0,
            self.from.1.as_deref(),
        );
        let join = match join_template.body.as_ref() {
            SetExpr::Select(s) => s.from.first().and_then(|f| f.joins.first()).cloned(),
            _ => None,
        };
        for (key, alias, on) in self.joins {
            let mut join = join
                .clone()
                .ok_or_else(|| ToolError::internal("semantic join template has no JOIN"))?;
            set_table(&mut join.relation, engine, &key, Some(&alias));
            join.join_operator =
                sqlparser::ast::JoinOperator::Join(sqlparser::ast::JoinConstraint::On(on));
            from.joins.push(join);
        }
        select.selection = self.selection;
        if !self.group_by.is_empty() {
            select.group_by = GroupByExpr::Expressions(self.group_by, Vec::new());
        }
        if !self.order_by.is_empty() {
            query.order_by = Some(OrderBy {
                kind: OrderByKind::Expressions(
                    self.order_by
                        .into_iter()
                        .map(|(expr, descending)| OrderByExpr {
                            expr,
                            options: OrderByOptions {
                                sort: descending.then_some(OrderBySort::Desc),
                                nulls_first: None,
                            },
                            with_fill: None,
                        })
                        .collect(),
                ),
                interpolate: None,
            });
        }
        if let Some(offset) = self.offset.filter(|o| *o > 0) {
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: None,
                offset: Some(Offset {
                    value: number(offset),
                    rows: OffsetRows::None,
                }),
                limit_by: Vec::new(),
            });
        }
        Ok(query)
    }
}

fn set_table(factor: &mut TableFactor, engine: EngineKind, key: &str, alias: Option<&str>) {
    if let TableFactor::Table {
        name, alias: slot, ..
    } = factor
    {
        *name = table_name(engine, key);
        match (alias, slot.as_mut()) {
            (Some(alias), Some(slot)) => slot.name = Ident::new(alias),
            (None, _) => *slot = None,
            (Some(_), None) => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
