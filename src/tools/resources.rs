//! What the agent may see, as MCP resources: one per allowed table and one
//! for the semantic catalog, policy-filtered exactly like the tools.
//!
//! The list comes from policy alone (no database): the tables
//! `list_allowed_tables` shows, under `sqlwarden://{source}/tables/{table}`,
//! and `sqlwarden://catalog`. A read accepts only a URI that is exactly one
//! of those listed (byte for byte, as [`table_uri`] spells it), so no other
//! spelling (case, quotes, percent-encoding, `..`, another source's name)
//! reaches anything; what it returns comes from the tools themselves
//! (`describe_table` and `get_join_paths`; `list_domains` and
//! `list_metrics`), run through [`Session::call`], so policy, rate limits,
//! tool switches and the audit log apply to a read as to the calls.
//!
//! This module knows nothing of rmcp; [`crate::server`] pages the list and
//! turns entries and errors into MCP types.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::call::CallContext;
use super::session::Session;

/// The semantic catalog's URI.
pub(crate) const CATALOG_URI: &str = "sqlwarden://catalog";

/// The template every table resource fits.
pub(crate) const TABLE_TEMPLATE: &str = "sqlwarden://{source}/tables/{table}";

/// Bytes kept as they are in a URI segment; every other byte is
/// percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

/// Tools whose answers make a table resource; when policy switches one off,
/// no table is listed.
const TABLE_TOOLS: [&str; 2] = ["describe_table", "get_join_paths"];

/// Tools whose answers make the catalog resource.
const CATALOG_TOOLS: [&str; 2] = ["list_domains", "list_metrics"];

/// One resource as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceEntry {
    /// Its URI, the only spelling a read accepts.
    pub(crate) uri: String,
    /// Short name (the table key, or `catalog`).
    pub(crate) name: String,
    /// Human title.
    pub(crate) title: String,
    /// What it holds (the policy's table description, when it has one).
    pub(crate) description: String,
    /// What a read needs: which source and table, or the catalog.
    target: Target,
}

/// What a resource stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Table { source: String, table: String },
    Catalog,
}

/// Why a read returned nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceError {
    /// The URI is not one of the listed resources.
    NotFound(String),
    /// A tool behind the resource refused: its envelope's error.
    Refused {
        /// The error code.
        code: String,
        /// What went wrong.
        message: String,
        /// What to do instead.
        hint: String,
    },
}

/// The URI of `table` on `source`.
pub(crate) fn table_uri(source: &str, table: &str) -> String {
    format!(
        "sqlwarden://{}/tables/{}",
        utf8_percent_encode(source, SEGMENT),
        utf8_percent_encode(table, SEGMENT)
    )
}

impl Session {
    /// Every resource this session may read, in a stable order: each
    /// source's allowed tables, then the catalog.
    pub(crate) fn resources(&self) -> Vec<ResourceEntry> {
        let policy = self.policy();
        let mut entries = Vec::new();
        if TABLE_TOOLS.iter().all(|t| policy.tool_enabled(t)) {
            for name in policy.config().connections.connections.keys() {
                let Some(rules) = policy.source(name) else {
                    continue;
                };
                for (key, table) in rules.tables() {
                    entries.push(ResourceEntry {
                        uri: table_uri(name, key),
                        name: key.to_string(),
                        title: format!("{key} ({name})"),
                        description: table.description.clone().unwrap_or_else(|| {
                            format!("Allowed columns, partition keys and approved joins of `{key}`")
                        }),
                        target: Target::Table {
                            source: name.clone(),
                            table: key.to_string(),
                        },
                    });
                }
            }
        }
        let has_catalog = self
            .catalog()
            .is_ok_and(|c| !c.domains.domains.is_empty() || !c.metrics.metrics.is_empty());
        if has_catalog && CATALOG_TOOLS.iter().all(|t| policy.tool_enabled(t)) {
            entries.push(ResourceEntry {
                uri: CATALOG_URI.into(),
                name: "catalog".into(),
                title: "Semantic catalog".into(),
                description: "The data team's domains, curated metrics and business terms".into(),
                target: Target::Catalog,
            });
        }
        entries
    }

    /// The contents of the listed resource `uri`, as JSON.
    pub(crate) async fn read_resource(
        &self,
        uri: &str,
        ctx: CallContext,
    ) -> Result<Value, ResourceError> {
        let Some(entry) = self.resources().into_iter().find(|e| e.uri == uri) else {
            return Err(ResourceError::NotFound(format!(
                "No resource `{}`: read only URIs that `resources/list` returns",
                uri.chars().take(200).collect::<String>()
            )));
        };
        match entry.target {
            Target::Table { source, table } => {
                let args = json!({"source": source, "table": table});
                let mut described = self.data("describe_table", &args, &ctx).await?;
                let joins = self.data("get_join_paths", &args, &ctx).await?;
                described.remove("approved_joins");
                described.insert(
                    "approved_joins".into(),
                    joins
                        .get("joins")
                        .cloned()
                        .unwrap_or(Value::Array(Vec::new())),
                );
                Ok(Value::Object(described))
            }
            Target::Catalog => {
                let domains = self.data("list_domains", &json!({}), &ctx).await?;
                let metrics = self.data("list_metrics", &json!({}), &ctx).await?;
                let terms: Vec<Value> = self
                    .catalog()
                    .map(|c| {
                        c.terms
                            .terms
                            .iter()
                            .map(|t| {
                                json!({
                                    "name": t.name,
                                    "synonyms": t.synonyms,
                                    "definition": t.definition,
                                    "domain": t.domain,
                                    "tables": t.tables,
                                    "columns": t.columns,
                                    "metrics": t.metrics,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(json!({
                    "domains": domains.get("domains"),
                    "metrics": metrics.get("metrics"),
                    "terms": terms,
                }))
            }
        }
    }

    /// The `data` of one audited tool call, or its refusal.
    async fn data(
        &self,
        tool: &str,
        args: &Value,
        ctx: &CallContext,
    ) -> Result<Map<String, Value>, ResourceError> {
        let output = self.call(tool, Some(args.clone()), ctx.clone()).await;
        let is_error = output.is_error;
        let envelope = output.into_envelope();
        if let Some(Value::Object(data)) = envelope.get("data") {
            if !is_error {
                return Ok(data.clone());
            }
        }
        let field = |name: &str| {
            envelope["error"][name]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        Err(ResourceError::Refused {
            code: field("code"),
            message: field("message"),
            hint: field("hint"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
