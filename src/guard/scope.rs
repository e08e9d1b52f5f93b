//! The names a query can see: table instances, relations in a FROM clause,
//! and the stack of scopes for correlated subqueries and LATERAL.
//!
//! A *relation* is anything a FROM clause binds a name to: a base table
//! (one *instance* of a policy table), or a derived table / CTE / table
//! function whose output columns carry their *lineage* to base columns.
//! Lineage is how joins through derived tables are checked against the
//! approved joins of the base tables. Nothing here checks policy.
//!
//! The join rules work on *nodes*: a node is one table instance as one
//! relation sees it. A table reference is a node of its own; every
//! reference to a CTE gets fresh copies of the nodes in the CTE's body, so
//! `FROM c c1, c c2` is two nodes per table, and joining them needs an
//! approved join like any other pair.

use std::collections::BTreeSet;
use std::fmt;

/// Index of a table instance in [`super::analyze::Analysis::instances`],
/// or (from [`COPY_BASE`] up) of a copy made for a CTE reference.
pub(crate) type InstanceId = usize;

/// Node ids from here up are copies ([`super::analyze::Analysis::copies`]);
/// below it they are table instances. Far above any real instance count.
pub(crate) const COPY_BASE: InstanceId = usize::MAX / 2 + 1;

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
    /// Every node beneath it that the join rules must connect; empty for a
    /// relation that is provably one row of reduced values (a constant).
    pub(crate) instances: Vec<InstanceId>,
    /// What to call it in a refusal.
    pub(crate) label: UnitLabel,
}

/// One thing a SELECT combines, which approved joins must connect to the
/// others: a FROM item, a table of an enclosing query it refers to, or an
/// expression subquery whose rows flow into its rows.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// The nodes beneath it.
    pub(crate) nodes: Vec<InstanceId>,
    /// What to call it in a refusal.
    pub(crate) label: UnitLabel,
}

/// How a refusal names a [`Unit`]; the tables beneath are added from its
/// nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnitLabel {
    /// A table reference, by its binding name.
    Table(String),
    /// A derived table, by alias (empty when unnamed).
    Derived(String),
    /// A reference to a CTE, by binding name.
    Cte(String),
    /// A table function in FROM, by binding name.
    Function(String),
    /// A table of an enclosing query that a correlated subquery refers to.
    Outer,
    /// A subquery in an expression (IN, ANY, ARRAY, scalar, EXISTS, ...).
    Subquery,
}

impl fmt::Display for UnitLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitLabel::Table(name) => write!(f, "table reference `{name}`"),
            UnitLabel::Derived(name) if name.is_empty() => write!(f, "a derived table"),
            UnitLabel::Derived(name) => write!(f, "derived table `{name}`"),
            UnitLabel::Cte(name) => write!(f, "CTE reference `{name}`"),
            UnitLabel::Function(name) => write!(f, "table function `{name}`"),
            UnitLabel::Outer => write!(f, "the enclosing query's table"),
            UnitLabel::Subquery => write!(f, "a subquery"),
        }
    }
}

/// The relations of one SELECT's FROM clause.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Relations in FROM order.
    pub(crate) relations: Vec<Relation>,
    /// Instances of enclosing queries this SELECT refers to (correlation).
    pub(crate) outer_refs: BTreeSet<InstanceId>,
    /// Expression subqueries (and table-function arguments) whose rows
    /// flow into this SELECT's rows.
    pub(crate) subqueries: Vec<Unit>,
}

/// A CTE visible to the query being analysed.
#[derive(Debug, Clone)]
pub(crate) struct CteDef {
    /// Its (folded) name.
    pub(crate) name: String,
    /// Its output columns.
    pub(crate) columns: Vec<OutputColumn>,
    /// Nodes inside its body (copied afresh for every reference).
    pub(crate) instances: Vec<InstanceId>,
    /// Whether it is provably one row of reduced values, so referencing it
    /// combines a constant, not rows.
    pub(crate) constant: bool,
    /// Whether its body gathers many rows into one value (so a query
    /// reading it does too).
    pub(crate) gathers: bool,
    /// How many levels of SELECT a reference to it adds where PostgreSQL
    /// expands it in place (see [`super::analyze::MAX_EXPANDED_DEPTH`]).
    pub(crate) depth: usize,
}

/// Rename output columns by a column-alias list (`AS x(a, b)`).
pub(crate) fn rename(mut columns: Vec<OutputColumn>, names: &[String]) -> Vec<OutputColumn> {
    for (column, name) in columns.iter_mut().zip(names) {
        column.name = name.clone();
    }
    columns
}
