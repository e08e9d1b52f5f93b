//! The typed filter tree callers send instead of SQL, and its compilation
//! to a sqlparser expression.
//!
//! A filter names a field (a column for `query_table`, a dimension for the
//! metric tools) and carries JSON scalars. The caller of `Filter::to_expr`
//! decides what a field name resolves to; this module only turns the tree
//! into AST nodes, values always as literals. It does not check policy: the
//! built query goes through the gate, which does.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

use super::sql;
use crate::config::EngineKind;
use crate::error::{ErrorCode, ToolError};

/// Deepest nesting of `and` / `or` / `not` accepted; deeper trees are
/// refused before they can exhaust the stack of the gate's walkers.
const MAX_DEPTH: usize = 16;

/// Most leaves one filter may hold.
const MAX_LEAVES: usize = 200;

/// A condition on rows, as a tree. Every node has an `op`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Filter {
    /// `field = value`.
    Eq {
        /// Column (query_table) or dimension (metric tools).
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field <> value`.
    Ne {
        /// Column or dimension.
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field < value`.
    Lt {
        /// Column or dimension.
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field <= value`.
    Le {
        /// Column or dimension.
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field > value`.
    Gt {
        /// Column or dimension.
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field >= value`.
    Ge {
        /// Column or dimension.
        field: String,
        /// Value to compare with.
        value: Scalar,
    },
    /// `field IN (values...)`; at least one value.
    In {
        /// Column or dimension.
        field: String,
        /// Values to match (1 to 200).
        values: Vec<Scalar>,
    },
    /// `field BETWEEN low AND high` (both ends included).
    Between {
        /// Column or dimension.
        field: String,
        /// Lower bound, included.
        low: Scalar,
        /// Upper bound, included.
        high: Scalar,
    },
    /// `field LIKE pattern` (`%` any run, `_` one character).
    Like {
        /// Column or dimension.
        field: String,
        /// The pattern.
        pattern: String,
    },
    /// `field IS NULL`, or `IS NOT NULL` with `negated: true`.
    IsNull {
        /// Column or dimension.
        field: String,
        /// `true` for `IS NOT NULL`.
        #[serde(default)]
        negated: bool,
    },
    /// Every child holds (at least one child).
    And {
        /// The conditions.
        filters: Vec<Filter>,
    },
    /// At least one child holds (at least one child).
    Or {
        /// The conditions.
        filters: Vec<Filter>,
    },
    /// The child does not hold.
    Not {
        /// The condition to negate.
        filter: Box<Filter>,
    },
}

/// A JSON scalar: string, number or boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text (also dates and timestamps, as ISO 8601 text).
    Text(String),
}

impl Scalar {
    /// The literal node for this value.
    pub(crate) fn to_expr(&self, engine: EngineKind) -> Result<Expr, ToolError> {
        Ok(match self {
            Self::Bool(b) => Expr::value(Value::Boolean(*b)),
            Self::Int(n) if *n < 0 => Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(sql::number(n.unsigned_abs())),
            },
            Self::Int(n) => sql::number(n.unsigned_abs()),
            Self::Float(f) if f.is_finite() => {
                let text = format!("{}", f.abs());
                let literal = Expr::value(Value::Number(text, false));
                if *f < 0.0 {
                    Expr::UnaryOp {
                        op: UnaryOperator::Minus,
                        expr: Box::new(literal),
                    }
                } else {
                    literal
                }
            }
            Self::Float(_) => {
                return Err(invalid(
                    "a filter value is not a finite number",
                    "Send a finite number",
                ))
            }
            Self::Text(s) => sql::value_text(engine, s)?,
        })
    }
}

impl Filter {
    /// The expression for this tree; `field` resolves each field name (and
    /// refuses unknown or denied ones with the right code).
    pub(crate) fn to_expr(
        &self,
        engine: EngineKind,
        field: &mut dyn FnMut(&str) -> Result<Expr, ToolError>,
    ) -> Result<Expr, ToolError> {
        let mut leaves = 0;
        self.build(engine, field, 0, &mut leaves)
    }

    /// Call `visit` with every field name in the tree.
    pub(crate) fn fields<'a>(&'a self, visit: &mut dyn FnMut(&'a str)) {
        match self {
            Self::Eq { field, .. }
            | Self::Ne { field, .. }
            | Self::Lt { field, .. }
            | Self::Le { field, .. }
            | Self::Gt { field, .. }
            | Self::Ge { field, .. }
            | Self::In { field, .. }
            | Self::Between { field, .. }
            | Self::Like { field, .. }
            | Self::IsNull { field, .. } => visit(field),
            Self::And { filters } | Self::Or { filters } => {
                filters.iter().for_each(|f| f.fields(visit));
            }
            Self::Not { filter } => filter.fields(visit),
        }
    }

    fn build(
        &self,
        engine: EngineKind,
        field: &mut dyn FnMut(&str) -> Result<Expr, ToolError>,
        depth: usize,
        leaves: &mut usize,
    ) -> Result<Expr, ToolError> {
        if depth > MAX_DEPTH {
            return Err(invalid(
                &format!("the filter is nested deeper than {MAX_DEPTH} levels"),
                "Flatten it: `and` / `or` take any number of children",
            ));
        }
        *leaves += 1;
        if *leaves > MAX_LEAVES {
            return Err(invalid(
                &format!("the filter has more than {MAX_LEAVES} conditions"),
                "Send fewer conditions, or use `in` with a list of values",
            ));
        }
        let compare = |f: &mut dyn FnMut(&str) -> Result<Expr, ToolError>,
                       name: &str,
                       op: BinaryOperator,
                       value: &Scalar| {
            Ok(Expr::BinaryOp {
                left: Box::new(f(name)?),
                op,
                right: Box::new(value.to_expr(engine)?),
            })
        };
        match self {
            Self::Eq { field: n, value } => compare(field, n, BinaryOperator::Eq, value),
            Self::Ne { field: n, value } => compare(field, n, BinaryOperator::NotEq, value),
            Self::Lt { field: n, value } => compare(field, n, BinaryOperator::Lt, value),
            Self::Le { field: n, value } => compare(field, n, BinaryOperator::LtEq, value),
            Self::Gt { field: n, value } => compare(field, n, BinaryOperator::Gt, value),
            Self::Ge { field: n, value } => compare(field, n, BinaryOperator::GtEq, value),
            Self::In { field: n, values } => {
                if values.is_empty() || values.len() > MAX_LEAVES {
                    return Err(invalid(
                        &format!("`in` on `{n}` needs 1 to {MAX_LEAVES} values"),
                        "Send at least one value in `values`",
                    ));
                }
                Ok(Expr::InList {
                    expr: Box::new(field(n)?),
                    list: values
                        .iter()
                        .map(|v| v.to_expr(engine))
                        .collect::<Result<_, _>>()?,
                    negated: false,
                })
            }
            Self::Between {
                field: n,
                low,
                high,
            } => Ok(Expr::Between {
                expr: Box::new(field(n)?),
                negated: false,
                low: Box::new(low.to_expr(engine)?),
                high: Box::new(high.to_expr(engine)?),
            }),
            Self::Like { field: n, pattern } => Ok(Expr::Like {
                negated: false,
                any: false,
                expr: Box::new(field(n)?),
                pattern: Box::new(sql::value_text(engine, pattern)?),
                escape_char: None,
            }),
            Self::IsNull { field: n, negated } => {
                let expr = Box::new(field(n)?);
                Ok(if *negated {
                    Expr::IsNotNull(expr)
                } else {
                    Expr::IsNull(expr)
                })
            }
            Self::And { filters } | Self::Or { filters } => {
                let parts = filters
                    .iter()
                    .map(|f| f.build(engine, field, depth + 1, leaves))
                    .collect::<Result<Vec<_>, _>>()?;
                let combined = if matches!(self, Self::And { .. }) {
                    sql::and_all(parts)
                } else {
                    sql::or_all(parts)
                };
                combined.ok_or_else(|| {
                    invalid(
                        "`and` / `or` needs at least one child in `filters`",
                        "Send one or more conditions, or leave the filter out",
                    )
                })
            }
            Self::Not { filter } => Ok(Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(Expr::Nested(Box::new(filter.build(
                    engine,
                    field,
                    depth + 1,
                    leaves,
                )?))),
            }),
        }
    }
}

fn invalid(message: &str, hint: &str) -> ToolError {
    ToolError::new(ErrorCode::InvalidArgument, message, hint)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
