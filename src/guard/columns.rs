//! Rule 4: column references. Resolves a name against the scope stack
//! (innermost first, as PostgreSQL does), checks base columns against the
//! policy, refuses whole-row references where `*` would be refused, and
//! tracks correlation and column lineage.
//!
//! It does not walk expressions (see `exprs`); it answers "what is this
//! name" and "may it be read".

use std::collections::BTreeSet;

use sqlparser::ast::{Expr, Ident, Query};

use super::analyze::Analyzer;
use super::predicates::Implied;
use super::refusal;
use super::scope::{BaseColumn, RelationKind};
use crate::error::ToolError;

/// How a column reference resolved, before any policy check.
pub(crate) enum Lookup {
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
    /// A column reference: resolve, allow, record.
    pub(crate) fn column_ref(&mut self, idents: &[Ident]) -> Result<(), ToolError> {
        match self.lookup(idents)? {
            Lookup::Column {
                depth,
                direct,
                lineage,
            } => {
                self.touch(depth);
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
    pub(crate) fn whole_row(&mut self, depth: usize, relation: usize) -> Result<(), ToolError> {
        self.touch(depth);
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

    pub(crate) fn allow_column(&mut self, column: &BaseColumn) -> Result<(), ToolError> {
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
    pub(crate) fn note_outer(&mut self, depth: usize, lineage: &[BaseColumn]) {
        let top = self.scopes.len().saturating_sub(1);
        if depth < top {
            if let Some(scope) = self.scopes.last_mut() {
                scope.outer_refs.extend(lineage.iter().map(|c| c.instance));
            }
        }
    }

    pub(crate) fn allowed_in_scope(&self) -> Vec<&str> {
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
    pub(crate) fn lookup(&self, idents: &[Ident]) -> Result<Lookup, ToolError> {
        let (qualifier, column) = match idents {
            [column] => (None, self.flavor.folded(column)),
            [table, column] => (Some(self.flavor.folded(table)), self.flavor.folded(column)),
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

    pub(crate) fn lineage_of_ref(&self, idents: &[Ident]) -> Option<Vec<BaseColumn>> {
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

    /// USING / NATURAL: equate same-named columns of the left relations and
    /// the newly joined one; both sides are column references to check.
    pub(crate) fn join_columns(
        &mut self,
        left_count: usize,
        columns: &[String],
        implied: &mut Implied,
    ) -> Result<(), ToolError> {
        let total = self.scopes.last().map_or(0, |s| s.relations.len());
        for column in columns {
            let left = self.side_lineage(0..left_count, column)?;
            let right = self.side_lineage(left_count..total, column)?;
            let (Some(left), Some(right)) = (left, right) else {
                if self.facts.is_none() {
                    continue;
                }
                return Err(refusal::unknown_column(column, &self.allowed_in_scope()));
            };
            implied.equate(&left, &right);
            self.out.equalities.push((left, right));
        }
        Ok(())
    }

    /// The (checked) lineage of `column` in some relations of the current
    /// scope, or `None` when none of them has it.
    pub(crate) fn side_lineage(
        &mut self,
        range: std::ops::Range<usize>,
        column: &str,
    ) -> Result<Option<Vec<BaseColumn>>, ToolError> {
        let mut lineage = Vec::new();
        let mut found = false;
        let relations: Vec<_> = self
            .scopes
            .last()
            .and_then(|s| s.relations.get(range))
            .map(<[_]>::to_vec)
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
        Ok(found.then_some(lineage))
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
