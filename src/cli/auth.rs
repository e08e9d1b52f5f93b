//! `sqlwarden auth set|status|delete <connection>`: a connection's secret in
//! the OS keyring.
//!
//! `set` reads the secret from the terminal without echo (or from stdin
//! with `--stdin`, one value per line) and never prints it; `status` says
//! where the secret would come from, never what it is.

use std::io::BufRead;
use std::path::Path;

use clap::{Args, Subcommand};

use crate::config::{Connection, EngineKind};
use crate::secrets::{self, MaxComputeKeys, Secret, SecretDoc, SecretSource};

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden auth`.
#[derive(Debug, Args)]
pub(crate) struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) action: AuthAction,
}

/// `auth` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthAction {
    /// Store the secret of a connection (password, or MaxCompute keys).
    Set {
        /// Connection name from `connections.yaml`.
        connection: String,
        /// Read the value(s) from stdin instead of prompting: the password,
        /// or access key id, secret and optional STS token on three lines.
        #[arg(long)]
        stdin: bool,
    },
    /// Say where the secret comes from (never the value): keyring,
    /// environment or missing; every connection when none is named.
    Status {
        /// Connection name from `connections.yaml` (default: all).
        connection: Option<String>,
    },
    /// Delete the connection's secret from the keyring.
    Delete {
        /// Connection name from `connections.yaml`.
        connection: String,
    },
}

/// Run `sqlwarden auth`.
pub(crate) fn run(config_dir: Option<&Path>, args: AuthArgs) -> ExitStatus {
    let policy = match session::load_policy(config_dir) {
        Ok(policy) => policy,
        Err(status) => return status,
    };
    let config = policy.config();
    let name = match &args.action {
        AuthAction::Set { connection, .. } | AuthAction::Delete { connection } => {
            connection.clone()
        }
        AuthAction::Status {
            connection: Some(connection),
        } => connection.clone(),
        AuthAction::Status { connection: None } => {
            for (name, connection) in &config.connections.connections {
                printer::out(&status_line(name, connection));
            }
            return ExitStatus::Success;
        }
    };
    let Some(connection) = config.connections.connections.get(&name) else {
        let known: Vec<String> = config
            .connections
            .connections
            .keys()
            .map(|k| format!("`{k}`"))
            .collect();
        printer::error(
            &format!("No connection named `{name}` in `connections.yaml`"),
            Some(&format!("Use one of: {}", known.join(", "))),
        );
        return ExitStatus::Error;
    };
    match args.action {
        AuthAction::Set { stdin, .. } => set(&name, connection, stdin),
        AuthAction::Status { .. } => {
            printer::out(&status_line(&name, connection));
            ExitStatus::Success
        }
        AuthAction::Delete { .. } => match secrets::delete(&name) {
            Ok(true) => {
                printer::out(&format!(
                    "Deleted the secret of `{name}` from the OS keyring"
                ));
                ExitStatus::Success
            }
            Ok(false) => {
                printer::out(&format!("The OS keyring held no secret for `{name}`"));
                ExitStatus::Success
            }
            Err(e) => {
                printer::error(&e.to_string(), Some(&e.hint()));
                ExitStatus::Failure
            }
        },
    }
}

/// Where one connection's secret comes from, as one line.
fn status_line(name: &str, connection: &Connection) -> String {
    match secrets::status(name, connection.engine()) {
        SecretSource::Keyring => format!("`{name}`: secret stored in the OS keyring"),
        SecretSource::Environment(var) => {
            format!("`{name}`: secret taken from environment variable `{var}`")
        }
        SecretSource::Missing => {
            format!("`{name}`: no secret stored (`sqlwarden auth set {name}` stores one)")
        }
    }
}

fn set(name: &str, connection: &Connection, from_stdin: bool) -> ExitStatus {
    let doc = match connection.engine() {
        EngineKind::Postgres => {
            read_value("Password", from_stdin, true).map(|password| SecretDoc::Postgres {
                password: Secret::new(password),
            })
        }
        EngineKind::MaxCompute => read_value("Access key id", from_stdin, false).and_then(|id| {
            let secret = read_value("Access key secret", from_stdin, true)?;
            let token = read_value("STS security token (empty for none)", from_stdin, true)
                .ok()
                .filter(|t| !t.is_empty());
            Ok(SecretDoc::MaxCompute(MaxComputeKeys {
                access_key_id: id,
                access_key_secret: Secret::new(secret),
                security_token: token.map(Secret::new),
            }))
        }),
    };
    let doc = match doc {
        Ok(doc) => doc,
        Err(e) => {
            printer::error(
                &format!("Could not read the secret: {e}"),
                Some("Run it in a terminal, or pass the value on stdin with `--stdin`"),
            );
            return ExitStatus::Error;
        }
    };
    match secrets::store(name, doc) {
        Ok(()) => {
            printer::out(&format!("Stored the secret of `{name}` in the OS keyring"));
            ExitStatus::Success
        }
        Err(e) => {
            printer::error(&e.to_string(), Some(&e.hint()));
            ExitStatus::Failure
        }
    }
}

fn read_value(prompt: &str, from_stdin: bool, hidden: bool) -> std::io::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if hidden {
        rpassword::prompt_password(format!("{prompt}: "))
    } else {
        printer::status(&format!("{prompt}: "));
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }
}
