//! Tools that answer from configuration alone: `list_sources`,
//! `list_allowed_tables` and `get_join_paths`.
//!
//! They never touch a database, so they work when a backend is down, and
//! they show only what policy allows. [`allowed_table`] is the one lookup
//! every table tool uses to turn the agent's `table` into a policy key.

use serde_json::{json, Value};

use crate::config::TablePolicy;
use crate::error::{ErrorCode, ToolError};
use crate::policy::SourceRules;

use super::args::{NoArgs, SourceArgs, TableArgs};
use super::envelope::{CallFacts, ToolSuccess};
use super::session::{backticked, Session};

/// `list_sources`: every configured connection.
pub(crate) fn list_sources(
    session: &Session,
    _args: NoArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let config = session.policy().config();
    let mut sources = Vec::new();
    for (name, connection) in &config.connections.connections {
        let (tables, namespaces) = session
            .policy()
            .source(name)
            .map(|rules| {
                let keys: Vec<&str> = rules.tables().into_iter().map(|(key, _)| key).collect();
                (keys.len(), allowed_namespaces(&keys))
            })
            .unwrap_or_default();
        sources.push(json!({
            "name": name,
            "engine": connection.engine().as_str(),
            "default_namespace": connection.default_namespace(),
            "allowed_namespaces": namespaces,
            "allowed_tables": tables,
        }));
    }
    facts.row_count = Some(sources.len() as u64);
    Ok(ToolSuccess {
        summary: format!("{} configured source(s)", sources.len()),
        data: json!({ "sources": sources }),
    })
}

/// The schemas (PostgreSQL) or projects and `project.schema`s (MaxCompute)
/// that hold allowed tables: where the agent may look, from policy alone
/// (the service's own project and schema listings would name places policy
/// does not allow).
fn allowed_namespaces(table_keys: &[&str]) -> Vec<String> {
    let namespaces: std::collections::BTreeSet<&str> = table_keys
        .iter()
        .filter_map(|key| key.rsplit_once('.').map(|(namespace, _)| namespace))
        .collect();
    namespaces.into_iter().map(str::to_string).collect()
}

/// `list_allowed_tables`: the tables policy allows on one source.
pub(crate) fn list_allowed_tables(
    session: &Session,
    args: SourceArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let rules = session.source(args.source.as_deref())?;
    facts.source = Some(rules.name.to_string());
    let tables: Vec<Value> = rules
        .tables()
        .into_iter()
        .map(|(key, table)| table_summary(&rules, key, table))
        .collect();
    facts.row_count = Some(tables.len() as u64);
    Ok(ToolSuccess {
        summary: format!("source `{}`: {} allowed table(s)", rules.name, tables.len()),
        data: json!({ "source": rules.name, "tables": tables }),
    })
}

fn table_summary(rules: &SourceRules<'_>, key: &str, table: &TablePolicy) -> Value {
    json!({
        "table": key,
        "domain": table.domain,
        "owner": table.owner,
        "sensitivity": table.sensitivity,
        "description": table.description,
        "max_limit": rules.row_limit(&[key], Some(u64::MAX)),
        "row_filtered": !rules.row_policies(key).is_empty(),
        "requires_partition_filter": table.require_partition_filter,
        "default_partition": table.default_partition.as_ref().map(|p| &p.field),
    })
}

/// `get_join_paths`: approved joins that touch a table.
pub(crate) fn get_join_paths(
    session: &Session,
    args: TableArgs,
    facts: &mut CallFacts,
) -> Result<ToolSuccess, ToolError> {
    let rules = session.source(args.source.as_deref())?;
    facts.source = Some(rules.name.to_string());
    let (key, _) = allowed_table(&rules, &args.table)?;
    facts.tables_used = vec![key.clone()];
    let joins: Vec<Value> = rules
        .approved_joins(Some(&key))
        .into_iter()
        .map(|join| {
            json!({
                "id": join.id,
                "left_table": join.left_table,
                "right_table": join.right_table,
                "on": join.on.iter().map(|c| json!({"left_field": c.left_field, "right_field": c.right_field})).collect::<Vec<_>>(),
                "cardinality": join.cardinality,
                "business_purpose": join.business_purpose,
                "example_sql": join.example_sql,
            })
        })
        .collect();
    facts.row_count = Some(joins.len() as u64);
    Ok(ToolSuccess {
        summary: format!(
            "source `{}`: {} approved join(s) touch `{key}`",
            rules.name,
            joins.len()
        ),
        data: json!({ "source": rules.name, "table": key, "joins": joins }),
    })
}

/// The policy key and entry of the table the agent named, or
/// `TABLE_NOT_ALLOWED` with the near misses it may use.
pub(crate) fn allowed_table<'a>(
    rules: &SourceRules<'a>,
    requested: &str,
) -> Result<(String, &'a TablePolicy), ToolError> {
    let mut key = rules.normalize_key(requested.trim());
    if !key.contains('.') {
        key = rules.normalize_key(&format!("{}.{key}", rules.default_namespace));
    }
    if let Some(table) = rules.table(&key) {
        return Ok((key, table));
    }
    let tables = rules.tables();
    let short = key.rsplit('.').next().unwrap_or(&key).to_string();
    let near: Vec<&str> = tables
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| k.rsplit('.').next() == Some(short.as_str()))
        .collect();
    let hint = if near.is_empty() {
        format!(
            "Call `list_allowed_tables` for source `{}`; allowed tables include: {}",
            rules.name,
            backticked(&tables.iter().take(20).map(|(k, _)| *k).collect::<Vec<_>>())
        )
    } else {
        format!("Did you mean {}?", backticked(&near))
    };
    Err(ToolError::new(
        ErrorCode::TableNotAllowed,
        format!(
            "Table `{}` is not allowed on source `{}`",
            requested.chars().take(200).collect::<String>(),
            rules.name
        ),
        hint,
    ))
}
