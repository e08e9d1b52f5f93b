//! Rule 2: the FROM clause. Binds every FROM item to a name in the
//! current scope: policy tables (qualified, classified, allowed), CTE
//! references, derived tables (LATERAL or not), table functions and joins
//! with their ON / USING / NATURAL conditions.
//!
//! It records table instances for the rewrite and join checks; it does not
//! decide about joins itself (see `joins`).

use std::collections::HashMap;

use sqlparser::ast::{
    Expr, FunctionArg, Ident, Join, JoinConstraint, JoinOperator, ObjectName, TableAlias,
    TableFactor, TableSampleKind, TableSampleMethod, TableSampleModifier, TableSampleSeedModifier,
    TableWithJoins, Value,
};

use super::analyze::Analyzer;
use super::dialect::{name_idents, Flavor};
use super::joins;
use super::predicates::Implied;
use super::refusal;
use super::scope::{
    rename, Instance, InstanceId, OutputColumn, Relation, RelationKind, UnitLabel, COPY_BASE,
};
use crate::error::ToolError;

/// A constant relation's columns are values, not copies of base columns:
/// comparing with them relates no rows.
fn constant_outputs(columns: &mut [OutputColumn]) {
    for column in columns {
        column.lineage.clear();
    }
}

impl<'a> Analyzer<'_, 'a> {
    pub(crate) fn table_with_joins(
        &mut self,
        table: &TableWithJoins,
        implied: &mut Implied,
    ) -> Result<(), ToolError> {
        self.table_factor(&table.relation, implied)?;
        for join in &table.joins {
            self.join(join, implied)?;
        }
        Ok(())
    }

    pub(crate) fn join(&mut self, join: &Join, implied: &mut Implied) -> Result<(), ToolError> {
        if join.global {
            return Err(refusal::unsupported("`GLOBAL JOIN`"));
        }
        let Some(constraint) = supported_constraint(&join.join_operator) else {
            return Err(refusal::unsupported("this kind of join"));
        };
        let left_count = self.current_scope_len();
        self.table_factor(&join.relation, implied)?;
        match constraint {
            JoinConstraint::On(expr) => {
                self.expr(expr)?;
                implied.extend(self.implied(expr));
            }
            JoinConstraint::Using(names) => {
                let mut columns = Vec::new();
                for name in names {
                    let idents =
                        name_idents(name).ok_or_else(|| refusal::unsupported("computed names"))?;
                    let [ident] = idents.as_slice() else {
                        return Err(refusal::unsupported("qualified names in `USING`"));
                    };
                    columns.push(self.flavor.fold(ident));
                }
                self.join_columns(left_count, &columns, implied)?;
            }
            JoinConstraint::Natural => {
                let common = self.common_columns(left_count);
                self.join_columns(left_count, &common, implied)?;
            }
            JoinConstraint::None => {}
        }
        Ok(())
    }

    pub(crate) fn table_factor(
        &mut self,
        factor: &TableFactor,
        implied: &mut Implied,
    ) -> Result<(), ToolError> {
        let relation = match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if let Some(args) = args {
                    if args.settings.is_some() {
                        return Err(refusal::unsupported("table function settings"));
                    }
                    self.table_function(name, &args.args, alias.as_ref(), *with_ordinality)?
                } else {
                    if !with_hints.is_empty()
                        || version.is_some()
                        || !partitions.is_empty()
                        || json_path.is_some()
                        || !index_hints.is_empty()
                        || *with_ordinality
                    {
                        return Err(refusal::unsupported(
                            "table hints, versions or partition lists",
                        ));
                    }
                    let relation = self.named_table(name, alias.as_ref())?;
                    if let Some(sample) = sample {
                        self.table_sample(sample, &relation)?;
                    }
                    relation
                }
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return Err(refusal::tablesample_derived());
                }
                let start = self.out.nodes.len();
                let base = self.scopes.len();
                let tracked = if *lateral {
                    self.tracking(|a| a.query(subquery, false))?
                } else {
                    // A plain derived table cannot see its FROM siblings.
                    let partial = self.scopes.pop().unwrap_or_default();
                    let walked = self.tracking(|a| a.query(subquery, false));
                    self.scopes.push(partial);
                    walked?
                };
                let renames = alias
                    .as_ref()
                    .map(|a| self.alias_columns(a))
                    .unwrap_or_default();
                let name = alias
                    .as_ref()
                    .map(|a| self.flavor.fold(&a.name))
                    .unwrap_or_default();
                // The derived table's own scope sits at `own`; a reference
                // below it is correlated, and a correlated piece varies per
                // row: never constant.
                let own = if *lateral {
                    base
                } else {
                    base.saturating_sub(1)
                };
                let constant = !tracked.correlated(own)
                    && !tracked.gathers
                    && joins::at_most_one_row(subquery);
                let mut outputs = rename(tracked.value, &renames);
                let instances = if constant {
                    constant_outputs(&mut outputs);
                    Vec::new()
                } else {
                    self.out.nodes[start..].to_vec()
                };
                Relation {
                    label: UnitLabel::Derived(name.clone()),
                    name,
                    kind: RelationKind::Derived(outputs),
                    instances,
                }
            }
            TableFactor::Function {
                lateral: _,
                name,
                args,
                with_ordinality,
                alias,
            } => self.table_function(name, args, alias.as_ref(), *with_ordinality)?,
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_offset_alias: _,
                with_ordinality,
            } => {
                if *with_offset {
                    return Err(refusal::unsupported("`UNNEST ... WITH OFFSET`"));
                }
                if !super::functions::function_allowed(self.flavor, "unnest") {
                    return Err(refusal::function_not_allowed("unnest"));
                }
                for expr in array_exprs {
                    self.expr(expr)?;
                }
                self.function_relation("unnest", alias.as_ref(), *with_ordinality)
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => {
                return self.table_with_joins(table_with_joins, implied);
            }
            _ => return Err(refusal::unsupported("this kind of FROM item")),
        };
        self.push_relation(relation);
        Ok(())
    }

    /// `TABLESAMPLE` is honoured only where the rendered query keeps it on
    /// the table: PostgreSQL's two built-in methods with literal
    /// arguments, on a table the rewrite leaves a plain table (no row
    /// policy, column rule or default partition makes it a derived table).
    fn table_sample(&self, sample: &TableSampleKind, relation: &Relation) -> Result<(), ToolError> {
        let RelationKind::Base(id) = relation.kind else {
            return Err(refusal::tablesample_derived());
        };
        let key = self.out.instances[id].key.as_str();
        let TableSampleKind::AfterTableAlias(sample) = sample else {
            return Err(refusal::tablesample(
                key,
                "it must follow the table's alias",
            ));
        };
        let number = |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, Value::Number(..)));
        let plain = self.flavor == Flavor::Postgres
            && sample.modifier == TableSampleModifier::TableSample
            && matches!(
                sample.name,
                Some(TableSampleMethod::Bernoulli | TableSampleMethod::System)
            )
            && sample
                .quantity
                .as_ref()
                .is_some_and(|q| q.parenthesized && q.unit.is_none() && number(&q.value))
            && sample.seed.as_ref().is_none_or(|s| {
                s.modifier == TableSampleSeedModifier::Repeatable
                    && matches!(s.value.value, Value::Number(..))
            })
            && sample.bucket.is_none()
            && sample.offset.is_none();
        if !plain {
            return Err(refusal::tablesample(
                key,
                "only PostgreSQL's `TABLESAMPLE BERNOULLI (p)` or `SYSTEM (p)` with a numeric literal, optionally `REPEATABLE (seed)`, is accepted",
            ));
        }
        let wrapped = !self.rules.row_policies(key).is_empty()
            || self.rules.has_column_rules(key)
            || self
                .rules
                .table(key)
                .is_some_and(|t| t.default_partition.is_some());
        if wrapped {
            return Err(refusal::tablesample(
                key,
                "its row policies, column rules or default partition are applied by replacing it with a filtered derived table, which PostgreSQL cannot sample",
            ));
        }
        Ok(())
    }

    pub(crate) fn push_relation(&mut self, relation: Relation) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.relations.push(relation);
        }
    }

    pub(crate) fn table_function(
        &mut self,
        name: &ObjectName,
        args: &[FunctionArg],
        alias: Option<&TableAlias>,
        ordinality: bool,
    ) -> Result<Relation, ToolError> {
        let function = self.function_name(name)?;
        for arg in args {
            self.function_arg(arg, &function)?;
        }
        Ok(self.function_relation(&function, alias, ordinality))
    }

    pub(crate) fn function_relation(
        &self,
        function: &str,
        alias: Option<&TableAlias>,
        ordinality: bool,
    ) -> Relation {
        let name = alias
            .map(|a| self.flavor.fold(&a.name))
            .unwrap_or_else(|| function.to_string());
        let mut columns: Vec<String> = alias.map(|a| self.alias_columns(a)).unwrap_or_default();
        if columns.is_empty() {
            columns.push(name.clone());
        }
        if ordinality {
            columns.push("ordinality".into());
        }
        Relation {
            label: UnitLabel::Function(name.clone()),
            name,
            kind: RelationKind::Derived(
                columns
                    .into_iter()
                    .map(|name| OutputColumn {
                        name,
                        lineage: Vec::new(),
                    })
                    .collect(),
            ),
            instances: Vec::new(),
        }
    }

    pub(crate) fn alias_columns(&self, alias: &TableAlias) -> Vec<String> {
        alias
            .columns
            .iter()
            .map(|c| self.flavor.fold(&c.name))
            .collect()
    }

    /// A table name in FROM: a visible CTE, or a policy table.
    pub(crate) fn named_table(
        &mut self,
        name: &ObjectName,
        alias: Option<&TableAlias>,
    ) -> Result<Relation, ToolError> {
        let idents =
            name_idents(name).ok_or_else(|| refusal::unsupported("computed table names"))?;
        let folded: Vec<String> = idents.iter().map(|i| self.flavor.fold(i)).collect();
        if let [single] = folded.as_slice() {
            if let Some(cte) = self.ctes.iter().rev().find(|c| &c.name == single).cloned() {
                // PostgreSQL may expand it here, its levels below this one.
                self.deepest = self.deepest.max(self.level + cte.depth);
                let renames = alias.map(|a| self.alias_columns(a)).unwrap_or_default();
                let name = alias.map(|a| self.flavor.fold(&a.name)).unwrap_or(cte.name);
                let mut columns = rename(cte.columns, &renames);
                if cte.gathers {
                    self.gathered += 1;
                }
                let instances = if cte.constant {
                    constant_outputs(&mut columns);
                    Vec::new()
                } else {
                    self.copy_nodes(&cte.instances, &mut columns)
                };
                return Ok(Relation {
                    label: UnitLabel::Cte(name.clone()),
                    name,
                    kind: RelationKind::Derived(columns),
                    instances,
                });
            }
        }
        let Some(first) = idents.first() else {
            return Err(refusal::unsupported("empty table names"));
        };
        let instance = self.resolve_table(&folded, first, alias)?;
        let id = self.out.instances.len();
        let binding = instance.binding.clone();
        self.out.instances.push(instance);
        self.out.nodes.push(id);
        Ok(Relation {
            label: UnitLabel::Table(binding.clone()),
            name: binding,
            kind: RelationKind::Base(id),
            instances: vec![id],
        })
    }

    /// Fresh copies of a CTE's nodes for one reference to it, with the
    /// columns' lineage moved onto them: each reference is its own node,
    /// so two references combined need a join like two tables do.
    pub(crate) fn copy_nodes(
        &mut self,
        nodes: &[InstanceId],
        columns: &mut [OutputColumn],
    ) -> Vec<InstanceId> {
        let mut fresh = HashMap::new();
        for node in nodes {
            let copy = COPY_BASE + self.out.copies.len();
            self.out.copies.push(self.out.instance_of(*node));
            self.out.nodes.push(copy);
            fresh.insert(*node, copy);
        }
        for column in columns.iter_mut() {
            for base in &mut column.lineage {
                if let Some(copy) = fresh.get(&base.instance) {
                    base.instance = *copy;
                }
            }
        }
        nodes.iter().filter_map(|n| fresh.get(n).copied()).collect()
    }

    /// Qualify, classify and allow a table name (rule 2).
    pub(crate) fn resolve_table(
        &self,
        folded: &[String],
        first: &Ident,
        alias: Option<&TableAlias>,
    ) -> Result<Instance, ToolError> {
        let shown = folded.join(".");
        if folded.len() > self.flavor.max_table_parts() {
            return Err(refusal::table_not_allowed(&shown, &self.allowed_tables()));
        }
        let parts: Vec<String> = if folded.len() == 1 {
            if self.flavor.is_system_relation_name(&folded[0]) {
                return Err(refusal::system_schema(&shown));
            }
            vec![
                self.flavor.fold_str(self.rules.default_namespace),
                folded[0].clone(),
            ]
        } else {
            folded.to_vec()
        };
        if self.flavor.is_system_namespace(&parts[0]) {
            return Err(refusal::system_schema(&shown));
        }
        let key = self.rules.normalize_key(&parts.join("."));
        if self.rules.table(&key).is_none() {
            return Err(refusal::table_not_allowed(&key, &self.allowed_tables()));
        }
        if alias.is_some_and(|a| !a.columns.is_empty()) {
            return Err(refusal::unsupported(
                "column aliases on a table (`AS t(a, b)`); alias columns in the select list",
            ));
        }
        let columns = match self.facts {
            Some(facts) => facts
                .columns
                .get(&key)
                .cloned()
                .ok_or_else(|| ToolError::internal(format!("no column facts for `{key}`")))?,
            None => Vec::new(),
        };
        let table_name = parts.last().cloned().unwrap_or_default();
        Ok(Instance {
            binding: alias
                .map(|a| self.flavor.fold(&a.name))
                .unwrap_or(table_name),
            key,
            parts,
            position: (first.span.start.line, first.span.start.column),
            columns,
        })
    }

    pub(crate) fn allowed_tables(&self) -> Vec<&'a str> {
        self.rules.tables().into_iter().map(|(k, _)| k).collect()
    }
}

/// The constraint of a join kind the gate supports (inner, outer and cross
/// joins); `None` for every other kind.
pub(crate) fn supported_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c) => Some(c),
        _ => None,
    }
}
