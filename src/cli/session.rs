//! Opening a tool session for the commands that call tools (`serve`,
//! `query`, `call`): resolve the config dir, load and validate the config,
//! open the audit log, and wire the engines.
//!
//! Config errors are printed here, one per line as `file:line:column:
//! message`, because every caller wants the same report. Nothing here
//! touches the network or the keyring.

use std::path::Path;
use std::sync::Arc;

use crate::audit::{self, AuditLog};
use crate::config;
use crate::policy::Policy;
use crate::tools::{ConfiguredEngines, Session};

use super::{printer, ExitStatus};

/// Load the config in `config_dir` (or the default) and open a session.
pub fn open(config_dir: Option<&Path>) -> Result<Session, ExitStatus> {
    let config = load_config(config_dir)?;
    let retention = config
        .policy
        .audit
        .retention_days
        .unwrap_or(audit::DEFAULT_RETENTION_DAYS);
    let Some(audit_dir) = audit::default_dir() else {
        printer::error(
            "No audit directory could be determined (no home directory)",
            Some(&format!(
                "Set `{}` to a writable directory",
                audit::AUDIT_DIR_ENV
            )),
        );
        return Err(ExitStatus::Error);
    };
    let sync = config.policy.audit.sync.unwrap_or_default();
    let log = AuditLog::open_with_sync(&audit_dir, retention, sync).map_err(|e| {
        printer::error(
            &format!("Could not open the audit log: {e}"),
            Some(&e.hint()),
        );
        ExitStatus::Error
    })?;
    Ok(Session::new(
        Policy::new(config),
        Arc::new(ConfiguredEngines),
        Arc::new(log),
    ))
}

/// Resolve and load the config, printing every error with its position.
pub fn load_config(config_dir: Option<&Path>) -> Result<config::Config, ExitStatus> {
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error(
            "No config directory could be determined",
            Some("Pass `--config-dir DIR` or set `SQLWARDEN_CONFIG_DIR`"),
        );
        return Err(ExitStatus::Error);
    };
    config::load(&dir).map_err(|errors| {
        for error in &errors {
            printer::error(&error.to_string(), None);
        }
        printer::status(&format!(
            "\nhint: fix the {} problem(s) above, then run `sqlwarden check`; `sqlwarden init` writes a commented example",
            errors.len()
        ));
        ExitStatus::Error
    })
}
