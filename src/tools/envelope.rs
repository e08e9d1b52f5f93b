//! The envelope: the one JSON shape every tool result has, and the text
//! rendering of the same result for a reader.
//!
//! A tool produces a [`ToolSuccess`] or a [`ToolError`]; the pipeline adds
//! the request id, timing and audit id and calls [`render`]. The JSON goes to
//! MCP `structuredContent`, the text to `content`: one summary line, then
//! everything that came from the database inside a fresh fence, then the
//! `data_handling` sentence. An internal error shows no detail here.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::engine::result::json_len;
use crate::engine::Rows;
use crate::error::{ErrorCode, ToolError};

use super::fence::{write_defanged, Fence, DATA_HANDLING};

/// What a tool call returns to its caller (MCP or the CLI): the envelope
/// (MCP `structuredContent`) and its text rendering (MCP `content`).
///
/// The rows of a query result are held once, as compact JSON ([`Rows`]),
/// beside the rest of the envelope, whose `data.rows` is null until one of
/// the two forms is written. Both are written from them on demand: the CLI
/// streams the one it prints, without a tree of values or a second copy.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// The envelope; for a query result, without its rows.
    head: Value,
    /// A query result's rows, when `head`'s `data.rows` stands for them.
    rows: Option<Rows>,
    /// True when `ok` is false (MCP `isError`).
    pub is_error: bool,
    /// How the text rendering is made.
    text: Text,
}

/// The text rendering, or what it is written from.
#[derive(Debug, Clone)]
enum Text {
    /// Written already (a refusal: short).
    Written(String),
    /// A success: its summary line, then the data in this fence.
    Success { summary: String, fence: Fence },
}

impl ToolOutput {
    /// The whole envelope as a tree of values.
    pub fn envelope(&self) -> Value {
        self.clone().into_envelope()
    }

    /// The whole envelope as a tree of values, built from the rows once.
    pub fn into_envelope(self) -> Value {
        let mut envelope = self.head;
        if let (Some(rows), Some(Value::Object(data))) = (self.rows, envelope.get_mut("data")) {
            // Replaced in place: the key keeps its position.
            data.insert("rows".into(), rows.to_value());
        }
        envelope
    }

    /// The envelope without the rows of a query result (its `data.rows` is
    /// null): the call's metadata, cheaply.
    pub fn head(&self) -> &Value {
        &self.head
    }

    /// The whole envelope, serializable without a tree of its rows: they
    /// are decoded one at a time as they are written.
    pub(crate) fn envelope_writer(&self) -> impl Serialize + '_ {
        Envelope {
            head: &self.head,
            rows: self.rows.as_ref(),
        }
    }

    /// Write the whole envelope to `out` as compact JSON, the bytes
    /// `serde_json::to_writer` makes of [`ToolOutput::envelope_writer`],
    /// with a query result's rows copied from their compact text rather
    /// than decoded and serialized again (the stdio server's path).
    pub(crate) fn write_compact<W: io::Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let (Value::Object(head), Some(rows)) = (&self.head, &self.rows) else {
            return Ok(serde_json::to_writer(out, &self.head)?);
        };
        write_object(out, head, |out, key, value| match (key, value) {
            ("data", Value::Object(data)) => write_object(out, data, |out, key, value| {
                if key == "rows" {
                    rows.write_compact(out)
                } else {
                    Ok(serde_json::to_writer(out, value)?)
                }
            }),
            _ => Ok(serde_json::to_writer(out, value)?),
        })
    }

    /// The first line of the text rendering, without writing the rest.
    pub(crate) fn summary_line(&self) -> Option<&str> {
        match &self.text {
            Text::Written(text) => text.lines().next(),
            Text::Success { summary, .. } => summary.lines().next(),
        }
    }

    /// The text rendering (MCP `content`).
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.text_capacity());
        // Writing to a `String` cannot fail.
        let _ = self.write_text(&mut text);
        text
    }

    /// Write the text rendering to `out` piece by piece: held rows are
    /// copied from their compact JSON, never gathered into one string
    /// first (the stdio server escapes the pieces straight into the
    /// response).
    pub(crate) fn write_text<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        match &self.text {
            Text::Written(text) => out.write_str(text),
            Text::Success { summary, fence } => {
                write_success(out, summary, fence, &self.head["data"], self.rows.as_ref())
            }
        }
    }

    /// Bytes to reserve for the text rendering, so that a `String` is sized
    /// once rather than grown by doubling past twice the need.
    fn text_capacity(&self) -> usize {
        let Text::Success { summary, .. } = &self.text else {
            return 0;
        };
        let data = &self.head["data"];
        let body = match (&self.rows, data.get("rows").and_then(Value::as_array)) {
            (Some(rows), _) => rows.json_len(),
            (None, Some(rows)) => rows.iter().map(|row| json_len(row) + 1).sum(),
            (None, None) => 0,
        };
        let fixed = summary.len() + DATA_HANDLING.len() + 256;
        usize::try_from(body).map_or(fixed, |body| body + fixed)
    }
}

