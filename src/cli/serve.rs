//! `sqlwarden serve` (the default): MCP over stdin/stdout.
//!
//! Loads the config and builds the session before the first message, so a
//! broken config fails fast with its file:line:column on stderr; nothing
//! here connects to a database (engines connect on first use).

use std::path::Path;
use std::sync::Arc;

use crate::server::SqlwardenServer;

use super::{printer, session, ExitStatus};

/// Run `sqlwarden serve`.
pub(crate) async fn run(config_dir: Option<&Path>) -> ExitStatus {
    let session = match session::open(config_dir) {
        Ok(session) => session,
        Err(status) => return status,
    };
    tracing::info!(session_id = %session.session_id(), "serving MCP on stdio");
    // Names only: which fields the environment set, never their values.
    for field in &session.policy().config().env_fields {
        tracing::info!(
            connection = %field.connection,
            field = field.field.key(),
            variable = %field.variable,
            "connection field from the environment"
        );
    }
    match SqlwardenServer::new(Arc::new(session)).serve_stdio().await {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            printer::error(&format!("The MCP connection failed: {e}"), None);
            ExitStatus::Error
        }
    }
}
