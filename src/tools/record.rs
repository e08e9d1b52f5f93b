//! What the call pipeline tells the audit log about one call, and the sink
//! it tells it to.
//!
//! The pipeline builds one [`CallRecord`] for every call on every path
//! (success, refusal, bad arguments, unknown tool, internal error) and hands
//! it to an [`AuditSink`] before the result leaves the process. A sink that
//! fails makes the call fail: no query result is returned unaudited. The
//! sink owns persistence (files, hash chain); this module owns only the
//! facts, and never holds result rows or secrets.

use serde::Serialize;

use crate::error::ToolError;

use super::envelope::{CallFacts, CallIds};

/// One tool call, as the audit log records it.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    /// Unique per record.
    pub audit_id: String,
    /// Unique per call (also in the envelope).
    pub request_id: String,
    /// RFC 3339 start time of the call.
    pub timestamp: String,
    /// Unique per server process.
    pub session_id: String,
    /// MCP client name from `initialize` (or `sqlwarden-cli`).
    pub client_name: Option<String>,
    /// MCP client version from `initialize`.
    pub client_version: Option<String>,
    /// The caller's `identity.user_id`.
    pub user_id: String,
    /// The caller's roles.
    pub roles: Vec<String>,
    /// Tool name as called (even when unknown).
    pub tool_name: String,
    /// Connection used, once known.
    pub source: Option<String>,
    /// `ok` or `error`.
    pub outcome: &'static str,
    /// `allow`, or `deny` when policy or the gate refused.
    pub policy_decision: &'static str,
    /// Why policy refused, when it did.
    pub deny_reason: Option<String>,
    /// The error code, on failure.
    pub error_code: Option<String>,
    /// Detail kept from the agent (internal cause, database text).
    pub error_detail: Option<String>,
    /// Wall time of the call.
    pub latency_ms: f64,
    /// The arguments exactly as sent (the SQL as the agent wrote it).
    pub request_params: serde_json::Value,
    /// The SQL that ran, as the gate printed it.
    pub rewritten_sql: Option<String>,
    /// Policy keys of the tables read.
    pub tables_used: Vec<String>,
    /// `table.column` of the columns read.
    pub columns_used: Vec<String>,
    /// Rows returned.
    pub row_count: Option<u64>,
    /// Whether rows were cut.
    pub truncated: bool,
    /// SHA-256 of the policy inputs in force.
    pub policy_sha256: String,
}

/// Where call records go.
pub trait AuditSink: Send + Sync {
    /// Append one record durably; an error means the call must fail.
    fn append(&self, record: &CallRecord) -> Result<(), String>;
}

/// Who is calling, fixed for a session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    pub session_id: String,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    pub user_id: String,
    pub roles: Vec<String>,
    pub policy_sha256: String,
}

/// Assemble the record of a finished call.
pub(crate) fn build(
    caller: &Caller,
    ids: &CallIds,
    request_params: serde_json::Value,
    facts: &CallFacts,
    error: Option<&ToolError>,
) -> CallRecord {
    let denied = error.is_some_and(|e| e.code.is_policy_denial());
    CallRecord {
        audit_id: ids.audit_id.clone(),
        request_id: ids.request_id.clone(),
        timestamp: ids.timestamp.clone(),
        session_id: caller.session_id.clone(),
        client_name: caller.client_name.clone(),
        client_version: caller.client_version.clone(),
        user_id: caller.user_id.clone(),
        roles: caller.roles.clone(),
        tool_name: ids.tool_name.clone(),
        source: facts.source.clone(),
        outcome: if error.is_some() { "error" } else { "ok" },
        policy_decision: if denied { "deny" } else { "allow" },
        deny_reason: error.filter(|_| denied).map(|e| e.message.clone()),
        error_code: error.map(|e| e.code.as_str().to_string()),
        error_detail: error.and_then(|e| e.internal.clone().or(e.untrusted_detail.clone())),
        latency_ms: ids.latency_ms,
        request_params,
        rewritten_sql: facts.rewritten_sql.clone(),
        tables_used: facts.tables_used.clone(),
        columns_used: facts.columns_used.clone(),
        row_count: facts.row_count,
        truncated: facts.truncated,
        policy_sha256: caller.policy_sha256.clone(),
    }
}
