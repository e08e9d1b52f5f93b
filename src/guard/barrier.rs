//! Row policies as a barrier, not a planner accident.
//!
//! A row policy is applied by replacing the table with a filtered derived
//! table. PostgreSQL flattens such a derived table into the outer query,
//! and then the policy's filter and the agent's predicates sit in one
//! filter list that the planner orders by estimated cost: an agent
//! predicate that is cheaper than the policy (easy when the policy lists
//! many values) runs first, on the rows the policy hides. One that raises
//! an error or takes time only on those rows tells the agent about them.
//!
//! PostgreSQL's own answer is the security barrier (row-level security and
//! `security_barrier` views push down only leakproof predicates). The gate
//! gets the same guarantee without database-side objects: a derived table
//! with `OFFSET 0` is never flattened and no outer predicate is ever pushed
//! into it (pushing a filter past an `OFFSET` could change which rows it
//! returns, so the planner may not), so its policy filter runs on every row
//! before anything of the agent's sees it.
//!
//! That fence costs index use for predicates on the wrapped table, so it is
//! set only when needed: a query whose every predicate is a plain
//! comparison of columns with literals (which cannot fail, sleep or report
//! a value, whatever row it sees) and which has no subqueries, derived
//! tables or CTEs that could carry a computed column into such a
//! comparison, keeps the flattened, index-friendly form. Everything else
//! gets the fence.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Join, JoinConstraint, Query, Select, TableFactor, UnaryOperator, Visit,
    Visitor,
};

use super::from::supported_constraint;

/// Whether the row-policy tables of `query` need the `OFFSET 0` fence.
pub(crate) fn needed(query: &Query) -> bool {
    if query.with.is_some() {
        return true;
    }
    let mut check = Check { needed: false };
    let _ = query.visit(&mut check);
    check.needed
}

struct Check {
    needed: bool,
}

impl Visitor for Check {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if query.with.is_some() {
            self.needed = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let predicates = select
            .selection
            .iter()
            .chain(select.having.iter())
            .chain(select.qualify.iter());
        let joins = select.from.iter().flat_map(|t| t.joins.iter());
        let unsafe_join = joins.clone().any(|j| !join_is_plain(j));
        if unsafe_join || predicates.clone().any(|p| !plain(p)) {
            self.needed = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { args: None, .. } => ControlFlow::Continue(()),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } if table_with_joins.joins.iter().all(join_is_plain) => ControlFlow::Continue(()),
            _ => {
                self.needed = true;
                ControlFlow::Break(())
            }
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if matches!(
            expr,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            self.needed = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn join_is_plain(join: &Join) -> bool {
    let Some(constraint) = supported_constraint(&join.join_operator) else {
        return false;
    };
    match constraint {
        JoinConstraint::On(on) => plain(on),
        JoinConstraint::Using(_) | JoinConstraint::None => true,
        JoinConstraint::Natural => false,
    }
}

/// A predicate that compares columns and literals only, with operators
/// that cannot fail on a row: comparisons, `AND`/`OR`/`NOT`, `IS NULL`,
/// `IN (literals)`, `BETWEEN literals`.
fn plain(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => true,
        Expr::Nested(inner) | Expr::IsNull(inner) | Expr::IsNotNull(inner) => plain(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => plain(expr),
        Expr::BinaryOp { left, op, right } => {
            matches!(
                op,
                BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq
                    | BinaryOperator::And
                    | BinaryOperator::Or
            ) && plain(left)
                && plain(right)
        }
        Expr::InList { expr, list, .. } => {
            plain(expr) && list.iter().all(|e| matches!(e, Expr::Value(_)))
        }
        Expr::Between {
            expr, low, high, ..
        } => plain(expr) && matches!(**low, Expr::Value(_)) && matches!(**high, Expr::Value(_)),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