/// Write `map` as a compact JSON object, each value by `value`.
fn write_object<W: io::Write + ?Sized>(
    out: &mut W,
    map: &Map<String, Value>,
    mut value: impl FnMut(&mut W, &str, &Value) -> io::Result<()>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, entry)) in map.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        value(out, key, entry)?;
    }
    out.write_all(b"}")
}

/// The envelope with a query result's rows put back where `data.rows` is.
struct Envelope<'a> {
    head: &'a Value,
    rows: Option<&'a Rows>,
}

impl Serialize for Envelope<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.head, self.rows) {
            (Value::Object(head), Some(rows)) => {
                let mut map = serializer.serialize_map(Some(head.len()))?;
                for (key, value) in head {
                    if key == "data" {
                        map.serialize_entry(key, &WithRows { data: value, rows })?;
                    } else {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
            (head, _) => head.serialize(serializer),
        }
    }
}

/// A query result's `data` with its rows in place of the null `rows`.
struct WithRows<'a> {
    data: &'a Value,
    rows: &'a Rows,
}

impl Serialize for WithRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(data) = self.data else {
            return self.data.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(data.len()))?;
        for (key, value) in data {
            if key == "rows" {
                map.serialize_entry(key, self.rows)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
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
    /// The envelope's `data`; for a query result, with a null `rows`.
    pub(crate) data: Value,
    /// A query result's rows, held as compact JSON rather than in `data`.
    pub(crate) rows: Option<Rows>,
    /// The summary line of the text rendering.
    pub(crate) summary: String,
}

impl ToolSuccess {
    /// Bytes of `data` as compact JSON, its rows included.
    pub(crate) fn json_len(&self) -> u64 {
        match (&self.rows, self.data.get("rows")) {
            // `null` (4 bytes) stands for the rows.
            (Some(rows), Some(Value::Null)) => json_len(&self.data) - 4 + rows.json_len(),
            _ => json_len(&self.data),
        }
    }
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
/// into the envelope; the text is written from it when asked for.
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
        Ok(ToolSuccess {
            data,
            rows,
            summary,
        }) => {
            let mut envelope = Map::new();
            envelope.insert("ok".into(), Value::Bool(true));
            envelope.insert("data".into(), data);
            envelope.insert("error".into(), Value::Null);
            envelope.insert("metadata".into(), metadata);
            envelope.insert("audit_id".into(), Value::String(ids.audit_id.clone()));
            ToolOutput {
                head: Value::Object(envelope),
                rows,
                is_error: false,
                text: Text::Success {
                    summary,
                    fence: Fence::new(),
                },
            }
        }
        Err(error) => ToolOutput {
            head: json!({
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
            rows: None,
            is_error: true,
            text: Text::Written(error_text(&error)),
        },
    }
}

fn write_success<W: fmt::Write + ?Sized>(
    out: &mut W,
    summary: &str,
    fence: &Fence,
    data: &Value,
    rows: Option<&Rows>,
) -> fmt::Result {
    out.write_str(summary)?;
    out.write_char('\n')?;
    fence.open(out)?;
    write_data_body(out, data, rows)?;
    fence.close(out)?;
    out.write_char('\n')?;
    out.write_str(DATA_HANDLING)
}

/// Query results read best as a header and one JSON array per row; other
/// data as indented JSON. Held rows are copied from their compact JSON as
/// they are, so the text is the only new copy that grows with the result
/// (and none when it is written straight into a response).
fn write_data_body<W: fmt::Write + ?Sized>(
    out: &mut W,
    data: &Value,
    held: Option<&Rows>,
) -> fmt::Result {
    let columns = data.get("columns").and_then(Value::as_array);
    if let (Some(columns), Some(rows)) = (columns, held) {
        write_columns(out, columns)?;
        // Each row's line break in the held text stands for the one
        // written before it here.
        for row in rows.json_rows() {
            out.write_char('\n')?;
            write_defanged(out, row)?;
        }
        return Ok(());
    }
    if let (Some(columns), Some(rows)) = (columns, data.get("rows").and_then(Value::as_array)) {
        write_columns(out, columns)?;
        let mut row_text = Vec::new();
        for row in rows {
            out.write_char('\n')?;
            row_text.clear();
            // Writing a `Value` to a vector cannot fail, and its JSON is
            // UTF-8.
            let _ = serde_json::to_writer(&mut row_text, row);
            write_defanged(out, &String::from_utf8_lossy(&row_text))?;
        }
        return Ok(());
    }
    let pretty = serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string());
    write_defanged(out, &pretty)
}

/// The header line of a query result: its column names.
fn write_columns<W: fmt::Write + ?Sized>(out: &mut W, columns: &[Value]) -> fmt::Result {
    let names: Vec<Value> = columns
        .iter()
        .map(|c| c.get("name").cloned().unwrap_or(Value::Null))
        .collect();
    write_defanged(out, &format!("columns: {}", Value::Array(names)))
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
