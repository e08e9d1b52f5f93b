//! Tools that answer from configuration alone: `list_sources`,
//! `list_allowed_tables` and `get_join_paths`.
//!
//! They never touch a database, so they work when a backend is down, and
//! they show only what policy allows.

use serde_json::{json, Value};

use crate::config::TablePolicy;
use crate::error::ToolError;
use crate::policy::SourceRules;

use super::args::{NoArgs, SourceArgs, TableArgs};
use super::call::{Call, Handler};
use super::envelope::ToolSuccess;

/// `list_sources`: every configured connection.
pub(crate) struct ListSources;

impl Handler for ListSources {
    type Args = NoArgs;

    async fn run(call: Call<'_>, _args: NoArgs) -> Result<ToolSuccess, ToolError> {
        let session = call.session;
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
        call.facts.row_count = Some(sources.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!("{} configured source(s)", sources.len()),
            data: json!({ "sources": sources }),
        })
    }
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
pub(crate) struct ListAllowedTables;

impl Handler for ListAllowedTables {
    type Args = SourceArgs;

    async fn run(mut call: Call<'_>, args: SourceArgs) -> Result<ToolSuccess, ToolError> {
        let rules = call.source(args.source.as_deref())?;
        let tables: Vec<Value> = rules
            .tables()
            .into_iter()
            .map(|(key, table)| table_summary(&rules, key, table))
            .collect();
        call.facts.row_count = Some(tables.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!("source `{}`: {} allowed table(s)", rules.name, tables.len()),
            data: json!({ "source": rules.name, "tables": tables }),
        })
    }
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
pub(crate) struct GetJoinPaths;

impl Handler for GetJoinPaths {
    type Args = TableArgs;

    async fn run(mut call: Call<'_>, args: TableArgs) -> Result<ToolSuccess, ToolError> {
        let rules = call.source(args.source.as_deref())?;
        let (key, _) = call.allowed_table(&rules, &args.table)?;
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
        call.facts.row_count = Some(joins.len() as u64);
        Ok(ToolSuccess {
            rows: None,
            summary: format!(
                "source `{}`: {} approved join(s) touch `{key}`",
                rules.name,
                joins.len()
            ),
            data: json!({ "source": rules.name, "table": key, "joins": joins }),
        })
    }
}
