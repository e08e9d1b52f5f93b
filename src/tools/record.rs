//! What the call pipeline tells the audit log about one call, and the sink
//! it tells it to.
//!
//! The pipeline builds one [`AuditRecord`] for every call on every path
//! (success, refusal, bad arguments, unknown tool, internal error) and hands
//! it to an [`AuditSink`] before the result leaves the process. A sink that
//! fails makes the call fail: no query result is returned unaudited. The
//! sink owns persistence and the hash chain ([`AuditLog`]); this module only
//! fills in the facts, and never result rows or secrets.

use crate::audit::{AuditError, AuditLog, AuditRecord, PolicyDecision};
use crate::error::ToolError;

use super::envelope::{CallFacts, CallIds, ToolSuccess};

/// Where audit records go.
pub trait AuditSink: Send + Sync {
    /// Append one record durably (the sink may set its chain fields); an
    /// error means the call must fail.
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError>;

    /// Whether the sink can take a record now. Checked before a call runs,
    /// so a failing sink stops a query before it reaches an engine.
    fn ready(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

impl AuditSink for AuditLog {
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        AuditLog::append(self, record)
    }

    fn ready(&self) -> Result<(), AuditError> {
        AuditLog::ready(self)
    }
}

/// Who is calling, fixed for a session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    pub(crate) session_id: String,
    pub(crate) client_name: Option<String>,
    pub(crate) client_version: Option<String>,
    pub(crate) user_id: String,
    pub roles: Vec<String>,
    pub policy_sha256: String,
    /// The bearer token's id, in team mode.
    pub(crate) token_id: Option<String>,
}

/// Assemble the record of a finished call.
pub(crate) fn build(
    caller: &Caller,
    ids: &CallIds,
    request_params: serde_json::Value,
    facts: &CallFacts,
    outcome: &Result<ToolSuccess, ToolError>,
) -> AuditRecord {
    let error = outcome.as_ref().err();
    let mut record = AuditRecord::new(
        &ids.tool_name,
        &ids.request_id,
        &caller.session_id,
        &caller.policy_sha256,
    );
    record.audit_id.clone_from(&ids.audit_id);
    record.timestamp.clone_from(&ids.timestamp);
    record.client_name.clone_from(&caller.client_name);
    record.client_version.clone_from(&caller.client_version);
    record.user_id = Some(caller.user_id.clone());
    record.roles.clone_from(&caller.roles);
    record.token_id.clone_from(&caller.token_id);
    record.source.clone_from(&facts.source);
    // Policy was consulted once the call resolved a source; a later failure
    // (a backend down) keeps that decision, a refusal turns it into `deny`.
    if facts.source.is_some() {
        record.policy_decision = PolicyDecision::Allow;
    }
    record.latency_ms = ids.latency_ms;
    record.request_params = request_params;
    record.rewritten_sql.clone_from(&facts.rewritten_sql);
    record.tables_used.clone_from(&facts.tables_used);
    record.columns_used.clone_from(&facts.columns_used);
    record.row_count = facts.row_count;
    record.truncated = facts.row_count.map(|_| facts.truncated);
    record.cache_hit = facts.cache_age.is_some();
    record.result_bytes = outcome.as_ref().ok().map(ToolSuccess::json_len);
    if let Some(error) = error {
        record.fail(error);
        if record.error_detail.is_none() {
            // Database text is kept for the administrator, never shown to
            // the agent outside the fence.
            record.error_detail.clone_from(&error.untrusted_detail);
        }
    }
    record
}

#[cfg(test)]
mod tests;
