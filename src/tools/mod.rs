//! The MCP tools: argument types, the one call pipeline, the envelope and
//! the untrusted-data fence.
//!
//! [`Session::call`] is the only way a tool runs, for MCP clients and for
//! `sqlwarden call` / `sqlwarden query` alike. Its layers, outside in: audit
//! (sees every outcome), envelope and timing, argument parsing, policy and
//! gate, engine. Each tool family lives in its own file and returns data;
//! none of them repeats the pipeline. This module knows nothing of rmcp:
//! [`crate::server`] turns [`TOOLS`] and [`ToolOutput`] into MCP types.

mod args;
mod budget;
mod catalog;
mod engines;
mod envelope;
mod fence;
mod pipeline;
mod query;
mod record;
mod session;
mod table;

use schemars::JsonSchema;

pub use engines::ConfiguredEngines;
pub use envelope::ToolOutput;
pub use fence::DATA_HANDLING;
pub use pipeline::CallContext;
pub use record::AuditSink;
pub use session::{EngineFactory, Session};

/// A tool as listed to clients.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// Wire name; also the audit `tool_name`.
    pub name: &'static str,
    /// Short human title.
    pub title: &'static str,
    /// What it returns, what it refuses, what to call first.
    pub description: &'static str,
    /// The JSON Schema of its arguments.
    pub input_schema: fn() -> serde_json::Map<String, serde_json::Value>,
}

/// Every tool sqlwarden has, in the order clients list them.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "list_sources",
        title: "List data sources",
        description: "List the configured data sources (connections): name, engine (postgres or maxcompute), default schema or project, and how many tables policy allows. Call this first; pass a source's `name` as `source` to the other tools (optional when only one source exists).",
        input_schema: schema::<args::NoArgs>,
    },
    ToolSpec {
        name: "list_allowed_tables",
        title: "List allowed tables",
        description: "List the tables policy allows on one source, with domain, owner, sensitivity, description, row limit and whether a partition filter is required. Only these tables can be described, previewed or queried; any other table is refused with TABLE_NOT_ALLOWED. Use the `table` keys exactly as returned.",
        input_schema: schema::<args::SourceArgs>,
    },
    ToolSpec {
        name: "describe_table",
        title: "Describe a table",
        description: "Describe one allowed table: its allowed columns only (name, type, nullable, description from policy, database comment, partition and primary key flags), partition keys, whether row policies filter it, and its approved joins. Columns not listed here are refused in queries with COLUMN_NOT_ALLOWED. Call before writing SQL against a table.",
        input_schema: schema::<args::TableArgs>,
    },
    ToolSpec {
        name: "list_partitions",
        title: "List partitions",
        description: "List the partitions of a partitioned table, newest first, one page at a time (`limit` default 50, at most 500; pass `next_marker` as `marker` for the next page). On PostgreSQL it lists the partitions of a declaratively partitioned table; other tables return an empty list.",
        input_schema: schema::<args::ListPartitionsArgs>,
    },
    ToolSpec {
        name: "get_join_paths",
        title: "Get approved joins",
        description: "List the approved joins that touch a table: the other table, the join columns, cardinality, purpose and example SQL. Queries may relate two tables only along an approved join (on exactly its columns); anything else is refused with JOIN_NOT_APPROVED.",
        input_schema: schema::<args::TableArgs>,
    },
    ToolSpec {
        name: "preview_table",
        title: "Preview a table",
        description: "Return a few rows (default 10) of the allowed columns of a table, from the newest partition when the table is partitioned, with row policies applied. Result: `columns` [{name, type}] and `rows` as arrays in column order. Cheaper and safer than writing SQL to look at data.",
        input_schema: schema::<args::PreviewTableArgs>,
    },
    ToolSpec {
        name: "run_select_sql",
        title: "Run a read-only SELECT",
        description: "Run one read-only SELECT and return `columns` [{name, type}] and `rows` (arrays in column order). The SQL is parsed and checked before anything runs: only tables from `list_allowed_tables`, only allowed columns, named explicitly (no `*` on governed tables), joins only along `get_join_paths`, allowed functions only, no writes, locks or session settings. Row policies are applied and the limit is the smallest of `limit`, your SQL's LIMIT and the policy maximum; `metadata.truncated` says when more rows existed. What runs is the gate's rewritten SQL, never your text.",
        input_schema: schema::<args::SqlArgs>,
    },
    ToolSpec {
        name: "estimate_query_cost",
        title: "Estimate query cost",
        description: "Check a SELECT exactly as `run_select_sql` would, then return the engine's estimate (PostgreSQL EXPLAIN, MaxCompute COST SQL) without running it: estimated rows, cost, bytes scanned when known, and the plan. Use before a query that may scan a lot.",
        input_schema: schema::<args::SqlArgs>,
    },
];

/// The spec of a tool by name.
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The tools the policy leaves switched on.
pub fn enabled_tools(policy: &crate::policy::Policy) -> Vec<&'static ToolSpec> {
    TOOLS
        .iter()
        .filter(|t| policy.tool_enabled(t.name))
        .collect()
}

/// The draft 2020-12 schema of `T`, as MCP expects for `inputSchema`.
fn schema<T: JsonSchema>() -> serde_json::Map<String, serde_json::Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let root = generator.into_root_schema_for::<T>();
    match serde_json::to_value(root) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_list_matches_the_names_policy_accepts() {
        let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        assert_eq!(names, crate::config::TOOL_NAMES);
    }

    #[test]
    fn every_schema_is_a_closed_object() {
        for tool in TOOLS {
            let schema = (tool.input_schema)();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        }
    }

    #[test]
    fn sql_schema_documents_limit_and_requires_sql() {
        let schema = (spec("run_select_sql").unwrap().input_schema)();
        assert_eq!(schema["required"], serde_json::json!(["sql"]));
        let limit = schema["properties"]["limit"]["description"]
            .as_str()
            .unwrap();
        assert!(limit.contains("Default"), "{limit}");
    }
}
