//! Rules 3 and 4 inside expressions: the walker visits every
//! sub-expression of every kind it knows, hands column references to
//! `columns`, checks every function, operator and cast against the
//! engine's allow-lists (`functions`), and records column equalities for
//! the join check. An expression kind it does not know is refused, never
//! skipped: a construct the walker cannot see into could hide a column or
//! a table.

use sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArguments, ObjectName, OrderByExpr, OrderBySort, Query,
    Subscript, Value, WindowFrameBound, WindowSpec, WindowType,
};

use super::analyze::Analyzer;
use super::dialect::{name_idents, Flavor};
use super::functions;
use super::joins;
use super::refusal;
use super::scope::{BaseColumn, OutputColumn, RelationKind, Unit, UnitLabel};
use crate::error::{ErrorCode, ToolError};

/// How an expression uses a subquery's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `EXISTS (...)`: one boolean.
    Exists,
    /// A scalar subquery: at most one row (the server errors otherwise).
    Scalar,
    /// `IN (...)`, `ANY (...)`, `ARRAY(...)`: all of its rows.
    Rows,
}

impl Analyzer<'_, '_> {
    /// Walk an expression, checking rules 3 and 4.
    pub(crate) fn expr(&mut self, expr: &Expr) -> Result<(), ToolError> {
        match expr {
            Expr::Identifier(ident) => self.column_ref(std::slice::from_ref(ident)),
            Expr::CompoundIdentifier(idents) => self.column_ref(idents),
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.expr(root)?;
                for access in access_chain {
                    match access {
                        // A field name, not a column reference.
                        AccessExpr::Dot(Expr::Identifier(_)) => {}
                        AccessExpr::Dot(other) => self.expr(other)?,
                        AccessExpr::Subscript(Subscript::Index { index }) => self.expr(index)?,
                        AccessExpr::Subscript(Subscript::Slice {
                            lower_bound,
                            upper_bound,
                            stride,
                        }) => {
                            for e in [lower_bound, upper_bound, stride].into_iter().flatten() {
                                self.expr(e)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            Expr::IsFalse(e)
            | Expr::IsNotFalse(e)
            | Expr::IsTrue(e)
            | Expr::IsNotTrue(e)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::IsUnknown(e)
            | Expr::IsNotUnknown(e)
            | Expr::Nested(e) => self.expr(e),
            Expr::IsJson { expr, .. } | Expr::IsNormalized { expr, .. } => self.expr(expr),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => self.exprs([a, b]),
            Expr::InList { expr, list, .. } => {
                self.expr(expr)?;
                list.iter().try_for_each(|e| self.expr(e))
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr)?;
                let outputs = self.subquery(subquery, Use::Rows)?;
                if let (Some(left), [only]) = (self.lineage_of(expr), outputs.as_slice()) {
                    self.link(left, only.lineage.clone());
                }
                Ok(())
            }
            Expr::InUnnest {
                expr, array_expr, ..
            } => self.exprs([expr, array_expr]),
            Expr::Between {
                expr, low, high, ..
            } => self.exprs([expr, low, high]),
            Expr::BinaryOp { left, op, right } => {
                if !self.binary_operator_allowed(op) {
                    return Err(refusal::operator_not_allowed(&op.to_string()));
                }
                if self.aggregate_depth > 0 && functions::is_exponential_operator(op) {
                    self.gathered += 1;
                }
                self.exprs([left, right])?;
                if *op == BinaryOperator::Eq {
                    if let (Some(a), Some(b)) = (self.lineage_of(left), self.lineage_of(right)) {
                        self.out.equalities.push((a, b));
                    }
                }
                Ok(())
            }
            Expr::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                self.exprs([expr, pattern])?;
                escape_char.iter().try_for_each(|e| self.expr(e))
            }
            Expr::RLike { expr, pattern, .. } => self.exprs([expr, pattern]),
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                if !self.binary_operator_allowed(compare_op) {
                    return Err(refusal::operator_not_allowed(&compare_op.to_string()));
                }
                self.expr(left)?;
                self.set_expr(right)?;
                // `x = ANY (SELECT y ...)` and `x <> ALL (SELECT y ...)`
                // relate x and y like `x IN (...)` and `x NOT IN (...)`.
                let relating = match expr {
                    Expr::AnyOp { .. } => *compare_op == BinaryOperator::Eq,
                    _ => *compare_op == BinaryOperator::NotEq,
                };
                if relating {
                    if let (Some(a), Some(b)) = (self.lineage_of(left), self.set_lineage(right)) {
                        self.link(a, b);
                    }
                }
                Ok(())
            }
            Expr::UnaryOp { op, expr } => {
                if !functions::unary_operator_allowed(self.flavor, op) {
                    return Err(refusal::operator_not_allowed(&op.to_string()));
                }
                self.expr(expr)
            }
            Expr::Cast {
                expr,
                data_type,
                format,
                ..
            } => {
                if format.is_some() {
                    return Err(refusal::unsupported("`CAST ... FORMAT`"));
                }
                if !functions::cast_allowed(data_type) {
                    return Err(refusal::cast_not_allowed(&data_type.to_string()));
                }
                self.expr(expr)
            }
            Expr::TypedString(typed) => {
                if functions::cast_allowed(&typed.data_type) {
                    Ok(())
                } else {
                    Err(refusal::cast_not_allowed(&typed.data_type.to_string()))
                }
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.exprs([timestamp, time_zone]),
            Expr::Extract { expr, .. } | Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                self.expr(expr)
            }
            Expr::Position { expr, r#in } => self.exprs([expr, r#in]),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr)?;
                [substring_from, substring_for]
                    .into_iter()
                    .flatten()
                    .try_for_each(|e| self.expr(e))
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr)?;
                trim_what.iter().try_for_each(|e| self.expr(e))?;
                trim_characters
                    .iter()
                    .flatten()
                    .try_for_each(|e| self.expr(e))
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.exprs([expr, overlay_what, overlay_from])?;
                overlay_for.iter().try_for_each(|e| self.expr(e))
            }
            Expr::Collate { expr, .. } => self.expr(expr),
            Expr::Value(value) => match value.value {
                Value::Placeholder(_) => Err(refusal::unsupported("bind parameters such as `$1`")),
                _ => Ok(()),
            },
            Expr::Function(function) => self.function(function),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                operand.iter().try_for_each(|e| self.expr(e))?;
                for when in conditions {
                    self.expr(&when.condition)?;
                    self.expr(&when.result)?;
                }
                else_result.iter().try_for_each(|e| self.expr(e))
            }
            Expr::Exists { subquery, .. } => self.subquery(subquery, Use::Exists).map(|_| ()),
            Expr::Subquery(subquery) => self.subquery(subquery, Use::Scalar).map(|_| ()),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                sets.iter().flatten().try_for_each(|e| self.expr(e))
            }
            Expr::Tuple(exprs) => exprs.iter().try_for_each(|e| self.expr(e)),
            Expr::Array(array) => array.elem.iter().try_for_each(|e| self.expr(e)),
            Expr::Interval(interval) => self.expr(&interval.value),
            _ => Err(refusal::unsupported(&format!("the expression `{expr}`"))),
        }
    }

    pub(crate) fn exprs<const N: usize>(&mut self, exprs: [&Expr; N]) -> Result<(), ToolError> {
        exprs.into_iter().try_for_each(|e| self.expr(e))
    }

    /// The right side of `ANY` / `ALL`: a subquery there yields rows, not
    /// one value.
    fn set_expr(&mut self, expr: &Expr) -> Result<(), ToolError> {
        match expr {
            Expr::Subquery(query) => self.subquery(query, Use::Rows).map(|_| ()),
            Expr::Nested(inner) => self.set_expr(inner),
            other => self.expr(other),
        }
    }

    /// The base columns the elements of a set are copies of: a subquery's
    /// one output, or `ARRAY(SELECT ...)`'s.
    fn set_lineage(&self, expr: &Expr) -> Option<Vec<BaseColumn>> {
        let query = match expr {
            Expr::Nested(inner) => return self.set_lineage(inner),
            Expr::Subquery(query) => query,
            Expr::Function(Function {
                args: FunctionArguments::Subquery(query),
                ..
            }) => query,
            other => return self.lineage_of(other),
        };
        match self
            .subquery_outputs
            .get(&(&**query as *const Query as usize))?
            .as_slice()
        {
            [only] => Some(only.lineage.clone()),
            _ => None,
        }
    }

    /// Record that rows of `left` and `right` meet where they are equal:
    /// the pair must be approved, and it joins the two nodes.
    fn link(&mut self, left: Vec<BaseColumn>, right: Vec<BaseColumn>) {
        self.out.links.equate(&left, &right);
        self.out.equalities.push((left, right));
    }

    /// Analyse an expression subquery with the current scopes visible
    /// (correlation), remembering its outputs for IN / `=` lineage.
    ///
    /// Unless it is a constant for the enclosing SELECT (uncorrelated, and
    /// one value, one boolean, or one row of reduced values, with nothing
    /// that gathers many rows into one value), its nodes become a unit of that
    /// SELECT: its rows flow into the SELECT's rows, so approved joins must
    /// connect them like a FROM item.
    pub(crate) fn subquery(
        &mut self,
        query: &Query,
        usage: Use,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        let own = self.scopes.len();
        let start = self.out.nodes.len();
        let tracked = self.tracking(|a| a.query(query, usage == Use::Exists))?;
        let constant = !tracked.correlated(own)
            && match usage {
                Use::Exists => true,
                Use::Scalar => !tracked.gathers,
                Use::Rows => !tracked.gathers && joins::at_most_one_row(query),
            };
        let mut outputs = tracked.value;
        if constant {
            for column in &mut outputs {
                column.lineage.clear();
            }
        } else {
            let nodes = self.out.nodes[start..].to_vec();
            if let (false, Some(scope)) = (nodes.is_empty(), self.scopes.last_mut()) {
                scope.subqueries.push(Unit {
                    nodes,
                    label: UnitLabel::Subquery,
                });
            }
        }
        self.subquery_outputs
            .insert(query as *const Query as usize, outputs.clone());
        Ok(outputs)
    }

    /// Resolve a function name: plain, quoted, or `pg_catalog.`-qualified.
    pub(crate) fn function_name(&self, name: &ObjectName) -> Result<String, ToolError> {
        // Printed only for a refusal: most calls are allowed.
        let refused = || refusal::function_not_allowed(&name.to_string());
        let idents = name_idents(name).ok_or_else(refused)?;
        let resolved = match (self.flavor, idents.as_slice()) {
            (_, [only]) => self.flavor.fold(only),
            (Flavor::Postgres, [schema, only]) if self.flavor.fold(schema) == "pg_catalog" => {
                self.flavor.fold(only)
            }
            _ => return Err(refused()),
        };
        if functions::function_allowed(self.flavor, &resolved) {
            Ok(resolved)
        } else {
            Err(refused())
        }
    }

    pub(crate) fn function(&mut self, function: &Function) -> Result<(), ToolError> {
        let name = self.function_name(&function.name)?;
        if function.uses_odbc_syntax || !matches!(function.parameters, FunctionArguments::None) {
            return Err(refusal::unsupported("parametric or ODBC function syntax"));
        }
        if name == "max_pt" {
            self.max_pt_argument(&function.args)?;
        }
        if self.gathers_rows(function, &name) {
            self.gathered += 1;
        }
        // Inside an aggregate's arguments, exponential growth packs rows.
        let aggregate = functions::is_aggregate(&name);
        self.aggregate_depth += usize::from(aggregate);
        let arguments = self.function_arguments(function, &name);
        self.aggregate_depth -= usize::from(aggregate);
        arguments?;
        function
            .within_group
            .iter()
            .try_for_each(|i| self.order_item(i))?;
        if let Some(filter) = &function.filter {
            self.expr(filter)?;
        }
        match &function.over {
            Some(WindowType::WindowSpec(spec)) => self.window_spec(spec),
            Some(WindowType::NamedWindow(_)) | None => Ok(()),
        }
    }

    /// Whether a call gathers many rows into one value: `ARRAY(SELECT
    /// ...)`, an aggregate that builds a collection, percentiles of an
    /// array of fractions, or exponential growth inside an aggregate.
    fn gathers_rows(&self, function: &Function, name: &str) -> bool {
        let one_fraction = match &function.args {
            FunctionArguments::List(list) => matches!(
                list.args.as_slice(),
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))]
                    if matches!(v.value, Value::Number(..))
            ),
            _ => false,
        };
        matches!(function.args, FunctionArguments::Subquery(_))
            || functions::is_collection_aggregate(name)
            || (functions::is_per_fraction(name) && !one_fraction)
            || (self.aggregate_depth > 0 && functions::is_exponential(name))
    }

    /// A call's argument list and its clauses.
    fn function_arguments(&mut self, function: &Function, name: &str) -> Result<(), ToolError> {
        match &function.args {
            FunctionArguments::None => Ok(()),
            // `ARRAY(SELECT ...)`: every row of the subquery in one value.
            FunctionArguments::Subquery(query) => self.subquery(query, Use::Rows).map(|_| ()),
            FunctionArguments::List(list) => {
                for arg in &list.args {
                    self.function_arg(arg, name)?;
                }
                for clause in &list.clauses {
                    match clause {
                        FunctionArgumentClause::OrderBy(items) => {
                            items.iter().try_for_each(|i| self.order_item(i))?
                        }
                        FunctionArgumentClause::IgnoreOrRespectNulls(_) => {}
                        _ => return Err(refusal::unsupported("this function argument clause")),
                    }
                }
                Ok(())
            }
        }
    }

    /// One argument of a function call (scalar or in FROM).
    pub(crate) fn function_arg(
        &mut self,
        arg: &FunctionArg,
        function: &str,
    ) -> Result<(), ToolError> {
        let arg = match arg {
            FunctionArg::Unnamed(arg) | FunctionArg::Named { arg, .. } => arg,
            FunctionArg::ExprNamed { .. } => {
                return Err(refusal::unsupported("expression-named arguments"))
            }
        };
        match arg {
            FunctionArgExpr::Expr(expr) => self.expr(expr),
            FunctionArgExpr::Wildcard if function == "count" => Ok(()),
            FunctionArgExpr::QualifiedWildcard(name) => {
                let index = self.relation_by_name(name)?;
                let depth = self.scopes.len().saturating_sub(1);
                self.whole_row(depth, index).map_err(|e| {
                    match (function, e.code, self.relation_key(depth, index)) {
                        ("count", ErrorCode::SelectStarNotAllowed, Some(key)) => {
                            let column_rules = self.rules.has_column_rules(&key);
                            refusal::count_whole_row(&name.to_string(), &key, column_rules)
                        }
                        _ => e,
                    }
                })
            }
            _ => Err(refusal::unsupported(&format!(
                "`*` as an argument of `{function}`"
            ))),
        }
    }

    /// The policy key of a relation that is a table reference.
    fn relation_key(&self, depth: usize, index: usize) -> Option<String> {
        match self.scopes.get(depth)?.relations.get(index)?.kind {
            RelationKind::Base(id) => self.out.instances.get(id).map(|i| i.key.clone()),
            RelationKind::Derived(_) => None,
        }
    }

    /// Whether a binary operator is a built-in one the gate accepts or,
    /// on PostgreSQL, an `OPERATOR(schema.op)` that policy allows.
    fn binary_operator_allowed(&self, op: &BinaryOperator) -> bool {
        functions::binary_operator_allowed(self.flavor, op)
            || matches!(op, BinaryOperator::PGCustomBinaryOperator(parts)
                if self.policy_operator(parts.iter().cloned()))
    }

    /// Whether `parts` name, as `schema` and `symbol`, an operator that
    /// policy's `allowed_operators` lists (PostgreSQL only). The parts are
    /// the parser's token text, so a quoted schema never matches the plain
    /// lower-case name policy holds.
    fn policy_operator(&self, parts: impl Iterator<Item = String>) -> bool {
        let parts: Vec<String> = parts.collect();
        let [schema, symbol] = parts.as_slice() else {
            return false;
        };
        self.flavor == Flavor::Postgres && self.rules.security.operator_allowed(schema, symbol)
    }

    /// One ORDER BY item of an aggregate, WITHIN GROUP or window: its
    /// expression and its `USING` operator, which calls a function.
    pub(crate) fn order_item(&mut self, item: &OrderByExpr) -> Result<(), ToolError> {
        self.sort_operator(item)?;
        self.expr(&item.expr)
    }

    /// Rule 3 for `ORDER BY ... USING op`, in every position.
    pub(crate) fn sort_operator(&self, item: &OrderByExpr) -> Result<(), ToolError> {
        match &item.options.sort {
            Some(OrderBySort::Using(op))
                if !functions::ordering_operator_allowed(self.flavor, op)
                    && !self.policy_operator(op.0.iter().map(|p| p.to_string())) =>
            {
                Err(refusal::operator_not_allowed(&op.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// A window's keys: partitioning and ordering both put rows with equal
    /// keys side by side, for the window function to combine
    /// ([`Self::relate_by_key`]).
    pub(crate) fn window_spec(&mut self, spec: &WindowSpec) -> Result<(), ToolError> {
        for key in &spec.partition_by {
            self.expr(key)?;
            self.relate_by_key(&self.lineage_of(key).unwrap_or_default());
        }
        for item in &spec.order_by {
            self.order_item(item)?;
            self.relate_by_key(&self.lineage_of(&item.expr).unwrap_or_default());
        }
        if let Some(frame) = &spec.window_frame {
            for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
                if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) =
                    bound
                {
                    self.expr(e)?;
                }
            }
        }
        Ok(())
    }

    /// MaxCompute's `MAX_PT('project.table')` names a table in a string:
    /// it must be a literal naming an allowed table.
    fn max_pt_argument(&self, args: &FunctionArguments) -> Result<(), ToolError> {
        let FunctionArguments::List(list) = args else {
            return Err(refusal::unsupported("`MAX_PT` without a table name"));
        };
        let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(value)))] =
            list.args.as_slice()
        else {
            return Err(refusal::unsupported(
                "`MAX_PT` with anything but one table-name literal",
            ));
        };
        let Value::SingleQuotedString(table) = &value.value else {
            return Err(refusal::unsupported(
                "`MAX_PT` with anything but one table-name literal",
            ));
        };
        let key = if table.contains('.') {
            self.rules.normalize_key(table)
        } else {
            self.rules
                .normalize_key(&format!("{}.{table}", self.rules.default_namespace))
        };
        if self.rules.table(&key).is_none() {
            return Err(refusal::table_not_allowed(&key, &self.allowed_tables()));
        }
        Ok(())
    }
}
