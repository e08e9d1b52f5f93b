//! Rule 5: joins only along approved joins, and never more distinct tables
//! than `max_join_tables`.
//!
//! The graph's nodes are table instances; an edge joins two instances when
//! every `on` pair of an approved join between their tables is guaranteed
//! equal (by WHERE / ON conjunctions, or every branch of an OR). Each
//! SELECT's FROM items (and the outer instances a correlated subquery
//! refers to) must be connected by edges. Separately, any column equality
//! between two instances must belong to an approved join: "joined on other
//! columns" is refused even when the tables are also joined properly.

use std::collections::{BTreeMap, BTreeSet};

use super::analyze::Analysis;
use super::refusal;
use super::scope::{BaseColumn, InstanceId};
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
    let key = |c: &BaseColumn| analysis.instances[c.instance].key.as_str();
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
                    return Err(refusal::join_not_approved(
                        &detail,
                        &described(&[key(a), key(b)]),
                    ));
                }
            }
        }
    }
    let edges = edges(analysis, rules, &approved);
    for units in &analysis.blocks {
        if let Some(stranded) = unconnected(units, &edges) {
            let mut tables: Vec<&str> = stranded
                .iter()
                .map(|i| analysis.instances[*i].key.as_str())
                .collect();
            tables.sort_unstable();
            tables.dedup();
            let others: Vec<&str> = units
                .iter()
                .flatten()
                .map(|i| analysis.instances[*i].key.as_str())
                .filter(|t| !tables.contains(t))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let shown = if others.is_empty() {
                format!("`{}` is combined with itself", tables.join("`, `"))
            } else {
                format!(
                    "`{}` and `{}` are combined",
                    tables.join("`, `"),
                    others.join("`, `")
                )
            };
            let involved: Vec<&str> = tables.iter().chain(&others).copied().collect();
            return Err(refusal::unrelated_tables(&shown, &described(&involved)));
        }
    }
    Ok(())
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
    for (a, b) in &analysis.implied.equalities {
        by_pair
            .entry((a.instance, b.instance))
            .or_default()
            .push((&a.column, &b.column));
    }
    let mut edges = BTreeSet::new();
    for ((ia, ib), pairs) in by_pair {
        let (ka, kb) = (&analysis.instances[ia].key, &analysis.instances[ib].key);
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

/// The instances of the first unit not connected to the first unit.
fn unconnected<'u>(
    units: &'u [Vec<InstanceId>],
    edges: &BTreeSet<(InstanceId, InstanceId)>,
) -> Option<&'u Vec<InstanceId>> {
    if units.len() < 2 {
        return None;
    }
    let linked = |u: &[InstanceId], v: &[InstanceId]| {
        u.iter()
            .any(|a| v.iter().any(|b| edges.contains(&(*a, *b))))
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
    units.iter().zip(reached).find(|(_, r)| !r).map(|(u, _)| u)
}
