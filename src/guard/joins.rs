//! Rule 5: joins only along approved joins, and never more distinct tables
//! than `max_join_tables`.
//!
//! The rule follows what a query can compute: wherever rows of one table
//! can flow into the rows of another, the two must be related by an
//! approved join. The graph's nodes are table references (each reference
//! to a CTE has its own; see `scope`); an edge joins two nodes when every
//! `on` pair of an approved join between their tables is guaranteed equal
//! (by WHERE / ON conjunctions, every branch of an OR, or the comparison
//! of an `IN` / `= ANY` / `<> ALL` set subquery, the only place its rows
//! meet the others). Each SELECT's *units* must be connected by edges:
//! its FROM items, the outer tables a correlated subquery refers to, and
//! every subquery in an expression (IN, ANY/ALL, `ARRAY(...)`, scalar,
//! EXISTS, table-function arguments, LATERAL) whose rows flow in.
//!
//! A piece that is a *constant* for its SELECT combines no rows and is not
//! a unit: uncorrelated, and one boolean (EXISTS), one value (a scalar
//! subquery), or provably one row (an aggregate without GROUP BY, a
//! `LIMIT 1`, a one-row VALUES), and in every case without anything that
//! gathers many rows into one value (`ARRAY(SELECT ...)`, `array_agg`,
//! `string_agg`, `json_agg`, percentiles of an array of fractions, an
//! aggregate over `power()` / `^` / `<<` that packs a set into a number,
//! a recursive CTE, or a CTE that does any of these; the analyzer counts
//! them as it walks). A self-join is a join like any other: it needs an
//! approved join from the table to itself.
//!
//! Separately, any column equality between two nodes must belong to an
//! approved join: "joined on other columns" is refused even when the
//! tables are also joined properly.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, GroupByExpr, LimitClause, Query, Select, SelectItem, SetExpr, Value, Visit,
    Visitor,
};

use super::analyze::Analysis;
use super::functions;
use super::refusal;
use super::scope::{BaseColumn, InstanceId, Unit, UnitLabel};
use crate::config::JoinDef;
use crate::error::ToolError;
use crate::policy::SourceRules;

/// Check rule 5 over a finished analysis.
pub(crate) fn check(analysis: &Analysis, rules: &SourceRules<'_>) -> Result<(), ToolError> {
    let distinct: BTreeSet<&str> = analysis.instances.iter().map(|i| i.key.as_str()).collect();
    if distinct.len() > rules.security.max_join_tables as usize {
        return Err(refusal::too_many_tables(
            distinct.len(),
            rules.security.max_join_tables,
        ));
    }
    if !rules.security.deny_unapproved_join {
        return Ok(());
    }
    let approved = rules.approved_joins(None);
    // Hints offer the approved joins of the tables involved.
    let described = |tables: &[&str]| -> Vec<String> {
        approved
            .iter()
            .filter(|j| {
                tables.iter().any(|t| {
                    rules.same_name(&j.left_table, t) || rules.same_name(&j.right_table, t)
                })
            })
            .map(|j| describe(j))
            .collect()
    };
    let key = |c: &BaseColumn| analysis.key(c.instance);
    for (left, right) in &analysis.equalities {
        for a in left {
            for b in right {
                if a.instance != b.instance
                    && !pair_approved(rules, &approved, key(a), &a.column, key(b), &b.column)
                {
                    let detail = format!(
                        "Equating `{}.{}` with `{}.{}`",
                        key(a),
                        a.column,
                        key(b),
                        b.column
                    );
                    let mut e = refusal::join_not_approved(&detail, &described(&[key(a), key(b)]));
                    if key(a) == key(b) {
                        e.hint.push_str(&self_join_note(key(a)));
                    }
                    return Err(e);
                }
            }
        }
    }
    let edges = edges(analysis, rules, &approved);
    for units in &analysis.blocks {
        let Some(stranded) = unconnected(units, &edges) else {
            continue;
        };
        let others: Vec<String> = units
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != stranded)
            .map(|(_, u)| shown(analysis, u))
            .collect();
        let clause = capitalized(&format!(
            "{} and {} are combined",
            shown(analysis, &units[stranded]),
            others.join(", ")
        ));
        let mut involved: Vec<&str> = units
            .iter()
            .flat_map(|u| u.nodes.iter().map(|n| analysis.key(*n)))
            .collect();
        involved.sort_unstable();
        let repeated = involved.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
        involved.dedup();
        let mut e = refusal::unrelated_tables(&clause, &described(&involved));
        if let Some(table) = repeated {
            e.hint.push_str(&self_join_note(table));
        }
        return Err(e);
    }
    Ok(())
}

/// A message's first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Said in every refusal that involves a table twice.
fn self_join_note(table: &str) -> String {
    format!(
        ". Combining `{table}` with itself (a self-join, also through a CTE referenced twice or a subquery on the same table) needs an approved join from `{table}` to itself"
    )
}

/// A unit as a refusal names it: what it is, and the tables beneath.
fn shown(analysis: &Analysis, unit: &Unit) -> String {
    let mut tables: Vec<&str> = unit.nodes.iter().map(|n| analysis.key(*n)).collect();
    tables.sort_unstable();
    tables.dedup();
    let tables = format!("`{}`", tables.join("`, `"));
    match &unit.label {
        UnitLabel::Table(binding) => {
            let table = tables.trim_matches('`');
            if table.rsplit('.').next() == Some(binding.as_str()) {
                tables
            } else {
                format!("{tables} (as `{binding}`)")
            }
        }
        UnitLabel::Outer => format!("{tables} of the enclosing query"),
        other => format!("{other} (reading {tables})"),
    }
}

