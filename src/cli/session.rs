//! Opening a tool session for the commands that call tools (`serve`,
//! `query`, `call`): resolve the config dir, load and check the config,
//! open the audit log, and wire the engines.
//!
//! Loading is where the layers meet: the config is read and validated on
//! its own ([`config::load`]), then the semantic catalog is checked against
//! the policy it sets ([`semantic::check_catalog`]). [`load`] does both, for
//! session start and for `sqlwarden check`, so both report the same
//! problems. Config errors are printed here, one per line as
//! `file:line:column: message`, because every caller wants the same report.
//! Nothing here touches the network or the keyring; the one process it
//! may start is the demo's private PostgreSQL cluster, when the config
//! points at it and it is down ([`super::demo::start_if_down`]).

use std::path::Path;
use std::sync::Arc;

use crate::audit::{self, AuditLog};
use crate::config::{self, ConfigError};
use crate::policy::Policy;
use crate::semantic;
use crate::tools::{ConfiguredEngines, Session};

use super::{printer, ExitStatus};

/// Load the config in `config_dir` (or the default) and open a session.
pub fn open(config_dir: Option<&Path>) -> Result<Session, ExitStatus> {
    let policy = load_policy(config_dir)?;
    super::demo::start_if_down(policy.config());
    let log = open_audit(&policy)?;
    Ok(Session::new(
        policy,
        Arc::new(ConfiguredEngines),
        Arc::new(log),
    ))
}

/// Open the audit log `policy` configures, printing why when it cannot be.
pub(crate) fn open_audit(policy: &Policy) -> Result<AuditLog, ExitStatus> {
    let config = policy.config();
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
    AuditLog::open_with_sync(&audit_dir, retention, sync).map_err(|e| {
        printer::error(
            &format!("Could not open the audit log: {e}"),
            Some(&e.hint()),
        );
        ExitStatus::Error
    })
}

/// Load the config in `dir` and check the semantic catalog against the
/// policy it sets: every problem found, each with its position.
pub fn load(dir: &Path) -> Result<Policy, Vec<ConfigError>> {
    let policy = Policy::new(config::load(dir)?);
    semantic::check_catalog(&policy)?;
    Ok(policy)
}

/// Resolve the config dir and [`load`] it, printing every error with its
/// position.
pub(crate) fn load_policy(config_dir: Option<&Path>) -> Result<Policy, ExitStatus> {
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error(
            "No config directory could be determined",
            Some("Pass `--config-dir DIR` or set `SQLWARDEN_CONFIG_DIR`"),
        );
        return Err(ExitStatus::Error);
    };
    load(&dir).map_err(|errors| {
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
