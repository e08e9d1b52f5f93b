//! Which partitions a query reads, for the `SQLCost` input estimate.
//!
//! It looks at a rewritten (PostgreSQL-named) query and, for every table
//! in a `FROM`, keeps the top-level `AND` terms of that select's `WHERE`
//! that mention only the table's partition keys and constants. The cost
//! estimate then measures only the rows those terms select, so a query
//! pinned to one partition costs less than a full scan, as on the real
//! service. A partition predicate on a derived table's column is pushed
//! into the derived table when it selects that key unrenamed from its
//! table (the gate's wrapper for governed tables). It does not prune
//! through `OR`s across tables, join conditions or other subqueries (the
//! service's own pruning has similar limits, see protocol doc §6); those
//! scans count in full.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, BinaryOperator, Expr, Ident, Select, Statement,
    TableFactor, Visit, Visitor,
};

use super::catalog::{Catalog, Table, TableId};

/// One table read by a query, with the partition filter that bounds it.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The table.
    pub table: TableId,
    /// PostgreSQL predicates on its partition keys (ANDed; empty = all).
    pub predicates: Vec<String>,
}

/// Every table scan of `statement` (already rewritten by `sql.rs`).
pub fn scans(statement: &Statement, tables: &BTreeSet<TableId>, catalog: &Catalog) -> Vec<Scan> {
    let mut v = Scans {
        tables,
        catalog,
        found: Vec::new(),
        pushed: BTreeMap::new(),
    };
    let _ = statement.visit(&mut v);
    v.found
}

struct Scans<'a> {
    tables: &'a BTreeSet<TableId>,
    catalog: &'a Catalog,
    found: Vec<Scan>,
    /// Outer predicates pushed into an inner select (by its address),
    /// written against the inner table's columns.
    pushed: BTreeMap<usize, Vec<Expr>>,
}

impl Scans<'_> {
    /// The partitioned table a select reads directly, by its name parts.
    fn table_of(&self, name: &sqlparser::ast::ObjectName) -> Option<(&TableId, &Table)> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.to_string().trim_matches('"').to_string())
            .collect();
        let id = self
            .tables
            .iter()
            .find(|id| parts == [id.pg_schema(), id.name.clone()])?;
        Some((id, self.catalog.tables.get(id)?))
    }

    /// Queue the outer `conjuncts` on `alias`'s partition keys for the
    /// derived table's inner select, when it selects one table and those
    /// keys by their own names.
    fn push_down(&mut self, conjuncts: &[&Expr], inner: &Select, alias: &str) {
        let [only] = inner.from.as_slice() else {
            return;
        };
        let TableFactor::Table { name, .. } = &only.relation else {
            return;
        };
        if !only.joins.is_empty() {
            return;
        }
        let Some((_, table)) = self.table_of(name) else {
            return;
        };
        let selected = |key: &str| {
            inner.projection.iter().any(|item| {
                matches!(item, sqlparser::ast::SelectItem::UnnamedExpr(Expr::Identifier(i)) if i.value == key)
            })
        };
        if !table.spec.partition_keys.iter().all(|k| selected(&k.name)) {
            return;
        }
        let exprs: Vec<Expr> = conjuncts
            .iter()
            .filter(|c| only_partition_keys(c, table, alias))
            .map(|c| unqualified(c))
            .collect();
        if !exprs.is_empty() {
            self.pushed
                .entry(inner as *const Select as usize)
                .or_default()
                .extend(exprs);
        }
    }
}

impl Visitor for Scans<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let mut conjuncts = Vec::new();
        if let Some(w) = &select.selection {
            split_and(w, &mut conjuncts);
        }
        let inherited = self
            .pushed
            .remove(&(select as *const Select as usize))
            .unwrap_or_default();
        conjuncts.extend(inherited.iter());
        for twj in &select.from {
            for factor in
                std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation))
            {
                if let TableFactor::Derived {
                    subquery,
                    alias: Some(alias),
                    ..
                } = factor
                {
                    if let sqlparser::ast::SetExpr::Select(inner) = subquery.body.as_ref() {
                        self.push_down(&conjuncts, inner, &alias.name.value);
                    }
                }
            }
        }
        let factors = select.from.iter().flat_map(|twj| {
            std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation))
        });
        for factor in factors {
            let TableFactor::Table { name, alias, .. } = factor else {
                continue;
            };
            let Some((id, table)) = self.table_of(name) else {
                continue;
            };
            let qualifier = alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .unwrap_or_else(|| id.name.clone());
            let predicates = conjuncts
                .iter()
                .filter(|c| only_partition_keys(c, table, &qualifier))
                .map(|c| unqualified(c).to_string())
                .collect();
            self.found.push(Scan {
                table: id.clone(),
                predicates,
            });
        }
        ControlFlow::Continue(())
    }
}

fn split_and<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        other => out.push(other),
    }
}

/// True when `e` references at least one column, every one a partition key
/// of `table` (unqualified or qualified with `qualifier`), and holds no
/// subquery.
fn only_partition_keys(e: &Expr, table: &Table, qualifier: &str) -> bool {
    let is_key = |name: &str| table.spec.partition_keys.iter().any(|k| k.name == name);
    let mut seen = false;
    let flow = visit_expressions(e, |x| {
        let ok = match x {
            Expr::Identifier(i) => {
                seen = true;
                is_key(&i.value)
            }
            Expr::CompoundIdentifier(parts) => {
                seen = true;
                parts.len() == 2 && parts[0].value == qualifier && is_key(&parts[1].value)
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => false,
            _ => true,
        };
        if ok {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    seen && flow.is_continue()
}

/// `e` with `alias.col` written as `col`, to run against the bare table.
fn unqualified(e: &Expr) -> Expr {
    let mut e = e.clone();
    let _ = visit_expressions_mut(&mut e, |x| {
        if let Expr::CompoundIdentifier(parts) = x {
            if let Some(last) = parts.last() {
                *x = Expr::Identifier(Ident::with_quote('"', last.value.clone()));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    e
}
