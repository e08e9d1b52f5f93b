//! `sqlwarden grants --emit-sql [--source S] [--role NAME] [--grant-to LOGIN]`:
//! print the SQL for a NOLOGIN role that can read exactly what policy
//! allows on one PostgreSQL source.
//!
//! Columns come from `allowed_columns` when policy lists them; a table with
//! only `denied_columns` (or no column rules) needs the database to say
//! what else it has. Either way the table's columns are read once, so a
//! policy entry that drifted from the database is refused here instead of
//! breaking the script halfway.
//! The script goes to stdout for review; nothing is applied here. It ends
//! with the `temp_file_limit` cap for the login: only a superuser may set
//! that per query, and sqlwarden refuses to serve a superuser login, so the
//! administrator sets it on the login once (`ALTER ROLE … SET`), where the
//! login cannot raise it.

use std::path::Path;

use clap::Args;

use crate::config::{Config, Connection};
use crate::engine::Safeguards;
use crate::policy::grants::{quote_ident, readable_columns, GrantPlan, TableGrant};
use crate::tools::{ConfiguredEngines, EngineFactory};

use super::{printer, session, ExitStatus};

/// Role name used when neither `--role` nor the connection's `role:` names one.
const DEFAULT_ROLE: &str = "sqlwarden_ro";

/// Arguments of `sqlwarden grants`.
#[derive(Debug, Args)]
pub(crate) struct GrantsArgs {
    /// Print the SQL (the only mode: sqlwarden never applies grants itself).
    #[arg(long)]
    pub(crate) emit_sql: bool,
    /// The PostgreSQL connection (optional when only one exists).
    #[arg(long)]
    pub source: Option<String>,
    /// The role to create (default: the connection's `role:`, else
    /// `sqlwarden_ro`).
    #[arg(long)]
    pub role: Option<String>,
    /// A login to make a member of the role, so it may `SET ROLE` to it.
    #[arg(long, value_name = "LOGIN")]
    pub(crate) grant_to: Option<String>,
}

/// Run `sqlwarden grants`.
pub(crate) async fn run(config_dir: Option<&Path>, args: GrantsArgs) -> ExitStatus {
    if !args.emit_sql {
        printer::error(
            "`sqlwarden grants` only prints SQL for you to review and apply",
            Some("Run `sqlwarden grants --emit-sql`, read the output, then apply it with psql as an administrator"),
        );
        return ExitStatus::Error;
    }
    let policy = match session::load_policy(config_dir) {
        Ok(policy) => policy,
        Err(status) => return status,
    };
    let (name, connection) = match pick_source(policy.config(), args.source.as_deref()) {
        Ok(found) => found,
        Err(error) => {
            printer::error(&error.to_string(), Some(&error.hint()));
            return ExitStatus::Error;
        }
    };
    let Connection::Postgres(pg) = &connection else {
        printer::error(
            &format!("`{name}` is a MaxCompute connection; grants can only be emitted for PostgreSQL"),
            Some("On MaxCompute, grant the access key `Describe` and `Select` on the allowed tables in the project's ACL or RAM policy (and nothing else); `sqlwarden check` reports what the project allows"),
        );
        return ExitStatus::Error;
    };
    let role = args
        .role
        .clone()
        .or_else(|| pg.role.clone())
        .unwrap_or_else(|| DEFAULT_ROLE.to_owned());
    let Some(rules) = policy.source(&name) else {
        printer::error(
            &format!("No connection named `{name}` in `connections.yaml`"),
            Some("Pass `--source` with a connection name"),
        );
        return ExitStatus::Error;
    };
    let engine = match ConfiguredEngines.create(&name, &connection, rules.safeguards()) {
        Ok(engine) => engine,
        Err(e) => {
            printer::error(&format!("{} {}", e.code, e.message), Some(&e.hint));
            return ExitStatus::Failure;
        }
    };
    let mut tables = Vec::new();
    for (key, table) in rules.tables() {
        let (schema, table_name) = key.split_once('.').unwrap_or((&pg.default_schema, key));
        let database_columns: Vec<String> = match engine.table_columns(key).await {
            Ok(Some(columns)) => columns.into_iter().map(|c| c.name).collect(),
            Ok(None) => {
                printer::error(
                    &format!("Table `{key}` is allowed by policy but does not exist in `{name}`"),
                    Some("Fix the table key in policy.yaml; `sqlwarden check` lists every drift"),
                );
                return ExitStatus::Failure;
            }
            Err(e) => {
                printer::error(&format!("{} {}", e.code, e.message), Some(&e.hint));
                return ExitStatus::Failure;
            }
        };
        // A GRANT naming a missing column fails the whole script, so
        // refuse to print one.
        if let Some(missing) = table
            .allowed_columns
            .iter()
            .flatten()
            .find(|c| !database_columns.iter().any(|d| rules.same_name(d, c)))
        {
            printer::error(
                &format!("Column `{missing}` of `{key}` is allowed by policy but does not exist in `{name}`"),
                Some("Fix `allowed_columns` in policy.yaml; `sqlwarden check` lists every drift"),
            );
            return ExitStatus::Failure;
        }
        tables.push(TableGrant {
            schema: schema.to_owned(),
            table: table_name.to_owned(),
            columns: readable_columns(
                table.allowed_columns.as_deref(),
                &table.denied_columns,
                &database_columns,
                |a, b| rules.same_name(a, b),
            ),
        });
    }
    let caps = login_caps_sql(args.grant_to.as_deref(), &rules.safeguards());
    let plan = GrantPlan {
        role,
        grant_to: args.grant_to,
        header: format!(
            "sqlwarden grants for source `{name}` (database `{}`), policy sha256 {}\nA NOLOGIN role with SELECT on exactly the allowed columns; review, then apply as an administrator (psql -f).",
            pg.dbname,
            policy.config().policy_sha256
        ),
        tables,
    };
    printer::out(plan.to_sql().trim_end());
    printer::out(&caps);
    ExitStatus::Success
}

