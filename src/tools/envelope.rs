//! The envelope: the one JSON shape every tool result has, and the text
//! rendering of the same result for a reader.
//!
//! A tool produces a [`ToolSuccess`] or a [`ToolError`]; the pipeline adds
//! the request id, timing and audit id and calls [`render`]. The JSON goes to
//! MCP `structuredContent`, the text to `content`: one summary line, then
//! everything that came from the database inside a fresh fence, then the
//! `data_handling` sentence. An internal error shows no detail here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::engine::result::json_len;
use crate::error::{ErrorCode, ToolError};

use super::fence::{push_defanged, Fence, DATA_HANDLING};

/// What a tool call returns to its caller (MCP or the CLI).
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// The envelope (MCP `structuredContent`).
    pub envelope: Value,
    /// True when `ok` is false (MCP `isError`).
    pub is_error: bool,
    /// The text rendering (MCP `content`).
    pub text: String,
}

/// Facts about a call that go into `metadata` and the audit record.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CallFacts {
    /// The connection used, once known.
    pub source: Option<String>,
    /// Policy keys of the tables read.
    pub tables_used: Vec<String>,
    /// `table.column` of the columns read.
    pub columns_used: Vec<String>,
    /// Rows (or entries) returned.
    pub row_count: Option<u64>,
    /// Whether rows were cut.
    pub truncated: bool,
    /// The row limit applied.
    pub applied_limit: Option<u64>,
    /// Default partitions chosen, by table.
    pub partitions_used: BTreeMap<String, String>,
    /// The SQL that ran, as the gate printed it (audit only).
    #[serde(skip)]
    pub rewritten_sql: Option<String>,
    /// How old the result was, when it came from the result cache.
    #[serde(skip)]
    pub(crate) cache_age: Option<Duration>,
    /// Where the source's session row budget stands after this call, when
    /// one is set.
    pub(crate) session_rows: Option<SessionRows>,
    /// How the engine ran the query, when it says (MaxCompute: the mode,
    /// the quota, whether MaxQA fell back).
    pub(crate) execution: Option<serde_json::Map<String, Value>>,
}

/// A source's session row budget (`max_session_rows`) after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct SessionRows {
    /// The budget.
    pub(crate) max_session_rows: u64,
    /// Rows returned from the source in this session so far, this call's
    /// included.
    pub(crate) used: u64,
    /// Rows the session may still get from the source.
    pub(crate) remaining: u64,
    /// Whether the budget lowered this call's row limit.
    pub(crate) limited_this_call: bool,
}

/// A tool's successful answer, before the pipeline wraps it.
#[derive(Debug, Clone)]
pub(crate) struct ToolSuccess {
    /// The envelope's `data`.
    pub(crate) data: Value,
    /// The summary line of the text rendering.
    pub(crate) summary: String,
}

/// Identity of one call, fixed by the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct CallIds {
    /// Unique per call.
    pub(crate) request_id: String,
    /// Unique per audit record.
    pub(crate) audit_id: String,
    /// Tool name as called.
    pub(crate) tool_name: String,
    /// RFC 3339 start time.
    pub(crate) timestamp: String,
    /// Wall time of the call.
    pub latency_ms: f64,
}

/// Render a finished call into the envelope and its text. The data moves
/// into the envelope; the text is written from it first, in one string.
pub(crate) fn render(
    ids: &CallIds,
    outcome: Result<ToolSuccess, ToolError>,
    facts: &CallFacts,
) -> ToolOutput {
    let mut metadata = json!({
        "request_id": ids.request_id,
        "tool_name": ids.tool_name,
        "timestamp": ids.timestamp,
        "latency_ms": (ids.latency_ms * 1000.0).round() / 1000.0,
        "source": facts.source,
        "tables_used": facts.tables_used,
        "columns_used": facts.columns_used,
        "row_count": facts.row_count,
        "truncated": facts.truncated,
        "applied_limit": facts.applied_limit,
        "partitions_used": facts.partitions_used,
        "cached": facts.cache_age.is_some(),
    });
    if let Some(metadata) = metadata.as_object_mut() {
        if let Some(age) = facts.cache_age {
            metadata.insert(
                "cache_age_seconds".into(),
                json!((age.as_secs_f64() * 1000.0).round() / 1000.0),
            );
        }
        if let Some(rows) = facts.session_rows {
            metadata.insert("session_row_budget".into(), json!(rows));
        }
        if let Some(execution) = &facts.execution {
            metadata.insert("execution".into(), Value::Object(execution.clone()));
        }
    }
    match outcome {
        Ok(success) => {
            let text = success_text(&success.summary, &success.data);
            let mut envelope = Map::new();
            envelope.insert("ok".into(), Value::Bool(true));
            envelope.insert("data".into(), success.data);
            envelope.insert("error".into(), Value::Null);
            envelope.insert("metadata".into(), metadata);
            envelope.insert("audit_id".into(), Value::String(ids.audit_id.clone()));
            ToolOutput {
                envelope: Value::Object(envelope),
                is_error: false,
                text,
            }
        }
        Err(error) => ToolOutput {
            envelope: json!({
                "ok": false,
                "data": null,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "hint": error.hint,
                },
                "metadata": metadata,
                "audit_id": ids.audit_id,
            }),
            is_error: true,
            text: error_text(&error),
        },
    }
}

fn success_text(summary: &str, data: &Value) -> String {
    let fence = Fence::new();
    let mut text = String::with_capacity(summary.len() + DATA_HANDLING.len() + 128);
    text.push_str(summary);
    text.push('\n');
    fence.open(&mut text);
    push_data_body(&mut text, data);
    fence.close(&mut text);
    text.push('\n');
    text.push_str(DATA_HANDLING);
    text
}

/// Query results read best as a header and one JSON array per row; other
/// data as indented JSON. Rows are written one at a time through a reused
/// buffer, so the text is the only copy that grows with the result.
fn push_data_body(text: &mut String, data: &Value) {
    if let (Some(columns), Some(rows)) = (
        data.get("columns").and_then(Value::as_array),
        data.get("rows").and_then(Value::as_array),
    ) {
        let names: Vec<Value> = columns
            .iter()
            .map(|c| c.get("name").cloned().unwrap_or(Value::Null))
            .collect();
        push_defanged(text, &format!("columns: {}", Value::Array(names)));
        // Sized once, rather than grown by doubling past twice the need.
        let body: u64 = rows.iter().map(|row| json_len(row) + 1).sum();
        text.reserve(usize::try_from(body).unwrap_or(0));
        let mut row_text = Vec::new();
        for row in rows {
            text.push('\n');
            row_text.clear();
            // Writing a `Value` to a vector cannot fail, and its JSON is
            // UTF-8.
            let _ = serde_json::to_writer(&mut row_text, row);
            push_defanged(text, &String::from_utf8_lossy(&row_text));
        }
        return;
    }
    let pretty = serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string());
    push_defanged(text, &pretty);
}

fn error_text(error: &ToolError) -> String {
    let mut text = format!(
        "error {}: {}\n\nhint: {}",
        error.code, error.message, error.hint
    );
    if error.code != ErrorCode::InternalError {
        if let Some(detail) = &error.untrusted_detail {
            let fence = Fence::new();
            text.push_str("\n\nThe database said:\n");
            text.push_str(&fence.wrap(detail));
            text.push('\n');
            text.push_str(DATA_HANDLING);
        }
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
