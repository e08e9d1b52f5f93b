//! Rules 2, 6 and 7 applied to the AST: every policy-table reference is
//! replaced by its qualified name, or by a filtered derived table
//! `(SELECT <columns> FROM schema.table WHERE <row policies> AND
//! <default partition>) AS <binding>` that projects only readable columns.
//!
//! References are found again by the position of their name in the SQL,
//! which the analysis recorded; CTE references and the derived tables this
//! module creates have no recorded position and are left alone.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use sqlparser::ast::{
    BinaryOperator, Expr, LimitClause, Offset, OffsetRows, Query, SelectItem, SetExpr, TableAlias,
    TableFactor, Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::dialect::Flavor;
use super::scope::Instance;
use crate::error::ToolError;

/// What one table reference becomes.
pub(crate) struct Replacement {
    /// The qualified name parts.
    pub(crate) parts: Vec<String>,
    /// The reference's binding name.
    pub(crate) binding: String,
    /// When wrapping: the columns to project and the filters to apply.
    pub(crate) wrap: Option<(Vec<String>, Vec<Expr>)>,
    /// Fence the wrapper with `OFFSET 0` so no predicate of the agent's is
    /// evaluated before its filters (see [`super::barrier`]).
    pub(crate) barrier: bool,
}

/// Make the printed SQL lex the way the AST reads: `- -1` prints as
/// `--1`, which a lexer reads as a comment, so a unary sign over a signed
/// operand gets parentheses. (Literals and names get their spelling from
/// [`super::canonical`].)
pub(crate) fn harden(query: &mut Query) {
    struct Harden;
    impl VisitorMut for Harden {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::UnaryOp { expr: operand, .. } = expr {
                if operand.to_string().starts_with(['-', '+']) {
                    let inner = std::mem::replace(operand.as_mut(), Expr::value(Value::Null));
                    **operand = Expr::Nested(Box::new(inner));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = query.visit(&mut Harden);
}

/// `SELECT c FROM t`, whose parts callers replace by AST nodes: a fixed
/// template (parsed once), so no text from the agent or the identity is
/// ever spliced into SQL.
pub(crate) fn select_template() -> Result<Query, ToolError> {
    static TEMPLATE: OnceLock<Option<Query>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            Parser::new(&GenericDialect {})
                .try_with_sql("SELECT c FROM t")
                .and_then(|mut p| p.parse_query())
                .ok()
                .map(|q| *q)
        })
        .clone()
        .ok_or_else(|| ToolError::internal("the SELECT template does not parse"))
}

/// A `column = 'value'` partition predicate.
pub(crate) fn partition_predicate(flavor: Flavor, field: &str, value: &str) -> Expr {
    Expr::BinaryOp {
        left: Box::new(Expr::Identifier(flavor.ident(field))),
        op: BinaryOperator::Eq,
        right: Box::new(Expr::value(Value::SingleQuotedString(value.to_string()))),
    }
}

/// Apply `replacements` (by instance position) to the query.
pub(crate) fn apply(
    flavor: Flavor,
    query: &mut Query,
    instances: &[Instance],
    replacements: Vec<Replacement>,
) -> Result<(), ToolError> {
    let mut by_position = HashMap::new();
    for (instance, replacement) in instances.iter().zip(replacements) {
        if instance.position.0 == 0 {
            return Err(ToolError::internal(
                "a table reference has no source position",
            ));
        }
        let factor = build(flavor, replacement)?;
        by_position.insert(instance.position, factor);
    }
    let mut rewriter = Rewriter { by_position };
    let _ = query.visit(&mut rewriter);
    // Every checked reference must have been rewritten: one left over would
    // reach the database unqualified and unfiltered.
    if !rewriter.by_position.is_empty() {
        return Err(ToolError::internal(format!(
            "{} table reference(s) were checked but not found for rewriting",
            rewriter.by_position.len()
        )));
    }
    Ok(())
}

fn build(
    flavor: Flavor,
    replacement: Replacement,
) -> Result<(Option<TableFactor>, sqlparser::ast::ObjectName), ToolError> {
    let name = flavor.object_name(&replacement.parts);
    let Some((columns, filters)) = replacement.wrap else {
        return Ok((None, name));
    };
    let mut inner = select_template()?;
    let SetExpr::Select(select) = inner.body.as_mut() else {
        return Err(ToolError::internal("wrap template is not a SELECT"));
    };
    select.projection = columns
        .iter()
        .map(|c| SelectItem::UnnamedExpr(Expr::Identifier(flavor.ident(c))))
        .collect();
    if let Some(TableFactor::Table { name: table, .. }) =
        select.from.first_mut().map(|t| &mut t.relation)
    {
        *table = name.clone();
    }
    select.selection = filters.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(nest(a)),
        op: BinaryOperator::And,
        right: Box::new(nest(b)),
    });
    if replacement.barrier {
        inner.limit_clause = Some(LimitClause::LimitOffset {
            limit: None,
            offset: Some(Offset {
                value: Expr::value(Value::Number("0".into(), false)),
                rows: OffsetRows::None,
            }),
            limit_by: Vec::new(),
        });
    }
    let derived = TableFactor::Derived {
        lateral: false,
        subquery: Box::new(inner),
        alias: Some(TableAlias {
            explicit: true,
            name: flavor.ident(&replacement.binding),
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    };
    Ok((Some(derived), name))
}

fn nest(expr: Expr) -> Expr {
    match expr {
        Expr::BinaryOp {
            op: BinaryOperator::And,
            ..
        }
        | Expr::Nested(_) => expr,
        other => Expr::Nested(Box::new(other)),
    }
}

struct Rewriter {
    by_position: HashMap<(u64, u64), (Option<TableFactor>, sqlparser::ast::ObjectName)>,
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, args: None, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(first) = name.0.first().and_then(|p| p.as_ident()) else {
            return ControlFlow::Continue(());
        };
        let position = (first.span.start.line, first.span.start.column);
        let Some((wrapped, qualified)) = self.by_position.remove(&position) else {
            return ControlFlow::Continue(());
        };
        match wrapped {
            Some(derived) => *factor = derived,
            None => *name = qualified,
        }
        ControlFlow::Continue(())
    }
}
