//! MCP logging: `logging/setLevel` and `notifications/message`, so that a
//! client can show what the server did without reading its stderr.
//!
//! MCP's 2026-07-28 revision deprecates logging (SEP-2577) and rmcp marks
//! its types deprecated; sqlwarden keeps it for clients of the earlier
//! revisions, which still use it, hence the `allow(deprecated)` here and
//! nowhere else.
//!
//! Nothing is sent until the client sets a level. A message says which
//! tool or resource was called, whether it succeeded, the error code, the
//! time taken and the request and audit ids: never arguments, SQL, rows,
//! error messages (they can quote the caller's text or the database's) or
//! secrets.
#![allow(deprecated)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::{Peer, RoleServer};
use serde_json::{json, Value};

/// No level set: nothing is sent.
const OFF: u8 = u8::MAX;

/// The level a client asked for, shared by the handler's clones.
#[derive(Clone)]
pub(super) struct ClientLog {
    level: Arc<AtomicU8>,
}

impl Default for ClientLog {
    fn default() -> Self {
        Self {
            level: Arc::new(AtomicU8::new(OFF)),
        }
    }
}

/// Severity order, lowest first (RFC 5424 as MCP uses it).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

impl ClientLog {
    /// `logging/setLevel`: send messages of `level` and above from now on.
    pub(super) fn set(&self, level: LoggingLevel) {
        self.level.store(rank(level), Ordering::Relaxed);
    }

    /// Whether a message of `level` would be sent.
    fn wants(&self, level: LoggingLevel) -> bool {
        let set = self.level.load(Ordering::Relaxed);
        set != OFF && rank(level) >= set
    }

    /// Report one finished tool call, whose envelope is `envelope`.
    pub(super) fn call(&self, peer: &Peer<RoleServer>, tool: &str, envelope: &Value) {
        let code = envelope["error"]["code"].as_str();
        self.send(
            peer,
            code,
            json!({
                "event": "tools/call",
                "tool": tool.chars().take(100).collect::<String>(),
                "ok": code.is_none(),
                "code": code,
                "latency_ms": envelope["metadata"]["latency_ms"],
                "request_id": envelope["metadata"]["request_id"],
                "audit_id": envelope["audit_id"],
            }),
        );
    }

    /// Report one resource read: its URI and, when it failed, the code.
    pub(super) fn read(&self, peer: &Peer<RoleServer>, uri: &str, code: Option<&str>) {
        self.send(
            peer,
            code,
            json!({
                "event": "resources/read",
                "uri": uri.chars().take(200).collect::<String>(),
                "ok": code.is_none(),
                "code": code,
            }),
        );
    }

    /// Send `data` at the level an outcome with error `code` has: info
    /// for success, warning for a refusal of the request, error for a
    /// failure of the backend or of sqlwarden.
    fn send(&self, peer: &Peer<RoleServer>, code: Option<&str>, data: Value) {
        let level = match code {
            None => LoggingLevel::Info,
            Some(code)
                if code.parse::<crate::error::ErrorCode>().is_ok_and(|c| {
                    c.is_policy_denial() || c == crate::error::ErrorCode::InvalidArgument
                }) =>
            {
                LoggingLevel::Warning
            }
            Some(_) => LoggingLevel::Error,
        };
        if !self.wants(level) {
            return;
        }
        let param = LoggingMessageNotificationParam::new(level, data).with_logger("sqlwarden");
        let peer = peer.clone();
        tokio::spawn(async move {
            if let Err(e) = peer.notify_logging_message(param).await {
                tracing::debug!(error = %e, "log notification not delivered");
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