/// The `temp_file_limit` cap from policy, set on `login` (or, without
/// `--grant-to`, as a line to complete with the login's name).
fn login_caps_sql(login: Option<&str>, safeguards: &Safeguards) -> String {
    let kb = safeguards.temp_file_limit_bytes.div_ceil(1024);
    let comment = "-- Temporary files per query (policy `temp_file_limit_bytes`): only a superuser may set this,\n\
                   -- so set it on the login, where the login cannot raise it.";
    match login {
        Some(login) => format!(
            "{comment}\nALTER ROLE {} SET temp_file_limit = '{kb}kB';",
            quote_ident(login)
        ),
        None => format!("{comment}\n-- ALTER ROLE <login> SET temp_file_limit = '{kb}kB';"),
    }
}

/// The connection named by `--source`, or the only PostgreSQL one.
fn pick_source(config: &Config, source: Option<&str>) -> Result<(String, Connection), NoSource> {
    let connections = &config.connections.connections;
    let names = || {
        connections
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match source {
        Some(name) => connections
            .get(name)
            .map(|c| (name.to_owned(), c.clone()))
            .ok_or_else(|| NoSource::Unknown {
                name: name.to_owned(),
                names: names(),
            }),
        None => {
            let postgres: Vec<_> = connections
                .iter()
                .filter(|(_, c)| matches!(c, Connection::Postgres(_)))
                .collect();
            match postgres.as_slice() {
                [(name, c)] => Ok(((*name).clone(), (*c).clone())),
                _ => Err(NoSource::Ambiguous { names: names() }),
            }
        }
    }
}

/// Why `--source` names no connection grants can be emitted for.
#[derive(Debug, thiserror::Error)]
enum NoSource {
    /// No connection has that name.
    #[error("No connection named `{name}` in `connections.yaml`")]
    Unknown { name: String, names: String },
    /// No `--source`, and not exactly one PostgreSQL connection.
    #[error("Several (or no) PostgreSQL connections are configured; which one?")]
    Ambiguous { names: String },
}

impl NoSource {
    /// How to fix it: the configured names.
    fn hint(&self) -> String {
        match self {
            Self::Unknown { names, .. } => format!("Use one of: {names}"),
            Self::Ambiguous { names } => format!("Pass `--source NAME`, one of: {names}"),
        }
    }
}

#[cfg(test)]
mod tests;
