//! What the doctor found, as data ([`Report`]) and as text for a person.
//!
//! The same report is printed as text or, with `--json`, as one JSON
//! document, so scripts and people see the same findings.

use serde::Serialize;

use super::drift::Drift;
use crate::error::ErrorCode;

/// Everything `sqlwarden check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Report {
    /// The config directory read.
    pub(crate) config_dir: String,
    /// The managed policy merged in, if any.
    pub managed_policy: Option<String>,
    /// Config errors (`file:line:column: message`); empty when the config
    /// loaded.
    pub(crate) config_errors: Vec<String>,
    /// One entry per connection, in name order.
    pub connections: Vec<ConnectionReport>,
    /// Findings at level error, over all connections and the config.
    pub(crate) problems: usize,
    /// Findings at level warning.
    pub warnings: usize,
}

/// What the doctor found about one connection.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConnectionReport {
    /// Connection name.
    pub name: String,
    /// `postgres` or `maxcompute`.
    pub(crate) engine: &'static str,
    /// Where its secret comes from: `keyring`, `environment` or `none`.
    pub(crate) credentials: &'static str,
    /// The environment variable holding the secret, for `environment`.
    pub(crate) credentials_variable: Option<String>,
    /// The `SQLWARDEN_CONN_<NAME>_*` variables that replaced fields of
    /// the connection as `connections.yaml` writes it.
    pub(crate) fields_from_environment: Vec<String>,
    /// Whether the database answered (`None`: not tried, the engine could
    /// not even be built).
    pub(crate) reachable: Option<bool>,
    /// Server version or project description.
    pub(crate) server: Option<String>,
    /// The login the engine connects as.
    pub login: Option<String>,
    /// PostgreSQL: the transport and the authentication methods the
    /// connection will accept from the server.
    pub(crate) accepts: Option<String>,
    /// Everything worth a line, worst first within each kind.
    pub(crate) findings: Vec<Finding>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Level {
    /// Works, but weaker than it should be.
    Warning,
    /// Broken: exit 1.
    Error,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// The engine could not be set up (credentials, endpoint).
    Setup,
    /// The database did not answer.
    Unreachable,
    /// The login or role could write or step around policy.
    Privilege,
    /// Something about the project or the transport (full scans, TLS).
    Engine,
    /// Policy names something the database does not have.
    Drift,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    /// How bad it is.
    pub(crate) level: Level,
    /// What it is about.
    pub kind: Kind,
    /// The error code, for setup and reachability errors.
    pub code: Option<ErrorCode>,
    /// What was found.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// For drift: the config entry and the missing object.
    pub(crate) drift: Option<Drift>,
}

impl Finding {
    /// A finding with no code and no drift details.
    pub(crate) fn new(level: Level, kind: Kind, message: String, hint: Option<String>) -> Self {
        Self {
            level,
            kind,
            code: None,
            message,
            hint,
            drift: None,
        }
    }
}

impl Report {
    /// Count problems and warnings over every finding.
    pub(crate) fn tally(&mut self) {
        let findings = || self.connections.iter().flat_map(|c| &c.findings);
        self.problems =
            self.config_errors.len() + findings().filter(|f| f.level == Level::Error).count();
        self.warnings = findings().filter(|f| f.level == Level::Warning).count();
    }

    /// The report for a person, one connection after another.
    pub(crate) fn to_text(&self) -> String {
        let mut out = Vec::new();
        if self.config_errors.is_empty() {
            out.push(format!(
                "config: ok (`{}`{})",
                self.config_dir,
                self.managed_policy
                    .as_ref()
                    .map(|p| format!(", managed policy `{p}`"))
                    .unwrap_or_default()
            ));
        } else {
            out.push(format!("config: {} error(s)", self.config_errors.len()));
            out.extend(self.config_errors.iter().map(|e| format!("  error: {e}")));
        }
        for connection in &self.connections {
            connection.write_text(&mut out);
        }
        out.join("\n")
    }
}

impl ConnectionReport {
    fn write_text(&self, out: &mut Vec<String>) {
        out.push(format!("\nconnection `{}` ({})", self.name, self.engine));
        out.push(format!(
            "  credentials: {}",
            match (self.credentials, &self.credentials_variable) {
                ("keyring", _) => "found in the OS keyring".to_owned(),
                (_, Some(var)) => format!("found in environment variable `{var}`"),
                _ => "none stored (fine for trust, peer or certificate auth; `sqlwarden auth set` stores one)".to_owned(),
            }
        ));
        if !self.fields_from_environment.is_empty() {
            let vars: Vec<String> = self
                .fields_from_environment
                .iter()
                .map(|v| format!("`{v}`"))
                .collect();
            out.push(format!(
                "  from the environment (over connections.yaml): {}",
                vars.join(", ")
            ));
        }
        if let Some(accepts) = &self.accepts {
            out.push(format!("  accepts: {accepts}"));
        }
        match self.reachable {
            Some(true) => out.push(format!(
                "  reachable: yes ({}, login `{}`)",
                self.server.as_deref().unwrap_or("?"),
                self.login.as_deref().unwrap_or("?")
            )),
            Some(false) => out.push("  reachable: no".into()),
            None => {}
        }
        let privileges: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Privilege)
            .collect();
        if self.reachable == Some(true) && self.engine == "postgres" && privileges.is_empty() {
            out.push("  read-only: yes (no write capability found)".into());
        }
        if let Some(first) = privileges.first() {
            out.push(format!(
                "  WARNING: the login can write or escape policy in {} way(s):",
                privileges.len()
            ));
            for finding in &privileges {
                out.push(format!("    - {}", finding.message));
            }
            if let Some(hint) = &first.hint {
                out.push(format!("  hint: {hint}"));
            }
        }
        for finding in self.findings.iter().filter(|f| f.kind != Kind::Privilege) {
            let label = match (finding.kind, finding.level) {
                (Kind::Drift, _) => "drift",
                (_, Level::Error) => "error",
                (_, Level::Warning) => "warning",
            };
            let code = finding
                .code
                .map(|c| format!("{} ", c.as_str()))
                .unwrap_or_default();
            out.push(format!("  {label}: {code}{}", finding.message));
            if let Some(hint) = &finding.hint {
                out.push(format!("  hint: {hint}"));
            }
        }
    }
}