fn describe(join: &JoinDef) -> String {
    let on: Vec<String> = join
        .on
        .iter()
        .map(|p| {
            format!(
                "{}.{} = {}.{}",
                join.left_table, p.left_field, join.right_table, p.right_field
            )
        })
        .collect();
    format!("`{}` ({})", join.id, on.join(" AND "))
}

/// Whether `a = b` is one of the pairs of some approved join.
fn pair_approved(
    rules: &SourceRules<'_>,
    approved: &[&JoinDef],
    ka: &str,
    ca: &str,
    kb: &str,
    cb: &str,
) -> bool {
    approved.iter().any(|j| {
        j.on.iter().any(|p| {
            let forward = rules.same_name(&j.left_table, ka)
                && rules.same_name(&j.right_table, kb)
                && rules.same_name(&p.left_field, ca)
                && rules.same_name(&p.right_field, cb);
            let backward = rules.same_name(&j.left_table, kb)
                && rules.same_name(&j.right_table, ka)
                && rules.same_name(&p.left_field, cb)
                && rules.same_name(&p.right_field, ca);
            forward || backward
        })
    })
}

/// Instance pairs joined along a whole approved join.
fn edges(
    analysis: &Analysis,
    rules: &SourceRules<'_>,
    approved: &[&JoinDef],
) -> BTreeSet<(InstanceId, InstanceId)> {
    let mut by_pair: BTreeMap<(InstanceId, InstanceId), Vec<(&str, &str)>> = BTreeMap::new();
    let equalities = analysis
        .implied
        .equalities
        .iter()
        .chain(&analysis.links.equalities);
    for (a, b) in equalities {
        by_pair
            .entry((a.instance, b.instance))
            .or_default()
            .push((&a.column, &b.column));
    }
    let mut edges = BTreeSet::new();
    for ((ia, ib), pairs) in by_pair {
        let (ka, kb) = (analysis.key(ia), analysis.key(ib));
        let covers = |j: &JoinDef, left: &str, right: &str, flip: bool| {
            rules.same_name(&j.left_table, left)
                && rules.same_name(&j.right_table, right)
                && j.on.iter().all(|p| {
                    pairs.iter().any(|(ca, cb)| {
                        let (l, r) = if flip { (cb, ca) } else { (ca, cb) };
                        rules.same_name(&p.left_field, l) && rules.same_name(&p.right_field, r)
                    })
                })
        };
        if approved
            .iter()
            .any(|j| covers(j, ka, kb, false) || covers(j, kb, ka, true))
        {
            edges.insert((ia, ib));
            edges.insert((ib, ia));
        }
    }
    edges
}

/// The index of the first unit not connected to the first unit.
fn unconnected(units: &[Unit], edges: &BTreeSet<(InstanceId, InstanceId)>) -> Option<usize> {
    if units.len() < 2 {
        return None;
    }
    let linked = |u: &Unit, v: &Unit| {
        u.nodes
            .iter()
            .any(|a| v.nodes.iter().any(|b| edges.contains(&(*a, *b))))
    };
    let mut reached = vec![false; units.len()];
    reached[0] = true;
    let mut frontier = vec![0];
    while let Some(u) = frontier.pop() {
        for v in 0..units.len() {
            if !reached[v] && linked(&units[u], &units[v]) {
                reached[v] = true;
                frontier.push(v);
            }
        }
    }
    reached.iter().position(|r| !r)
}

/// Whether a query provably returns at most one row: `LIMIT 1` /
/// `FETCH FIRST 1 ROW ONLY`, a one-row VALUES, or a SELECT that aggregates
/// without GROUP BY (or has no FROM) and calls no set-returning function
/// in its select list.
pub(crate) fn at_most_one_row(query: &Query) -> bool {
    let limited = match &query.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(limit), ..
        })
        | Some(LimitClause::OffsetCommaLimit { limit, .. }) => is_one(limit),
        _ => false,
    };
    let fetched = query
        .fetch
        .as_ref()
        .is_some_and(|f| !f.with_ties && !f.percent && f.quantity.as_ref().is_none_or(is_one));
    if limited || fetched {
        return true;
    }
    match query.body.as_ref() {
        SetExpr::Query(inner) => at_most_one_row(inner),
        SetExpr::Values(values) => values.rows.len() <= 1,
        SetExpr::Select(select) => one_row_select(select),
        _ => false,
    }
}

fn is_one(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(v) if matches!(&v.value, Value::Number(n, false) if n == "1"))
}

fn one_row_select(select: &Select) -> bool {
    let grouped = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if grouped {
        return false;
    }
    let items: Vec<&Expr> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .collect();
    let mut calls = Calls::default();
    for expr in &items {
        let _ = expr.visit(&mut calls);
    }
    // A `*` item is not an aggregate; without FROM it is still one row.
    let aggregated = calls.aggregate && items.len() == select.projection.len();
    (aggregated || select.from.is_empty()) && !calls.set_returning
}

/// What the function calls of an expression (outside its subqueries) are.
#[derive(Default)]
struct Calls {
    depth: usize,
    aggregate: bool,
    set_returning: bool,
}

impl Visitor for Calls {
    type Break = ();

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let (0, Expr::Function(f)) = (self.depth, expr) {
            let name = function_name(f);
            self.aggregate |= f.over.is_none() && functions::is_aggregate(&name);
            self.set_returning |= functions::is_set_returning(&name);
        }
        ControlFlow::Continue(())
    }
}

/// A call's unqualified name, lower-cased: the analyzer has already
/// resolved and allowed it; folding everything errs towards "aggregate".
fn function_name(function: &Function) -> String {
    function
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}
