//! The names a query can see: table instances, relations in a FROM clause,
//! and the stack of scopes for correlated subqueries and LATERAL.
//!
//! A *relation* is anything a FROM clause binds a name to: a base table
//! (one *instance* of a policy table), or a derived table / CTE / table
//! function whose output columns carry their *lineage* to base columns.
//! Lineage is how joins through derived tables are checked against the
//! approved joins of the base tables. Nothing here checks policy.

use std::collections::BTreeSet;

/// Index of a table instance in [`super::analyze::Analysis::instances`].
pub(crate) type InstanceId = usize;

/// One column of one table instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct BaseColumn {
    /// The instance the column belongs to.
    pub(crate) instance: InstanceId,
    /// The column's real name.
    pub(crate) column: String,
}

/// An output column of a derived relation.
#[derive(Debug, Clone)]
pub(crate) struct OutputColumn {
    /// The name it is referenced by.
    pub(crate) name: String,
    /// The base columns it is a plain copy of (empty for computed values).
    pub(crate) lineage: Vec<BaseColumn>,
}

/// One reference to a policy table in the query text.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// The policy key, for example `public.orders`.
    pub(crate) key: String,
    /// The qualified name's parts, as the key spells them.
    pub(crate) parts: Vec<String>,
    /// The name the reference is bound to (its alias, else the table name).
    pub(crate) binding: String,
    /// Where the table name starts in the SQL (line, column): how the
    /// rewrite finds this reference again.
    pub(crate) position: (u64, u64),
    /// The table's real columns (from [`super::TableFacts`]).
    pub(crate) columns: Vec<String>,
}

/// What a relation is.
#[derive(Debug, Clone)]
pub(crate) enum RelationKind {
    /// A policy table.
    Base(InstanceId),
    /// A derived table, CTE reference or table function.
    Derived(Vec<OutputColumn>),
}

/// A name bound in a FROM clause.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    /// The binding name (alias or table name); empty when unnamed.
    pub(crate) name: String,
    /// What it is.
    pub(crate) kind: RelationKind,
    /// Every table instance beneath it (for join connectivity).
    pub(crate) instances: Vec<InstanceId>,
}

/// The relations of one SELECT's FROM clause.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Relations in FROM order.
    pub(crate) relations: Vec<Relation>,
    /// Instances of enclosing queries this SELECT refers to (correlation).
    pub(crate) outer_refs: BTreeSet<InstanceId>,
}

/// A CTE visible to the query being analysed.
#[derive(Debug, Clone)]
pub(crate) struct CteDef {
    /// Its (folded) name.
    pub(crate) name: String,
    /// Its output columns.
    pub(crate) columns: Vec<OutputColumn>,
    /// Table instances inside its body.
    pub(crate) instances: Vec<InstanceId>,
}

/// Rename output columns by a column-alias list (`AS x(a, b)`).
pub(crate) fn rename(mut columns: Vec<OutputColumn>, names: &[String]) -> Vec<OutputColumn> {
    for (column, name) in columns.iter_mut().zip(names) {
        column.name = name.clone();
    }
    columns
}
