//! What predicates guarantee, for rules 5 and 6: column-to-column
//! equalities (approved joins) and column-to-constant comparisons
//! (partition filters), through AND (union) and OR (intersection).
//!
//! Pure: it resolves names but checks and records nothing.

use std::collections::BTreeSet;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query,
};

use super::analyze::Analyzer;
use super::scope::BaseColumn;

/// What a predicate guarantees about every row it lets through.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Implied {
    /// Equated columns of two different instances (ordered pairs).
    pub(crate) equalities: BTreeSet<(BaseColumn, BaseColumn)>,
    /// Columns compared with constants.
    pub(crate) constants: BTreeSet<BaseColumn>,
}

impl Implied {
    /// Both hold (AND).
    pub(crate) fn extend(&mut self, other: Implied) {
        self.equalities.extend(other.equalities);
        self.constants.extend(other.constants);
    }

    /// Either holds (OR): only what both guarantee.
    pub(crate) fn intersect(self, other: Implied) -> Implied {
        Implied {
            equalities: self
                .equalities
                .intersection(&other.equalities)
                .cloned()
                .collect(),
            constants: self
                .constants
                .intersection(&other.constants)
                .cloned()
                .collect(),
        }
    }

    pub(crate) fn equate(&mut self, left: &[BaseColumn], right: &[BaseColumn]) {
        for a in left {
            for b in right {
                if a.instance != b.instance {
                    let pair = if a < b {
                        (a.clone(), b.clone())
                    } else {
                        (b.clone(), a.clone())
                    };
                    self.equalities.insert(pair);
                }
            }
        }
    }
}

impl Analyzer<'_, '_> {
    /// What a predicate guarantees (see [`Implied`]).
    pub(crate) fn implied(&self, expr: &Expr) -> Implied {
        let mut implied = Implied::default();
        match expr {
            Expr::Nested(inner) => return self.implied(inner),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                implied = self.implied(left);
                implied.extend(self.implied(right));
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => {
                return self.implied(left).intersect(self.implied(right));
            }
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                match (self.lineage_of(left), self.lineage_of(right)) {
                    (Some(a), Some(b)) if *op == BinaryOperator::Eq => implied.equate(&a, &b),
                    (Some(a), None) if is_constant(right) => implied.constants.extend(a),
                    (None, Some(b)) if is_constant(left) => implied.constants.extend(b),
                    _ => {}
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } if list.iter().all(is_constant) => {
                implied
                    .constants
                    .extend(self.lineage_of(expr).unwrap_or_default());
            }
            Expr::Between {
                expr,
                low,
                high,
                negated: false,
            } if is_constant(low) && is_constant(high) => {
                implied
                    .constants
                    .extend(self.lineage_of(expr).unwrap_or_default());
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => {
                if let (Some(a), Some(b)) = (self.lineage_of(left), self.lineage_of(right)) {
                    implied.equate(&a, &b);
                }
            }
            Expr::InSubquery {
                expr,
                subquery,
                negated: false,
            } => {
                let outputs = self
                    .subquery_outputs
                    .get(&(&**subquery as *const Query as usize));
                if let (Some(left), Some([only])) =
                    (self.lineage_of(expr), outputs.map(Vec::as_slice))
                {
                    implied.equate(&left, &only.lineage);
                }
            }
            _ => {}
        }
        implied
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    matches!(op, B::Eq | B::Lt | B::LtEq | B::Gt | B::GtEq)
}

/// An expression that reads no column and no table.
pub(crate) fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) | Expr::TypedString(_) | Expr::Interval(_) => true,
        Expr::Cast { expr, .. } | Expr::Nested(expr) | Expr::UnaryOp { expr, .. } => {
            is_constant(expr)
        }
        Expr::BinaryOp { left, right, .. } => is_constant(left) && is_constant(right),
        Expr::Function(f) => f.over.is_none() && match &f.args {
            FunctionArguments::None => true,
            FunctionArguments::Subquery(_) => false,
            FunctionArguments::List(list) => list.args.iter().all(
                |a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_constant(e)),
            ),
        },
        _ => false,
    }
}
