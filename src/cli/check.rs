//! `sqlwarden check`: validate the config, then test every connection.
//!
//! Prints every config error as `file:line:column: message`. Then, per
//! connection: where its credentials come from, whether it is reachable,
//! and what the engine's probe found; a login that could write anything is
//! reported as a loud warning. Exit 1 when anything is wrong (a config
//! error, missing credentials, an unreachable database).

use std::path::Path;

use crate::config::Connection;
use crate::secrets::{self, SecretSource};
use crate::tools::{ConfiguredEngines, EngineFactory};

use super::{printer, session, ExitStatus};

/// Run `sqlwarden check`.
pub async fn run(config_dir: Option<&Path>) -> ExitStatus {
    let config = match session::load_config(config_dir) {
        Ok(config) => config,
        Err(_) => return ExitStatus::Failure,
    };
    printer::out(&format!(
        "config: ok (`{}`{})",
        config.dir.display(),
        config
            .managed_policy
            .as_ref()
            .map(|p| format!(", managed policy `{}`", p.display()))
            .unwrap_or_default()
    ));
    let mut problems = 0;
    for (name, connection) in &config.connections.connections {
        printer::out(&format!(
            "\nconnection `{name}` ({})",
            connection.engine().as_str()
        ));
        printer::out(&format!(
            "  credentials: {}",
            describe_source(&secrets::status(name, connection.engine()))
        ));
        let engine = match ConfiguredEngines.create(name, connection) {
            Ok(engine) => engine,
            Err(e) => {
                problems += 1;
                printer::out(&format!(
                    "  error: {} {}\n  hint: {}",
                    e.code, e.message, e.hint
                ));
                continue;
            }
        };
        match engine.probe().await {
            Ok(report) => {
                printer::out(&format!(
                    "  reachable: yes ({}, login `{}`)",
                    report.server_version, report.login
                ));
                if report.write_capabilities.is_empty() {
                    printer::out("  read-only: yes (no write capability found)");
                } else {
                    printer::out(&format!(
                        "  WARNING: the login can write or escape policy in {} way(s):",
                        report.write_capabilities.len()
                    ));
                    for capability in &report.write_capabilities {
                        printer::out(&format!("    - {capability}"));
                    }
                    printer::out(&format!(
                        "  hint: connect as a login with SELECT grants only{}",
                        role_note(connection)
                    ));
                }
                for warning in &report.warnings {
                    printer::out(&format!("  warning: {warning}"));
                }
            }
            Err(e) => {
                problems += 1;
                printer::out(&format!(
                    "  reachable: no\n  error: {} {}",
                    e.code, e.message
                ));
                if let Some(detail) = &e.untrusted_detail {
                    printer::out(&format!("  the database said: {detail}"));
                }
                printer::out(&format!("  hint: {}", e.hint));
            }
        }
    }
    if problems == 0 {
        ExitStatus::Success
    } else {
        printer::error(
            &format!("{problems} connection(s) have problems"),
            Some("Fix them as the hints above say, then run `sqlwarden check` again"),
        );
        ExitStatus::Failure
    }
}

/// What the configured `role:` changes, for the write-capability hint.
fn role_note(connection: &Connection) -> String {
    match connection {
        Connection::Postgres(pg) => match &pg.role {
            Some(role) => format!(
                "; queries already run as role `{role}` inside a read-only transaction, which limits the damage, but the login itself is what a leaked config would expose"
            ),
            None => "; or set `role:` to a NOLOGIN role with SELECT grants only".into(),
        },
        Connection::Maxcompute(_) => String::new(),
    }
}

fn describe_source(source: &SecretSource) -> String {
    match source {
        SecretSource::Keyring => "found in the OS keyring".into(),
        SecretSource::Environment(var) => format!("found in environment variable `{var}`"),
        SecretSource::Missing => "none stored (fine for trust, peer or certificate auth; `sqlwarden auth set` stores one)".into(),
    }
}
