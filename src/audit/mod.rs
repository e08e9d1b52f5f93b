//! The append-only JSONL audit log: one record per tool call, daily files,
//! a hash chain that `sqlwarden audit verify` checks.
//!
//! [`AuditRecord`] is what one call leaves behind: who, which tool, what was
//! asked (the SQL as sent), what ran (the rewritten SQL), what the policy
//! decided and how it ended. Never result rows, never secrets.
//! [`AuditLog`] appends records to `audit-YYYY-MM-DD.jsonl` (UTC) under an
//! exclusive file lock, so several sqlwarden processes can share one
//! directory, and chains each record to the one before it; [`verify()`] walks
//! the chain and names the first place it breaks.
//!
//! The one rule for callers: an append that fails fails the tool call, so no
//! query runs unaudited.

mod chain;
mod log;
pub mod read;
pub(crate) mod stats;
mod verify;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ToolError};

pub use log::{file_name, AuditLog};
pub use verify::{verify, BreakKind};

/// Environment variable that overrides the audit directory.
pub const AUDIT_DIR_ENV: &str = "SQLWARDEN_AUDIT_DIR";

/// Days of audit files kept when policy sets no `audit.retention_days`.
pub(crate) const DEFAULT_RETENTION_DAYS: u32 = 90;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// Policy or the gate refused it.
    Denied,
    /// It failed for another reason (bad arguments, backend, internal).
    Error,
}

/// What the policy said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyDecision {
    /// Policy was consulted and allowed the call.
    Allow,
    /// Policy was consulted and refused the call.
    Deny,
    /// The call never reached a policy decision (bad arguments, a tool
    /// that reads no data).
    NotApplicable,
}

/// One tool call, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// This record's id (returned to the agent as `audit_id`).
    pub(crate) audit_id: String,
    /// The tool call's request id (`metadata.request_id`).
    pub(crate) request_id: String,
    /// When the call was received, RFC 3339 UTC.
    pub(crate) timestamp: String,
    /// The sqlwarden process (one MCP session).
    pub(crate) session_id: String,
    /// The operating-system user running sqlwarden.
    pub os_user: Option<String>,
    /// MCP client name from `initialize`.
    pub(crate) client_name: Option<String>,
    /// MCP client version from `initialize`.
    pub(crate) client_version: Option<String>,
    /// Identity `user_id` from policy.
    pub(crate) user_id: Option<String>,
    /// Identity roles from policy.
    pub roles: Vec<String>,
    /// The id of the bearer token the call came with (team mode; never
    /// the token itself). Written only when there was one, so stdio
    /// records read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Where a refused credential came from (`ip:port`), on
    /// `auth_refused` records of team mode; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
    /// Why a credential was refused (`expired`, `revoked`, …), on
    /// `auth_refused` records; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_failure: Option<String>,
    /// On `auth_refused` records: how many refusals from the same address
    /// this record stands for besides its own (the ones the rate limit
    /// counted but did not record since the address's previous record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<u64>,
    /// The tool called.
    pub(crate) tool_name: String,
    /// The `source` argument, when there was one.
    pub source: Option<String>,
    /// How the call ended.
    pub outcome: Outcome,
    /// What the policy decided.
    pub policy_decision: PolicyDecision,
    /// Why policy refused (the refusal's message), for `deny`.
    pub(crate) deny_reason: Option<String>,
    /// The error code, for `denied` and `error`.
    pub error_code: Option<ErrorCode>,
    /// Internal cause of an error (never shown to the agent).
    pub(crate) error_detail: Option<String>,
    /// Wall time of the call in milliseconds.
    pub latency_ms: f64,
    /// The arguments as sent (the SQL as the agent wrote it).
    pub request_params: serde_json::Value,
    /// The SQL that ran (or would have), as the gate printed it.
    pub rewritten_sql: Option<String>,
    /// Tables the query read, by policy key.
    pub tables_used: Vec<String>,
    /// Columns the query read.
    pub columns_used: Vec<String>,
    /// Rows returned.
    pub row_count: Option<u64>,
    /// Whether the result was cut.
    pub truncated: Option<bool>,
    /// The result came from the result cache, not the database (written
    /// only when true, so records from before the cache read the same).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache_hit: bool,
    /// Bytes of the result's `data` as sent to the client (compact JSON),
    /// for successful calls. Absent in records written before sqlwarden
    /// counted it; those still verify, since the chain hashes the line.
    #[serde(default)]
    pub result_bytes: Option<u64>,
    /// Hash of the policy inputs in force ([`crate::config::Config::policy_sha256`]).
    pub policy_sha256: String,
    /// The previous record's `hash` (set by [`AuditLog::append`]).
    pub prev_hash: String,
    /// This record's hash (set by [`AuditLog::append`]).
    pub(crate) hash: String,
}

