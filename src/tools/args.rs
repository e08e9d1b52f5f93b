//! The tools' argument types and the one function that parses them.
//!
//! Arguments arrive as raw JSON and are parsed here, in sqlwarden's code, so
//! that a missing, mistyped or unknown argument becomes an `INVALID_ARGUMENT`
//! envelope (audited like any other call) instead of a JSON-RPC protocol
//! error that no audit record would see. Every struct denies unknown fields,
//! and its doc comments are the JSON Schema description the agent reads.
//!
//! This module does not check values against policy (a `limit` over the
//! maximum is lowered by the gate, not refused here).

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ErrorCode, ToolError};

/// Arguments of tools that take nothing but an optional source.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceArgs {
    /// Connection name from `list_sources`. Optional when exactly one
    /// connection is configured.
    #[serde(default)]
    pub source: Option<String>,
}

/// Arguments of `list_sources`: none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// Arguments of tools about one table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableArgs {
    /// Connection name from `list_sources`. Optional when exactly one
    /// connection is configured.
    #[serde(default)]
    pub source: Option<String>,
    /// Table key exactly as `list_allowed_tables` returns it, for example
    /// `public.orders` (PostgreSQL `schema.table`) or `project.table`
    /// (MaxCompute).
    pub table: String,
}

/// Arguments of `list_partitions`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListPartitionsArgs {
    /// Connection name from `list_sources`. Optional when exactly one
    /// connection is configured.
    #[serde(default)]
    pub source: Option<String>,
    /// Table key exactly as `list_allowed_tables` returns it.
    pub table: String,
    /// Most partitions to return in this page. Default 50, at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_marker` of the previous page, to fetch the next one.
    #[serde(default)]
    pub marker: Option<String>,
}

/// Arguments of `preview_table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewTableArgs {
    /// Connection name from `list_sources`. Optional when exactly one
    /// connection is configured.
    #[serde(default)]
    pub source: Option<String>,
    /// Table key exactly as `list_allowed_tables` returns it.
    pub table: String,
    /// Rows to return. Default 10; lowered to the policy's maximum when
    /// larger. Must be at least 1.
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Arguments of `run_select_sql` and `estimate_query_cost`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlArgs {
    /// Connection name from `list_sources`. Optional when exactly one
    /// connection is configured.
    #[serde(default)]
    pub source: Option<String>,
    /// Exactly one read-only query (`SELECT`, `WITH ... SELECT`, `UNION`
    /// ...) in the source's dialect. Name columns explicitly (no `*`), read
    /// only tables from `list_allowed_tables`, and join only along
    /// `get_join_paths`.
    pub sql: String,
    /// Most rows to return. Default from policy (usually 100); lowered to
    /// the policy's maximum when larger. Must be at least 1. A `LIMIT` in
    /// the SQL also counts; the smaller one wins.
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Rows `preview_table` returns when the caller names no limit.
pub(crate) const PREVIEW_DEFAULT_LIMIT: u64 = 10;
/// Partitions per page when the caller names no limit.
pub(crate) const PARTITIONS_DEFAULT_LIMIT: u32 = 50;
/// Most partitions per page.
pub(crate) const PARTITIONS_MAX_LIMIT: u32 = 500;

/// Parse a tool's raw arguments (absent arguments read as `{}`); `example`
/// is a correct call of `tool`, for hints.
pub(crate) fn parse<T: DeserializeOwned>(
    tool: &str,
    example: &str,
    raw: Option<serde_json::Value>,
) -> Result<T, ToolError> {
    let value = raw.unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    if !value.is_object() {
        return Err(ToolError::new(
            ErrorCode::InvalidArgument,
            format!("The arguments of `{tool}` must be a JSON object"),
            format!("Pass an object such as {example}"),
        ));
    }
    if let Some(place) = nul_place(&value, "") {
        return Err(ToolError::new(
            ErrorCode::InvalidArgument,
            format!("The arguments of `{tool}` contain a NUL character (U+0000) in {place}"),
            "Remove the NUL character: no database text can hold it",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ToolError::new(
            ErrorCode::InvalidArgument,
            format!(
                "Invalid arguments for `{tool}`: {}",
                clean_serde_message(&e)
            ),
            format!("Check the tool's input schema in `tools/list`; for example {example}"),
        )
    })
}

/// Where the first NUL character sits in `value` (a string or a key), as
/// a path such as `` `filters[2].value` ``. The engines cannot carry NUL
/// (PostgreSQL refuses it in the query text and in every text value), so
/// it is the caller's error, caught before any work.
fn nul_place(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    // Recursion is bounded: serde_json nests at most 128 levels deep.
    match value {
        Value::String(s) => s.contains('\0').then(|| format!("`{path}`")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_place(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(format!(
                    "a key inside `{}`",
                    if path.is_empty() { "arguments" } else { path }
                ));
            }
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            nul_place(item, &inner)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Reject a `limit` of zero, which no tool can honour.
pub(crate) fn positive_limit(limit: Option<u64>) -> Result<Option<u64>, ToolError> {
    match limit {
        Some(0) => Err(ToolError::new(
            ErrorCode::LimitMustBePositive,
            "`limit` must be at least 1",
            "Pass a positive `limit`, or leave it out to get the default",
        )),
        other => Ok(other),
    }
}

/// serde's messages are written for programmers; keep them but drop the
/// position suffix, which points into JSON the agent never saw as text.
fn clean_serde_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
