//! `sqlwarden check [--json]`: the doctor.
//!
//! Validates the config, then per connection: where its secret comes
//! from, what transport and authentication it accepts, whether it is
//! reachable, every way the login (and the configured
//! role) could write or step around policy (a loud warning each, pointing
//! at `sqlwarden grants --emit-sql`), engine warnings (a MaxCompute project
//! that allows full scans, a connection without TLS), and drift between
//! policy and database (a table or column that policy names but the
//! database lacks: an error). Exit 0 when there are at most warnings, 1 on
//! any error, 2 when the config directory cannot be determined.

mod drift;
mod report;

use std::path::Path;

use clap::Args;

use crate::config::{self, Connection};
use crate::engine::ProbeReport;
use crate::policy::Policy;
use crate::secrets::{self, SecretSource};
use crate::server::http;
use crate::tools::{ConfiguredEngines, EngineFactory};

pub(crate) use drift::Drift;
pub(crate) use report::{ConnectionReport, Finding, Kind, Level, Report};

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden check`.
#[derive(Debug, Args, Default)]
pub(crate) struct CheckArgs {
    /// Print the report as one JSON document (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Run `sqlwarden check`.
pub(crate) async fn run(config_dir: Option<&Path>, args: CheckArgs) -> ExitStatus {
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error(
            "No config directory could be determined",
            Some("Pass `--config-dir DIR` or set `SQLWARDEN_CONFIG_DIR`"),
        );
        return ExitStatus::Error;
    };
    let mut report = Report {
        config_dir: dir.display().to_string(),
        ..Report::default()
    };
    match session::load(&dir) {
        Ok(policy) => {
            report.managed_policy = policy
                .config()
                .managed_policy
                .as_ref()
                .map(|p| p.display().to_string());
            super::demo::start_if_down(policy.config());
            for (name, connection) in &policy.config().connections.connections {
                report
                    .connections
                    .push(check_connection(&policy, name, connection).await);
            }
        }
        Err(errors) => report.config_errors = errors.iter().map(ToString::to_string).collect(),
    }
    report.config_errors.extend(server_file_errors(&dir));
    report.tally();
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => printer::out(&text),
            Err(e) => {
                printer::error(&format!("Could not render the report: {e}"), None);
                return ExitStatus::Error;
            }
        }
    } else {
        printer::out(&report.to_text());
    }
    if report.problems == 0 {
        return ExitStatus::Success;
    }
    if !args.json {
        let hint = if report.config_errors.is_empty() {
            "Fix them as the hints above say, then run `sqlwarden check` again"
        } else {
            "Fix the config errors above (`sqlwarden init` writes a commented example), then run `sqlwarden check` again"
        };
        let failing = report
            .connections
            .iter()
            .filter(|c| c.findings.iter().any(|f| f.level == Level::Error))
            .count();
        printer::error(
            &format!(
                "{} problem(s); {failing} connection(s) have problems",
                report.problems
            ),
            Some(hint),
        );
    }
    ExitStatus::Failure
}

/// What is wrong with team mode's `server.yaml`, when there is one (stdio
/// never reads it, so its absence is no problem).
fn server_file_errors(dir: &Path) -> Vec<String> {
    match http::settings::load(dir) {
        Ok(None) => Vec::new(),
        Ok(Some(file)) if file.auth.is_none() => vec![format!(
            "{}: no `auth:` section; `sqlwarden serve --http` refuses to start without authentication",
            dir.join(http::SERVER_FILE).display()
        )],
        Ok(Some(file)) => file
            .auth
            .iter()
            .flat_map(|auth| auth.validate())
            .map(|e| {
                format!(
                    "{}: `auth:` {e} ({}); {}",
                    dir.join(http::SERVER_FILE).display(),
                    e.code(),
                    e.hint()
                )
            })
            .collect(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Every check of one connection.
async fn check_connection(
    policy: &Policy,
    name: &str,
    connection: &Connection,
) -> ConnectionReport {
    let (credentials, credentials_variable) = match secrets::status(name, connection.engine()) {
        SecretSource::Keyring => ("keyring", None),
        SecretSource::Environment(var) => ("environment", Some(var)),
        SecretSource::Missing => ("none", None),
    };
    let mut report = ConnectionReport {
        name: name.to_owned(),
        engine: connection.engine().as_str(),
        credentials,
        credentials_variable,
        fields_from_environment: policy
            .config()
            .env_fields
            .iter()
            .filter(|f| f.connection == name)
            .map(|f| f.variable.clone())
            .collect(),
        reachable: None,
        server: None,
        login: None,
        accepts: match connection {
            Connection::Postgres(pg) => Some(pg.acceptance()),
            Connection::Maxcompute(_) => None,
        },
        findings: Vec::new(),
    };
    // Only the probe runs here, and it is never refused: default safeguards.
    let created = ConfiguredEngines.create(name, connection, Default::default());
    let engine = match created {
        Ok(engine) => engine,
        Err(e) => {
            report.findings.push(error_finding(Kind::Setup, &e));
            return report;
        }
    };
    match engine.probe().await {
        Ok(probe) => {
            report.reachable = Some(true);
            add_probe_findings(&mut report, name, connection, probe);
        }
        Err(e) => {
            report.reachable = Some(false);
            report.findings.push(error_finding(Kind::Unreachable, &e));
            return report;
        }
    }
    let Some(rules) = policy.source(name) else {
        return report;
    };
    match drift::check(engine.as_ref(), &rules, policy.config()).await {
        Ok(found) => report
            .findings
            .extend(found.into_iter().map(|d| drift_finding(name, d))),
        Err(e) => report.findings.push(error_finding(Kind::Drift, &e)),
    }
    report
}

fn add_probe_findings(
    report: &mut ConnectionReport,
    name: &str,
    connection: &Connection,
    probe: ProbeReport,
) {
    report.server = Some(probe.server_version);
    report.login = Some(probe.login);
    let hint = privilege_hint(name, connection);
    for capability in probe.write_capabilities {
        report.findings.push(Finding::new(
            Level::Warning,
            Kind::Privilege,
            capability,
            Some(hint.clone()),
        ));
    }
    for warning in probe.warnings {
        report
            .findings
            .push(Finding::new(Level::Warning, Kind::Engine, warning, None));
    }
}

fn error_finding(kind: Kind, e: &crate::error::ToolError) -> Finding {
    let detail = e
        .untrusted_detail
        .as_ref()
        .map(|d| format!(" (the database said: {d})"))
        .unwrap_or_default();
    Finding {
        code: Some(e.code),
        ..Finding::new(
            Level::Error,
            kind,
            format!("{}{detail}", e.message),
            Some(e.hint.clone()),
        )
    }
}

fn drift_finding(source: &str, drift: Drift) -> Finding {
    let hint = if drift.file == "policy.yaml" {
        format!("Fix or remove the entry in policy.yaml (the database of `{source}` has no such object), or restore the object")
    } else {
        "Fix or remove the join in catalog/joins.yaml, or restore the object".to_owned()
    };
    Finding {
        drift: Some(drift.clone()),
        ..Finding::new(
            Level::Error,
            Kind::Drift,
            format!(
                "{} `{}`: {} does not exist",
                drift.file, drift.entry, drift.missing
            ),
            Some(hint),
        )
    }
}

/// Where to go from a login that can do too much.
fn privilege_hint(name: &str, connection: &Connection) -> String {
    let grants = format!("`sqlwarden grants --emit-sql --source {name}` prints the SQL for a NOLOGIN role with SELECT on exactly the allowed tables and columns");
    match connection {
        Connection::Postgres(pg) => match &pg.role {
            Some(role) => format!(
                "Connect as a login with SELECT grants only; {grants}. Queries already run as role `{role}` inside a read-only transaction, which limits the damage, but the login itself is what a leaked config would expose"
            ),
            None => format!("Connect as a login with SELECT grants only, or set `role:` to a NOLOGIN role: {grants}"),
        },
        Connection::Maxcompute(_) => "Give the access key read-only permissions".into(),
    }
}