impl AuditRecord {
    /// A record for a call of `tool_name` received now: a fresh `audit_id`,
    /// outcome `ok`, decision `not_applicable`, and nothing else filled in.
    pub fn new(tool_name: &str, request_id: &str, session_id: &str, policy_sha256: &str) -> Self {
        Self {
            audit_id: uuid::Uuid::new_v4().to_string(),
            request_id: request_id.to_string(),
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            session_id: session_id.to_string(),
            os_user: os_user(),
            client_name: None,
            client_version: None,
            user_id: None,
            roles: Vec::new(),
            token_id: None,
            remote_addr: None,
            auth_failure: None,
            suppressed: None,
            tool_name: tool_name.to_string(),
            source: None,
            outcome: Outcome::Ok,
            policy_decision: PolicyDecision::NotApplicable,
            deny_reason: None,
            error_code: None,
            error_detail: None,
            latency_ms: 0.0,
            request_params: serde_json::Value::Null,
            rewritten_sql: None,
            tables_used: Vec::new(),
            columns_used: Vec::new(),
            row_count: None,
            truncated: None,
            cache_hit: false,
            result_bytes: None,
            policy_sha256: policy_sha256.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// Record how a call failed: a policy refusal is `denied` / `deny` with
    /// its message as the reason; anything else is `error`, keeping the
    /// decision already recorded, with the internal cause as detail.
    pub fn fail(&mut self, err: &ToolError) {
        self.error_code = Some(err.code);
        if err.code.is_policy_denial() {
            self.outcome = Outcome::Denied;
            self.policy_decision = PolicyDecision::Deny;
            self.deny_reason = Some(err.message.clone());
        } else {
            self.outcome = Outcome::Error;
        }
        // What only the log may know (an internal cause, or what the
        // engine's parser read differently from the gate) is kept here.
        self.error_detail = err.internal.clone();
        if err.code == ErrorCode::InvalidArgument {
            self.policy_decision = PolicyDecision::NotApplicable;
        }
    }
}

/// The account running this process, from the operating system's user
/// database (the real uid on Unix), not from `USER`, which the launching
/// client may leave unset or set to anything. The environment is only the
/// fallback when the OS cannot name the account.
///
/// Looked up once per process: it reads the user database (on Linux,
/// `/etc/nsswitch.conf` and `/etc/passwd`), and every audit record asks.
pub fn os_user() -> Option<String> {
    static OS_USER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    OS_USER
        .get_or_init(|| {
            whoami::username()
                .ok()
                .filter(|name| !name.is_empty())
                .or_else(|| {
                    ["USER", "USERNAME", "LOGNAME"]
                        .into_iter()
                        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
                })
        })
        .clone()
}

/// The audit directory: `SQLWARDEN_AUDIT_DIR`, else `audit/` in the user's
/// data directory for sqlwarden. `None` only when no home directory can be
/// found.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os(AUDIT_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => directories::ProjectDirs::from("", "", "sqlwarden")
            .map(|dirs| dirs.data_dir().join("audit")),
    }
}

/// The audit log could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("audit log `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record could not be turned into JSON.
    #[error("audit record could not be serialised: {0}")]
    Serialize(String),
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            Self::Io { path, .. } => format!(
                "Make `{}` writable by this user (or point `{AUDIT_DIR_ENV}` at a writable directory); sqlwarden refuses to run queries it cannot audit",
                path.display()
            ),
            Self::Serialize(_) => "This is a sqlwarden bug; please report it".into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
