//! The one call pipeline, written once: audit, envelope and timing, rate
//! limits, argument parsing, policy and gate, engine.
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
//! and is audited like every other call.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::engine::{ProgressSink, RunContext};
use crate::error::{ErrorCode, ToolError};

use super::args::parse;
use super::envelope::{render, CallFacts, CallIds, ToolOutput, ToolSuccess};
use super::session::{backticked, Session};
use super::{catalog, enabled_tools, query, record, semantic, spec, table};

/// What the transport knows about one call.
#[derive(Clone, Default)]
pub struct CallContext {
    /// Fires when the client cancels the call.
    pub cancel: CancellationToken,
    /// Receives progress of long jobs.
    pub progress: Option<ProgressSink>,
}

impl CallContext {
    pub(crate) fn run_context(&self) -> RunContext {
        RunContext {
            cancel: self.cancel.clone(),
            progress: self.progress.clone(),
        }
    }
}

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
                internal: Some(cause),
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
        let mut record = record::build(
            &self.caller(),
            &ids,
            arguments.unwrap_or(Value::Null),
            &facts,
            &outcome,
        );
        match self.audit().append(&mut record) {
            Ok(()) => render(&ids, &outcome, &facts),
            Err(cause) => {
                tracing::error!(tool, %cause, "audit append failed; the call is refused");
                let refused = Err(audit_failed());
                let facts = CallFacts {
                    source: facts.source,
                    ..CallFacts::default()
                };
                render(&ids, &refused, &facts)
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
        if spec(tool).is_none() {
            return Err(self.unknown_tool(tool));
        }
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
        match tool {
            "list_sources" => catalog::list_sources(self, parse(tool, raw)?, facts),
            "list_allowed_tables" => catalog::list_allowed_tables(self, parse(tool, raw)?, facts),
            "get_join_paths" => catalog::get_join_paths(self, parse(tool, raw)?, facts),
            "describe_table" => table::describe_table(self, parse(tool, raw)?, facts).await,
            "list_partitions" => table::list_partitions(self, parse(tool, raw)?, facts).await,
            "preview_table" => table::preview_table(self, parse(tool, raw)?, ctx, facts).await,
            "run_select_sql" => query::run_select_sql(self, parse(tool, raw)?, ctx, facts).await,
            "estimate_query_cost" => {
                query::estimate_query_cost(self, parse(tool, raw)?, facts).await
            }
            _ => self.dispatch_semantic(tool, raw, ctx, facts).await,
        }
    }

    /// The semantic tools (`crate::tools::semantic`).
    async fn dispatch_semantic(
        &self,
        tool: &str,
        raw: Option<Value>,
        ctx: &CallContext,
        facts: &mut CallFacts,
    ) -> Result<ToolSuccess, ToolError> {
        match tool {
            "list_domains" => semantic::list_domains(self, parse(tool, raw)?, facts),
            "search_business_terms" => {
                semantic::search_business_terms(self, parse(tool, raw)?, facts)
            }
            "list_metrics" => semantic::list_metrics(self, parse(tool, raw)?, facts),
            "get_metric_definition" => {
                semantic::get_metric_definition(self, parse(tool, raw)?, facts)
            }
            "get_dimensions" => semantic::get_dimensions(self, parse(tool, raw)?, facts),
            "generate_metric_sql" => {
                semantic::generate_metric_sql(self, parse(tool, raw)?, facts).await
            }
            "validate_metric_query" => {
                semantic::validate_metric_query(self, parse(tool, raw)?, facts).await
            }
            "run_metric_query" => {
                semantic::run_metric_query(self, parse(tool, raw)?, ctx, facts).await
            }
            "query_table" => semantic::query_table(self, parse(tool, raw)?, ctx, facts).await,
            _ => Err(self.unknown_tool(tool)),
        }
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
