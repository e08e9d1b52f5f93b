//! Drift between policy and database: every table, column and partition
//! field that `policy.yaml` or `catalog/joins.yaml` names, checked against
//! what the engine says exists.
//!
//! A name that no longer exists is harmless to security (the gate refuses
//! what the database does not have) but breaks the agent's view: a table it
//! is told about fails on every call, a renamed column silently leaves the
//! policy's restriction pointing at nothing. Each finding names the config
//! entry and the missing object.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde::Serialize;
use sqlparser::ast::{visit_expressions, Expr, Ident};
use sqlparser::parser::Parser;

use crate::config::{Config, TablePolicy};
use crate::engine::{ColumnInfo, Engine};
use crate::guard::Flavor;
use crate::policy::SourceRules;

/// One name in config that the database does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Drift {
    /// The config file, relative to the config directory.
    pub file: &'static str,
    /// The entry in it, as a dotted path (`sources.crm.tables.public.orders.allowed_columns`).
    pub(crate) entry: String,
    /// What is missing (`table public.orders`, `column public.orders.amount`).
    pub(crate) missing: String,
}

/// What the database said about the tables config names: columns, or
/// `None` for a table that does not exist.
type Catalog = BTreeMap<String, Option<Vec<ColumnInfo>>>;

/// Check the policy of source `rules.name` and the approved joins of that
/// source against `engine`. An engine error (not a missing table) ends the
/// check and is returned as is.
pub(crate) async fn check(
    engine: &dyn Engine,
    rules: &SourceRules<'_>,
    config: &Config,
) -> Result<Vec<Drift>, crate::error::ToolError> {
    let joins: Vec<_> = config
        .joins
        .joins
        .iter()
        .filter(|j| j.source == rules.name)
        .collect();
    let mut wanted: Vec<String> = rules
        .tables()
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    for join in &joins {
        wanted.push(join.left_table.clone());
        wanted.push(join.right_table.clone());
    }
    let mut catalog = Catalog::new();
    for table in wanted {
        if let std::collections::btree_map::Entry::Vacant(slot) = catalog.entry(table) {
            let columns = engine.table_columns(slot.key()).await?;
            slot.insert(columns);
        }
    }
    let mut drift = Vec::new();
    for (key, table) in rules.tables() {
        table_drift(
            rules,
            key,
            table,
            catalog.get(key).and_then(Option::as_ref),
            &mut drift,
        );
    }
    for join in joins {
        let entry = format!("joins.{}", join.id);
        for (side, table, fields) in [
            (
                "left",
                &join.left_table,
                join.on.iter().map(|c| &c.left_field).collect::<Vec<_>>(),
            ),
            (
                "right",
                &join.right_table,
                join.on.iter().map(|c| &c.right_field).collect(),
            ),
        ] {
            let Some(columns) = catalog.get(table).and_then(Option::as_ref) else {
                drift.push(Drift {
                    file: "catalog/joins.yaml",
                    entry: format!("{entry}.{side}_table"),
                    missing: format!("table {table}"),
                });
                continue;
            };
            for field in fields {
                if !has_column(rules, columns, field) {
                    drift.push(Drift {
                        file: "catalog/joins.yaml",
                        entry: format!("{entry}.on.{side}_field"),
                        missing: format!("column {table}.{field}"),
                    });
                }
            }
        }
    }
    Ok(drift)
}

/// The drift of one policy table entry.
fn table_drift(
    rules: &SourceRules<'_>,
    key: &str,
    table: &TablePolicy,
    columns: Option<&Vec<ColumnInfo>>,
    drift: &mut Vec<Drift>,
) {
    let entry = format!("sources.{}.tables.{key}", rules.name);
    let Some(columns) = columns else {
        drift.push(Drift {
            file: "policy.yaml",
            entry,
            missing: format!("table {key}"),
        });
        return;
    };
    let mut named: Vec<(String, &str)> = Vec::new();
    for column in table.allowed_columns.iter().flatten() {
        named.push(("allowed_columns".into(), column));
    }
    for column in &table.denied_columns {
        named.push(("denied_columns".into(), column));
    }
    for column in table.columns.keys() {
        named.push(("columns".into(), column));
    }
    if let Some(partition) = &table.default_partition {
        named.push(("default_partition.field".into(), &partition.field));
    }
    let flavor = Flavor::of(rules.engine);
    let mut predicate_columns = Vec::new();
    for (i, policy) in table.row_policies.iter().enumerate() {
        for column in predicate_identifiers(flavor, &policy.predicate) {
            predicate_columns.push((format!("row_policies[{i}].predicate"), column));
        }
    }
    let all = named
        .into_iter()
        .map(|(at, c)| (at, c.to_owned()))
        .chain(predicate_columns);
    for (at, column) in all {
        if !has_column(rules, columns, &column) {
            drift.push(Drift {
                file: "policy.yaml",
                entry: format!("{entry}.{at}"),
                missing: format!("column {key}.{column}"),
            });
        }
    }
}

fn has_column(rules: &SourceRules<'_>, columns: &[ColumnInfo], name: &str) -> bool {
    columns.iter().any(|c| rules.same_name(&c.name, name))
}

/// The column names a row-policy predicate refers to, folded as the
/// engine folds them. `${user.…}` placeholders stand for values, not
/// columns, so they are read as NULL here. A predicate that does not parse
/// names no columns (the gate fails such a policy closed on every call).
pub(crate) fn predicate_identifiers(flavor: Flavor, predicate: &str) -> Vec<String> {
    let text = without_placeholders(predicate);
    let Ok(expr) = Parser::new(flavor.dialect())
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let _ = visit_expressions(&expr, |e: &Expr| {
        let ident: Option<&Ident> = match e {
            Expr::Identifier(ident) => Some(ident),
            Expr::CompoundIdentifier(parts) => parts.last(),
            _ => None,
        };
        if let Some(ident) = ident {
            let name = flavor.fold(ident);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    names
}

/// `predicate` with every `${…}` replaced by `NULL`.
fn without_placeholders(predicate: &str) -> String {
    let mut out = String::with_capacity(predicate.len());
    let mut rest = predicate;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str("NULL");
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
