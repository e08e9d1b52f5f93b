//! The one call pipeline, written once: audit, envelope and timing, the
//! tool's switch, rate limits, then the tool's handler from the registry
//! (argument parsing, policy and gate, engine).
//!
//! Every path ends in [`Session::call`] returning a [`ToolOutput`] after the
//! audit record is appended: an unknown tool, a disabled tool, bad
//! arguments and even a panic inside a tool are results, not crashes or
//! protocol errors. The audit sink is asked before the call runs: while it
//! cannot take records (a failed last append, an unwritable directory, a
//! full disk) the call is refused with `INTERNAL_ERROR` and never reaches
//! an engine. If the append after a call fails anyway, the call fails the
//! same way and its data is dropped.
//!
//! Rate limits (`rate_limits` in policy, see [`super::rate`]) are checked
//! as soon as the tool is known to exist and be switched on, before its
//! arguments are parsed: a refused call does no work and touches no engine,
//! and is audited like every other call. So is the cap on calls running at
//! once that a team-mode session (one per identity) may carry.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use serde_json::Value;

use crate::audit::AuditError;
use crate::error::{ErrorCode, ToolError};

use super::call::{Call, CallContext};
use super::envelope::{render, CallFacts, CallIds, ToolOutput, ToolSuccess};
use super::record;
use super::registry::{enabled_tools, spec};
use super::session::{backticked, Session};

impl Session {
    /// Run tool `tool` with raw JSON `arguments`, audit it and render its
    /// envelope. Never fails: every failure is an error envelope.
    pub async fn call(&self, tool: &str, arguments: Option<Value>, ctx: CallContext) -> ToolOutput {
        let started = Instant::now();
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut facts = CallFacts::default();
        let outcome = match self.audit().ready() {
            Ok(()) => AssertUnwindSafe(self.dispatch(tool, arguments.clone(), &ctx, &mut facts))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(ToolError::internal(panic_message(&panic)))),
            // Its refusal is still appended below: that append succeeding
            // is what clears the sink's failure.
            Err(cause) => Err(ToolError {
                internal: Some(sink_detail(&cause)),
                ..audit_failed()
            }),
        };
        let ids = CallIds {
            request_id: uuid::Uuid::new_v4().to_string(),
            audit_id: uuid::Uuid::new_v4().to_string(),
            tool_name: bounded(tool),
            timestamp,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        if let Err(error) = &outcome {
            log_failure(tool, error);
        }
        let mut caller = self.caller();
        let origin = &ctx.origin;
        if let Some(session_id) = &origin.session_id {
            caller.session_id.clone_from(session_id);
        }
        if let Some((name, version)) = &origin.client {
            caller.client_name = Some(name.clone());
            caller.client_version = Some(version.clone());
        }
        if origin.token_id.is_some() {
            caller.token_id.clone_from(&origin.token_id);
        }
        let mut record = record::build(
            &caller,
            &ids,
            arguments.unwrap_or(Value::Null),
            &facts,
            &outcome,
        );
        match self.audit().append(&mut record) {
            Ok(()) => render(&ids, outcome, &facts),
            Err(cause) => {
                let cause = sink_detail(&cause);
                tracing::error!(tool, %cause, "audit append failed; the call is refused");
                let refused = Err(audit_failed());
                let facts = CallFacts {
                    source: facts.source,
                    ..CallFacts::default()
                };
                render(&ids, refused, &facts)
            }
        }
    }

    async fn dispatch(
        &self,
        tool: &str,
        raw: Option<Value>,
        ctx: &CallContext,
        facts: &mut CallFacts,
    ) -> Result<ToolSuccess, ToolError> {
        let Some(spec) = spec(tool) else {
            return Err(self.unknown_tool(tool));
        };
        if !self.policy().tool_enabled(tool) {
            return Err(ToolError::new(
                ErrorCode::ToolDisabled,
                format!("The tool `{tool}` is switched off in `policy.yaml`"),
                format!(
                    "Use one of the enabled tools: {}",
                    backticked(&self.enabled_names())
                ),
            ));
        }
        self.rate().admit(tool, self.now())?;
        let _slot = self.admit_running()?;
        spec.invoke(Call::new(self, ctx, facts), raw).await
    }

    fn enabled_names(&self) -> Vec<&'static str> {
        enabled_tools(self.policy())
            .iter()
            .map(|t| t.name)
            .collect()
    }

    fn unknown_tool(&self, tool: &str) -> ToolError {
        ToolError::new(
            ErrorCode::InvalidArgument,
            format!("There is no tool named `{}`", bounded(tool)),
            format!("Use one of: {}", backticked(&self.enabled_names())),
        )
    }
}

/// Tool names are agent-controlled: keep an unknown one short in the
/// envelope and the audit log.
fn bounded(tool: &str) -> String {
    const MAX_TOOL_NAME_CHARS: usize = 128;
    tool.chars().take(MAX_TOOL_NAME_CHARS).collect()
}

fn audit_failed() -> ToolError {
    ToolError::new(
        ErrorCode::InternalError,
        "sqlwarden could not write the audit log, so the call was refused",
        "Check that the audit directory (`SQLWARDEN_AUDIT_DIR`, or sqlwarden's data directory) exists, is writable and has free space",
    )
}

/// What the log and the audit record keep of a sink's failure: the cause
/// and how to fix it.
fn sink_detail(error: &AuditError) -> String {
    format!("{error} ({})", error.hint())
}

fn log_failure(tool: &str, error: &ToolError) {
    match &error.internal {
        Some(cause) => tracing::error!(tool, code = %error.code, %cause, "tool call failed"),
        None => {
            tracing::debug!(tool, code = %error.code, message = %error.message, "tool call refused")
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panic in tool: {text}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
