//! Rules 3 and 4 inside expressions: every column reference is resolved
//! against the scopes and allowed, every function and operator is on the
//! engine's allow-list, every cast goes to a standard type.
//!
//! Also derives what predicates guarantee ([`Implied`]): column-to-column
//! equalities (for approved joins) and column-to-constant comparisons (for
//! partition filters), through AND (union) and OR (intersection).

use std::collections::BTreeSet;

use sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentClause, FunctionArguments, Ident, ObjectName, Query, Subscript, Value,
    WindowFrameBound, WindowSpec, WindowType,
};

use super::analyze::Analyzer;
use super::dialect::{name_idents, Flavor};
use super::functions;
use super::refusal;
use super::scope::{BaseColumn, RelationKind};
use crate::error::ToolError;

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
    fn intersect(self, other: Implied) -> Implied {
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

    fn equate(&mut self, left: &[BaseColumn], right: &[BaseColumn]) {
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

/// How a column reference resolved, before any policy check.
enum Lookup {
    /// Columns (several only when ambiguous), at scope `depth`.
    Column {
        depth: usize,
        direct: Vec<BaseColumn>,
        lineage: Vec<BaseColumn>,
    },
    /// A whole-row reference to relation `relation` at scope `depth`.
    WholeRow { depth: usize, relation: usize },
    /// Nothing of that name is in scope.
    Missing,
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
                let outputs = self.subquery(subquery, false)?;
                if let (Some(left), [only]) = (self.lineage_of(expr), outputs.as_slice()) {
                    self.out.equalities.push((left, only.lineage.clone()));
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
                if !functions::binary_operator_allowed(op) {
                    return Err(refusal::function_not_allowed(&format!("operator {op}")));
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
                if !functions::binary_operator_allowed(compare_op) {
                    return Err(refusal::function_not_allowed(&format!(
                        "operator {compare_op}"
                    )));
                }
                self.exprs([left, right])
            }
            Expr::UnaryOp { op, expr } => {
                if !functions::unary_operator_allowed(op) {
                    return Err(refusal::function_not_allowed(&format!("operator {op}")));
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
            Expr::Exists { subquery, .. } => self.subquery(subquery, true).map(|_| ()),
            Expr::Subquery(subquery) => self.subquery(subquery, false).map(|_| ()),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                sets.iter().flatten().try_for_each(|e| self.expr(e))
            }
            Expr::Tuple(exprs) => exprs.iter().try_for_each(|e| self.expr(e)),
            Expr::Array(array) => array.elem.iter().try_for_each(|e| self.expr(e)),
            Expr::Interval(interval) => self.expr(&interval.value),
            _ => Err(refusal::unsupported(&format!("the expression `{expr}`"))),
        }
    }

    fn exprs<const N: usize>(&mut self, exprs: [&Expr; N]) -> Result<(), ToolError> {
        exprs.into_iter().try_for_each(|e| self.expr(e))
    }

    /// Analyse an expression subquery with the current scopes visible
    /// (correlation), remembering its outputs for IN / `=` lineage.
    fn subquery(
        &mut self,
        query: &Query,
        exists: bool,
    ) -> Result<Vec<super::scope::OutputColumn>, ToolError> {
        let outputs = self.query(query, exists)?;
        self.subquery_outputs
            .insert(query as *const Query as usize, outputs.clone());
        Ok(outputs)
    }

    /// Resolve a function name: plain, quoted, or `pg_catalog.`-qualified.
    pub(crate) fn function_name(&self, name: &ObjectName) -> Result<String, ToolError> {
        let shown = name.to_string();
        let idents = name_idents(name).ok_or_else(|| refusal::function_not_allowed(&shown))?;
        let resolved = match (self.flavor, idents.as_slice()) {
            (_, [only]) => self.flavor.fold(only),
            (Flavor::Postgres, [schema, only]) if self.flavor.fold(schema) == "pg_catalog" => {
                self.flavor.fold(only)
            }
            _ => return Err(refusal::function_not_allowed(&shown)),
        };
        if functions::function_allowed(self.flavor, &resolved) {
            Ok(resolved)
        } else {
            Err(refusal::function_not_allowed(&shown))
        }
    }

    fn function(&mut self, function: &Function) -> Result<(), ToolError> {
        let name = self.function_name(&function.name)?;
        if function.uses_odbc_syntax || !matches!(function.parameters, FunctionArguments::None) {
            return Err(refusal::unsupported("parametric or ODBC function syntax"));
        }
        match &function.args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(query) => {
                self.subquery(query, false)?;
            }
            FunctionArguments::List(list) => {
                for arg in &list.args {
                    self.function_arg(arg, &name)?;
                }
                for clause in &list.clauses {
                    match clause {
                        FunctionArgumentClause::OrderBy(items) => {
                            items.iter().try_for_each(|i| self.expr(&i.expr))?
                        }
                        FunctionArgumentClause::IgnoreOrRespectNulls(_) => {}
                        _ => return Err(refusal::unsupported("this function argument clause")),
                    }
                }
            }
        }
        function
            .within_group
            .iter()
            .try_for_each(|i| self.expr(&i.expr))?;
        if let Some(filter) = &function.filter {
            self.expr(filter)?;
        }
        match &function.over {
            Some(WindowType::WindowSpec(spec)) => self.window_spec(spec),
            Some(WindowType::NamedWindow(_)) | None => Ok(()),
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
                let depth = self.scopes.len() - 1;
                self.whole_row(depth, index)
            }
            _ => Err(refusal::unsupported(&format!(
                "`*` as an argument of `{function}`"
            ))),
        }
    }

    pub(crate) fn window_spec(&mut self, spec: &WindowSpec) -> Result<(), ToolError> {
        spec.partition_by.iter().try_for_each(|e| self.expr(e))?;
        spec.order_by.iter().try_for_each(|i| self.expr(&i.expr))?;
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

    /// A column reference: resolve, allow, record.
    fn column_ref(&mut self, idents: &[Ident]) -> Result<(), ToolError> {
        match self.lookup(idents)? {
            Lookup::Column {
                depth,
                direct,
                lineage,
            } => {
                for column in &direct {
                    self.allow_column(column)?;
                }
                self.note_outer(depth, &lineage);
                Ok(())
            }
            Lookup::WholeRow { depth, relation } => self.whole_row(depth, relation),
            Lookup::Missing if self.facts.is_none() => Ok(()),
            Lookup::Missing => {
                let shown = idents
                    .iter()
                    .map(|i| self.flavor.fold(i))
                    .collect::<Vec<_>>()
                    .join(".");
                Err(refusal::unknown_column(&shown, &self.allowed_in_scope()))
            }
        }
    }

    /// A reference to a whole row (`c`, `c.*` in a call): refused where `*`
    /// would be, since it carries every column.
    fn whole_row(&mut self, depth: usize, relation: usize) -> Result<(), ToolError> {
        if self.facts.is_none() {
            return Ok(());
        }
        let Some(relation) = self
            .scopes
            .get(depth)
            .and_then(|s| s.relations.get(relation))
            .cloned()
        else {
            return Err(ToolError::internal(
                "whole-row reference to a missing relation",
            ));
        };
        if let RelationKind::Base(id) = relation.kind {
            let key = self.out.instances[id].key.clone();
            if self.rules.security.ban_select_star || self.rules.has_column_rules(&key) {
                return Err(refusal::select_star(&key));
            }
            for column in self.out.instances[id].columns.clone() {
                self.out.columns_used.insert(format!("{key}.{column}"));
            }
            self.note_outer(
                depth,
                &[BaseColumn {
                    instance: id,
                    column: String::new(),
                }],
            );
        }
        Ok(())
    }

    fn allow_column(&mut self, column: &BaseColumn) -> Result<(), ToolError> {
        let instance = &self.out.instances[column.instance];
        if !self.rules.column_allowed(&instance.key, &column.column) {
            let allowed: Vec<&str> = instance
                .columns
                .iter()
                .filter(|c| self.rules.column_allowed(&instance.key, c))
                .map(String::as_str)
                .collect();
            return Err(refusal::column_not_allowed(
                &instance.key,
                &column.column,
                &allowed,
            ));
        }
        self.out
            .columns_used
            .insert(format!("{}.{}", instance.key, column.column));
        Ok(())
    }

    /// Record that the current SELECT refers to instances of an outer one.
    fn note_outer(&mut self, depth: usize, lineage: &[BaseColumn]) {
        let top = self.scopes.len().saturating_sub(1);
        if depth < top {
            if let Some(scope) = self.scopes.last_mut() {
                scope.outer_refs.extend(lineage.iter().map(|c| c.instance));
            }
        }
    }

    fn allowed_in_scope(&self) -> Vec<&str> {
        let mut names = Vec::new();
        for scope in &self.scopes {
            for relation in &scope.relations {
                match &relation.kind {
                    RelationKind::Base(id) => {
                        let instance = &self.out.instances[*id];
                        names.extend(
                            instance
                                .columns
                                .iter()
                                .filter(|c| self.rules.column_allowed(&instance.key, c))
                                .map(String::as_str),
                        );
                    }
                    RelationKind::Derived(columns) => {
                        names.extend(columns.iter().map(|c| c.name.as_str()))
                    }
                }
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Resolve a column reference without checking or recording anything.
    fn lookup(&self, idents: &[Ident]) -> Result<Lookup, ToolError> {
        let (qualifier, column) = match idents {
            [column] => (None, self.flavor.fold(column)),
            [table, column] => (Some(self.flavor.fold(table)), self.flavor.fold(column)),
            _ => return Err(refusal::unsupported(
                "column references with more than two parts; qualify columns with the table alias",
            )),
        };
        for depth in (0..self.scopes.len()).rev() {
            let scope = &self.scopes[depth];
            let mut direct = Vec::new();
            let mut lineage = Vec::new();
            let mut found = false;
            for relation in &scope.relations {
                if qualifier.as_ref().is_some_and(|q| *q != relation.name) {
                    continue;
                }
                match &relation.kind {
                    RelationKind::Base(id) => {
                        let instance = &self.out.instances[*id];
                        if let Some(real) = instance
                            .columns
                            .iter()
                            .find(|c| self.rules.same_name(c, &column))
                        {
                            let base = BaseColumn {
                                instance: *id,
                                column: real.clone(),
                            };
                            direct.push(base.clone());
                            lineage.push(base);
                            found = true;
                        }
                    }
                    RelationKind::Derived(columns) => {
                        for output in columns.iter().filter(|c| c.name == column) {
                            lineage.extend(output.lineage.iter().cloned());
                            found = true;
                        }
                    }
                }
            }
            if found {
                return Ok(Lookup::Column {
                    depth,
                    direct,
                    lineage,
                });
            }
            if qualifier.is_none() {
                if let Some(relation) = scope.relations.iter().position(|r| r.name == column) {
                    return Ok(Lookup::WholeRow { depth, relation });
                }
            }
        }
        Ok(Lookup::Missing)
    }

    /// Whether a bare name is a column of the current FROM clause.
    pub(crate) fn is_input_column(&self, ident: &Ident) -> bool {
        let top = self.scopes.len().saturating_sub(1);
        matches!(self.lookup(std::slice::from_ref(ident)), Ok(Lookup::Column { depth, .. }) if depth == top)
    }

    /// The base columns an expression is a plain copy of, or `None` when it
    /// is not a column reference.
    pub(crate) fn lineage_of(&self, expr: &Expr) -> Option<Vec<BaseColumn>> {
        match expr {
            Expr::Identifier(ident) => self.lineage_of_ref(std::slice::from_ref(ident)),
            Expr::CompoundIdentifier(idents) => self.lineage_of_ref(idents),
            Expr::Nested(inner) => self.lineage_of(inner),
            Expr::Subquery(query) => match self
                .subquery_outputs
                .get(&(&**query as *const Query as usize))?
                .as_slice()
            {
                [only] => Some(only.lineage.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    fn lineage_of_ref(&self, idents: &[Ident]) -> Option<Vec<BaseColumn>> {
        match self.lookup(idents).ok()? {
            Lookup::Column { lineage, .. } => Some(lineage),
            _ => None,
        }
    }

    /// The name PostgreSQL gives an unaliased select-list expression.
    pub(crate) fn output_name(&self, expr: &Expr) -> String {
        match expr {
            Expr::Identifier(ident) => self.flavor.fold(ident),
            Expr::CompoundIdentifier(idents) => idents
                .last()
                .map(|i| self.flavor.fold(i))
                .unwrap_or_default(),
            Expr::Function(f) => f
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| self.flavor.fold(i))
                .unwrap_or_default(),
            Expr::Cast { expr, .. } | Expr::Nested(expr) => self.output_name(expr),
            _ => "?column?".into(),
        }
    }

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

    /// USING / NATURAL: equate same-named columns of the left relations and
    /// the newly joined one; both sides are column references to check.
    pub(crate) fn join_columns(
        &mut self,
        left_count: usize,
        columns: &[String],
        implied: &mut Implied,
    ) -> Result<(), ToolError> {
        for column in columns {
            let ident = Ident::new(column.clone());
            let mut sides = Vec::new();
            for range in [0..left_count, left_count..self.current_relations()] {
                let lineage = self.side_lineage(range, column)?;
                sides.push(lineage);
            }
            if self.facts.is_none() {
                continue;
            }
            if sides.iter().any(Vec::is_empty) && sides.iter().all(|s| s.is_empty()) {
                return Err(refusal::unknown_column(
                    &ident.value,
                    &self.allowed_in_scope(),
                ));
            }
            implied.equate(&sides[0], &sides[1]);
            self.out
                .equalities
                .push((sides[0].clone(), sides[1].clone()));
        }
        Ok(())
    }

    fn current_relations(&self) -> usize {
        self.scopes.last().map_or(0, |s| s.relations.len())
    }

    /// The (checked) lineage of `column` in some relations of the current scope.
    fn side_lineage(
        &mut self,
        range: std::ops::Range<usize>,
        column: &str,
    ) -> Result<Vec<BaseColumn>, ToolError> {
        let mut lineage = Vec::new();
        let relations: Vec<_> = self
            .scopes
            .last()
            .map(|s| s.relations[range].to_vec())
            .unwrap_or_default();
        for relation in relations {
            match &relation.kind {
                RelationKind::Base(id) => {
                    let real = self.out.instances[*id]
                        .columns
                        .iter()
                        .find(|c| self.rules.same_name(c, column))
                        .cloned();
                    if let Some(real) = real {
                        let base = BaseColumn {
                            instance: *id,
                            column: real,
                        };
                        self.allow_column(&base)?;
                        lineage.push(base);
                    }
                }
                RelationKind::Derived(columns) => {
                    for output in columns.iter().filter(|c| c.name == column) {
                        lineage.extend(output.lineage.iter().cloned());
                    }
                }
            }
        }
        Ok(lineage)
    }

    /// Column names shared by the left relations and the new one (NATURAL).
    pub(crate) fn common_columns(&self, left_count: usize) -> Vec<String> {
        let Some(scope) = self.scopes.last() else {
            return Vec::new();
        };
        let names = |relation: &super::scope::Relation| -> Vec<String> {
            match &relation.kind {
                RelationKind::Base(id) => self.out.instances[*id]
                    .columns
                    .iter()
                    .map(|c| self.flavor.fold_str(c))
                    .collect(),
                RelationKind::Derived(columns) => columns.iter().map(|c| c.name.clone()).collect(),
            }
        };
        let left: BTreeSet<String> = scope.relations[..left_count]
            .iter()
            .flat_map(names)
            .collect();
        scope.relations[left_count..]
            .iter()
            .flat_map(names)
            .filter(|n| left.contains(n))
            .collect()
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
