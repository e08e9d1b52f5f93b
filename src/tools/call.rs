//! One tool call as a handler sees it, and the lookups every handler starts
//! with.
//!
//! The pipeline ([`super::pipeline`]) builds a [`Call`] for each call and
//! hands it to the tool's handler; the handler never sees the audit sink or
//! the envelope, only the session, the transport's [`CallContext`] and the
//! [`CallFacts`] it fills in for both. Resolving the agent's `source` and
//! `table` goes through [`Call::source`] and [`Call::allowed_table`], which
//! note what they resolved in the facts, so no handler can forget to.

use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::config::TablePolicy;
use crate::engine::{ProgressSink, RunContext};
use crate::error::{ErrorCode, ToolError};
use crate::policy::SourceRules;

use super::envelope::{CallFacts, ToolSuccess};
use super::session::{backticked, Session};

/// What the transport knows about one call.
#[derive(Clone, Default)]
pub struct CallContext {
    /// Fires when the client cancels the call.
    pub cancel: CancellationToken,
    /// Receives progress of long jobs.
    pub progress: Option<ProgressSink>,
    /// Who sent the call, where the transport knows better than the
    /// session (team mode); empty over stdio.
    pub origin: CallOrigin,
}

/// What a transport that serves many clients from one session knows about
/// one call's sender. Each field that is set replaces the session's own
/// value in the call's audit record.
#[derive(Debug, Clone, Default)]
pub struct CallOrigin {
    /// The MCP session the call came in (the `Mcp-Session-Id`).
    pub session_id: Option<String>,
    /// The MCP client's name and version, from its `initialize`.
    pub client: Option<(String, String)>,
    /// The id of the bearer token that authenticated the call.
    pub token_id: Option<String>,
}

impl CallContext {
    /// The engine's view of this context.
    pub(crate) fn run_context(&self) -> RunContext {
        RunContext {
            cancel: self.cancel.clone(),
            progress: self.progress.clone(),
        }
    }
}

/// What one tool does that no other does. The registry
/// ([`super::registry`]) pairs each tool's name, title and description with
/// its handler; the pipeline parses [`Handler::Args`] from the raw
/// arguments (an `INVALID_ARGUMENT` envelope when they do not fit) before
/// [`Handler::run`] is called, and audits whatever it returns.
pub(crate) trait Handler: 'static {
    /// The tool's arguments; their JSON Schema is the tool's `inputSchema`.
    type Args: DeserializeOwned + JsonSchema + Send;

    /// Answer one call.
    fn run(
        call: Call<'_>,
        args: Self::Args,
    ) -> impl Future<Output = Result<ToolSuccess, ToolError>> + Send;
}

/// One call in progress: what a tool's handler works with.
pub(crate) struct Call<'a> {
    /// The session the call belongs to.
    pub(crate) session: &'a Session,
    /// Cancellation and progress from the transport.
    pub(crate) ctx: &'a CallContext,
    /// What the envelope's `metadata` and the audit record will say.
    pub(crate) facts: &'a mut CallFacts,
}

impl<'a> Call<'a> {
    /// A call of `session` with the transport's `ctx`, filling `facts`.
    pub(crate) fn new(
        session: &'a Session,
        ctx: &'a CallContext,
        facts: &'a mut CallFacts,
    ) -> Self {
        Self {
            session,
            ctx,
            facts,
        }
    }

    /// The rules of the source the caller named (or of the only source),
    /// noted as the call's source.
    pub(crate) fn source(&mut self, requested: Option<&str>) -> Result<SourceRules<'a>, ToolError> {
        let rules = self.session.source(requested)?;
        self.facts.source = Some(rules.name.to_string());
        Ok(rules)
    }

    /// The policy key and entry of the table the agent named, noted as the
    /// table the call reads, or `TABLE_NOT_ALLOWED` with the near misses it
    /// may use.
    pub(crate) fn allowed_table<'r>(
        &mut self,
        rules: &SourceRules<'r>,
        requested: &str,
    ) -> Result<(String, &'r TablePolicy), ToolError> {
        let (key, table) = allowed_table(rules, requested)?;
        self.facts.tables_used = vec![key.clone()];
        Ok((key, table))
    }
}

/// The one lookup that turns the agent's `table` into a policy key.
pub(super) fn allowed_table<'r>(
    rules: &SourceRules<'r>,
    requested: &str,
) -> Result<(String, &'r TablePolicy), ToolError> {
    let mut key = rules.normalize_key(requested.trim());
    if !key.contains('.') {
        key = rules.normalize_key(&format!("{}.{key}", rules.default_namespace));
    }
    if let Some(table) = rules.table(&key) {
        return Ok((key, table));
    }
    let tables = rules.tables();
    let short = key.rsplit('.').next().unwrap_or(&key).to_string();
    let near: Vec<&str> = tables
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| k.rsplit('.').next() == Some(short.as_str()))
        .collect();
    let hint = if near.is_empty() {
        format!(
            "Call `list_allowed_tables` for source `{}`; allowed tables include: {}",
            rules.name,
            backticked(&tables.iter().take(20).map(|(k, _)| *k).collect::<Vec<_>>())
        )
    } else {
        format!("Did you mean {}?", backticked(&near))
    };
    Err(ToolError::new(
        ErrorCode::TableNotAllowed,
        format!(
            "Table `{}` is not allowed on source `{}`",
            requested.chars().take(200).collect::<String>(),
            rules.name
        ),
        hint,
    ))
}
