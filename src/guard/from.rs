//! Rule 2: the FROM clause. Binds every FROM item to a name in the
//! current scope: policy tables (qualified, classified, allowed), CTE
//! references, derived tables (LATERAL or not), table functions and joins
//! with their ON / USING / NATURAL conditions.
//!
//! It records table instances for the rewrite and join checks; it does not
//! decide about joins itself (see `joins`).

use sqlparser::ast::{
    FunctionArg, Ident, Join, JoinConstraint, JoinOperator, ObjectName, TableAlias, TableFactor,
    TableWithJoins,
};

use super::analyze::Analyzer;
use super::dialect::name_idents;
use super::predicates::Implied;
use super::refusal;
use super::scope::{rename, Instance, OutputColumn, Relation, RelationKind};
use crate::error::ToolError;

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
        let constraint = match &join.join_operator {
            JoinOperator::Join(c)
            | JoinOperator::Inner(c)
            | JoinOperator::Left(c)
            | JoinOperator::LeftOuter(c)
            | JoinOperator::Right(c)
            | JoinOperator::RightOuter(c)
            | JoinOperator::FullOuter(c)
            | JoinOperator::CrossJoin(c) => c,
            _ => return Err(refusal::unsupported("this kind of join")),
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
                        || sample.is_some()
                        || !index_hints.is_empty()
                        || *with_ordinality
                    {
                        return Err(refusal::unsupported(
                            "table hints, samples, versions or partition lists",
                        ));
                    }
                    self.named_table(name, alias.as_ref())?
                }
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return Err(refusal::unsupported("`TABLESAMPLE`"));
                }
                let start = self.out.instances.len();
                let outputs = if *lateral {
                    self.query(subquery, false)?
                } else {
                    // A plain derived table cannot see its FROM siblings.
                    let partial = self.scopes.pop().unwrap_or_default();
                    let outputs = self.query(subquery, false);
                    self.scopes.push(partial);
                    outputs?
                };
                let renames = alias
                    .as_ref()
                    .map(|a| self.alias_columns(a))
                    .unwrap_or_default();
                Relation {
                    name: alias
                        .as_ref()
                        .map(|a| self.flavor.fold(&a.name))
                        .unwrap_or_default(),
                    kind: RelationKind::Derived(rename(outputs, &renames)),
                    instances: (start..self.out.instances.len()).collect(),
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
                let renames = alias.map(|a| self.alias_columns(a)).unwrap_or_default();
                return Ok(Relation {
                    name: alias.map(|a| self.flavor.fold(&a.name)).unwrap_or(cte.name),
                    kind: RelationKind::Derived(rename(cte.columns, &renames)),
                    instances: cte.instances,
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
        Ok(Relation {
            name: binding,
            kind: RelationKind::Base(id),
            instances: vec![id],
        })
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
