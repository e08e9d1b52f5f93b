//! The production [`EngineFactory`]: an engine per connection, from
//! `connections.yaml` and the connection's secret.
//!
//! The secret is looked up when the first call needs the source, never at
//! start-up, so `initialize` and `tools/list` stay off the keyring. A lookup
//! that fails (or MaxCompute keys that are missing) fails only the calls
//! that use that source, and the next call tries again.

use std::sync::Arc;

use crate::config::Connection;
use crate::engine::maxcompute::MaxComputeEngine;
use crate::engine::postgres::PostgresEngine;
use crate::engine::{Safeguards, SharedEngine};
use crate::error::{ErrorCode, ToolError};
use crate::secrets;

use super::session::EngineFactory;

/// Makes engines from the loaded config and the OS keyring or environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredEngines;

impl EngineFactory for ConfiguredEngines {
    fn create(
        &self,
        name: &str,
        connection: &Connection,
        safeguards: Safeguards,
    ) -> Result<SharedEngine, ToolError> {
        match connection {
            Connection::Postgres(pg) => {
                let password = secrets::postgres_password(name).map_err(|e| {
                    ToolError::new(
                        ErrorCode::CredentialsMissing,
                        format!("The secret of connection `{name}` could not be read: {e}"),
                        e.hint(),
                    )
                })?;
                Ok(Arc::new(PostgresEngine::new(
                    name, pg, password, safeguards,
                )))
            }
            Connection::Maxcompute(mc) => {
                let keys = secrets::maxcompute_keys(name).map_err(|e| {
                    ToolError::new(
                        ErrorCode::CredentialsMissing,
                        format!("The access keys of connection `{name}` could not be read: {e}"),
                        e.hint(),
                    )
                })?;
                Ok(Arc::new(MaxComputeEngine::new(name, mc, keys)?))
            }
        }
    }
}
