//! Connection fields from the environment: `SQLWARDEN_CONN_<NAME>_HOST`,
//! `_PORT`, `_DBNAME` and `_USER` replace that field of PostgreSQL
//! connection `<NAME>` in `connections.yaml`.
//!
//! This is how a launcher that can only set environment variables (a
//! Claude Desktop bundle, whose form fills in `mcp_config.env`) points a
//! connection the user's config directory defines at a server. The rules
//! keep it from doing anything the user did not ask for:
//!
//! - only a connection `connections.yaml` defines can be changed (a
//!   variable never creates one), and only a PostgreSQL one;
//! - a variable in the namespace that names no connection, no field, or
//!   an unusable value is a config error naming the variable, never
//!   ignored (an empty variable counts as unset, as for secrets);
//! - `sslmode` left to its default follows the *new* host (a remote host
//!   gets `verify-full`), so moving a connection never weakens TLS;
//! - what was replaced is kept in [`crate::config::Config::env_fields`]
//!   (variable names, never values) for `sqlwarden check` and the log.
//!
//! `<NAME>` is the connection name upper-cased with every character that
//! is not an ASCII letter or digit replaced by `_` ([`env_name`]), the same
//! rule as the secret variables (`SQLWARDEN_<NAME>_PASSWORD`). The `CONN_`
//! infix keeps the two namespaces apart: a field variable never reads as a
//! secret variable, or as one of the test harness's `SQLWARDEN_TEST_*`.

use std::ffi::OsString;
use std::path::Path;

use super::connections::default_sslmode;
use super::yaml_tree::YamlTree;
use super::{ConfigError, Connection, ConnectionsFile};

/// The prefix of every connection field variable.
pub const CONN_PREFIX: &str = "SQLWARDEN_CONN_";

/// A connection field the environment may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnField {
    /// `host`.
    Host,
    /// `port`.
    Port,
    /// `dbname`.
    Dbname,
    /// `user`.
    User,
}

impl ConnField {
    /// Every field, in the order messages list them.
    pub const ALL: [ConnField; 4] = [Self::Host, Self::Port, Self::Dbname, Self::User];

    /// The variable's suffix (`HOST`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Host => "HOST",
            Self::Port => "PORT",
            Self::Dbname => "DBNAME",
            Self::User => "USER",
        }
    }

    /// The key in `connections.yaml` (`host`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Port => "port",
            Self::Dbname => "dbname",
            Self::User => "user",
        }
    }
}

/// One field of one connection that a variable replaced. Only names: the
/// values stay out of logs and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvField {
    /// The connection, as named in `connections.yaml`.
    pub connection: String,
    /// The field.
    pub field: ConnField,
    /// The variable it came from.
    pub variable: String,
}

/// A connection name as it appears in variable names: upper-cased, every
/// character that is not an ASCII letter or digit replaced by `_`
/// (`crm-eu` gives `CRM_EU`).
pub fn env_name(connection: &str) -> String {
    connection
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The variable that sets `field` of connection `connection`:
/// `SQLWARDEN_CONN_<NAME>_<FIELD>`.
pub fn field_var(connection: &str, field: ConnField) -> String {
    format!("{CONN_PREFIX}{}_{}", env_name(connection), field.suffix())
}

/// Apply the field variables among `vars` to `connections`, parsed from
/// `file` whose text is `text`. Returns what was replaced, or every
/// variable that could not be applied.
pub(crate) fn apply(
    file: &Path,
    text: &str,
    connections: &mut ConnectionsFile,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Vec<EnvField>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut applied = Vec::new();
    let mut wanted: Vec<(String, ConnField, Setting)> = Vec::new();
    for (key, value) in vars {
        // A name that is not UTF-8 cannot spell the ASCII prefix.
        let Some(key) = key.to_str() else { continue };
        let Some(rest) = key.strip_prefix(CONN_PREFIX) else {
            continue;
        };
        let error = |message: String| {
            ConfigError::in_file(file, format!("environment variable `{key}`: {message}"))
        };
        let Some((name, field)) = split_field(rest) else {
            if !is_secret_var(key, connections) {
                errors.push(error(format!(
                    "it names no connection field; expected {} (a password goes in `SQLWARDEN_<NAME>_PASSWORD`)",
                    expected_vars("<NAME>")
                )));
            }
            continue;
        };
        let Some(value) = value.to_str() else {
            errors.push(error("its value is not UTF-8 text".into()));
            continue;
        };
        // Unset and empty are the same, as for the secret variables (a
        // launcher may fill a field it was given no value for with "").
        if value.is_empty() {
            continue;
        }
        let matches: Vec<&String> = connections
            .connections
            .keys()
            .filter(|c| env_name(c) == name)
            .collect();
        let connection = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                errors.push(error(no_such_connection(name, connections)));
                continue;
            }
            many => {
                let names: Vec<String> = many.iter().map(|n| format!("`{n}`")).collect();
                errors.push(error(format!(
                    "connections {} all map to `{name}`, so the variable is ambiguous; rename one of them in connections.yaml",
                    names.join(" and ")
                )));
                continue;
            }
        };
        match checked_value(field, value) {
            Ok(value) => wanted.push((connection, field, value)),
            Err(problem) => errors.push(error(format!(
                "it sets `{}` of connection `{connection}`, but {problem}",
                field.key()
            ))),
        }
    }
    for (connection, field, value) in wanted {
        let variable = field_var(&connection, field);
        let Some(Connection::Postgres(pg)) = connections.connections.get_mut(&connection) else {
            errors.push(ConfigError::in_file(
                file,
                format!(
                    "environment variable `{variable}`: connection `{connection}` is a MaxCompute connection; only PostgreSQL connections take {} from the environment",
                    suffixes()
                ),
            ));
            continue;
        };
        match value {
            Setting::Host(host) => {
                if !sslmode_written(text, &connection) {
                    pg.sslmode = default_sslmode(&host);
                }
                pg.host = host;
            }
            Setting::Port(port) => pg.port = port,
            Setting::Dbname(dbname) => pg.dbname = dbname,
            Setting::User(user) => pg.user = user,
        }
        applied.push(EnvField {
            connection,
            field,
            variable,
        });
    }
    if errors.is_empty() {
        applied.sort_by(|a, b| a.variable.cmp(&b.variable));
        Ok(applied)
    } else {
        Err(errors)
    }
}

/// `<NAME>_<FIELD>` split into the name part and the field.
fn split_field(rest: &str) -> Option<(&str, ConnField)> {
    ConnField::ALL.into_iter().find_map(|field| {
        let name = rest.strip_suffix(field.suffix())?.strip_suffix('_')?;
        (!name.is_empty()).then_some((name, field))
    })
}

/// The suffixes of the secret variables `SQLWARDEN_<NAME>_<SUFFIX>`
/// (`src/secrets/env.rs`, whose tests keep the two lists equal).
pub(crate) const SECRET_SUFFIXES: [&str; 4] = [
    "PASSWORD",
    "ACCESS_KEY_ID",
    "ACCESS_KEY_SECRET",
    "SECURITY_TOKEN",
];

/// Whether `key` is the secret variable of a connection whose name starts
/// with `conn` (`SQLWARDEN_CONN_X_PASSWORD` for connection `conn_x`): that
/// variable belongs to the secrets, not to this module.
fn is_secret_var(key: &str, connections: &ConnectionsFile) -> bool {
    connections.connections.keys().any(|c| {
        key.strip_prefix(&format!("SQLWARDEN_{}_", env_name(c)))
            .is_some_and(|suffix| SECRET_SUFFIXES.contains(&suffix))
    })
}

/// A variable's value, checked for its field.
enum Setting {
    Host(String),
    Port(u16),
    Dbname(String),
    User(String),
}

/// `value` as `field`: a port is a whole number from 1 to 65535; the
/// others are [`plain_text`].
fn checked_value(field: ConnField, value: &str) -> Result<Setting, String> {
    match field {
        ConnField::Port => match value.parse::<u16>() {
            Ok(port) if port > 0 => Ok(Setting::Port(port)),
            _ => Err(
                "its value is not a TCP port; expected a whole number from 1 to 65535 (for example 5432)"
                    .into(),
            ),
        },
        ConnField::Host => plain_text(field, value).map(Setting::Host),
        ConnField::Dbname => plain_text(field, value).map(Setting::Dbname),
        ConnField::User => plain_text(field, value).map(Setting::User),
    }
}

/// Text without control characters or surrounding blanks, which would
/// only ever be a pasting mistake.
fn plain_text(field: ConnField, value: &str) -> Result<String, String> {
    if value.trim() != value {
        return Err(format!(
            "its value starts or ends with blanks; give the {} without them",
            field.key()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "its value holds a control character; give the {} as plain text",
            field.key()
        ));
    }
    Ok(value.to_owned())
}

/// Whether connection `connection` in `text` writes `sslmode:` itself.
/// When the file cannot be read as a tree, it is taken as not written, so
/// the new host's (stricter or equal) default applies.
fn sslmode_written(text: &str, connection: &str) -> bool {
    YamlTree::parse(text)
        .and_then(|tree| tree.root)
        .and_then(|root| {
            let (_, all) = root.entry("connections")?;
            let (_, one) = all.entry(connection)?;
            Some(one.entry("sslmode").is_some())
        })
        .unwrap_or(false)
}

fn no_such_connection(name: &str, connections: &ConnectionsFile) -> String {
    let known: Vec<String> = connections
        .connections
        .keys()
        .map(|c| format!("`{c}` ({})", field_var(c, ConnField::Host)))
        .collect();
    let known = if known.is_empty() {
        "it defines none".to_owned()
    } else {
        format!("it defines {}", known.join(", "))
    };
    format!(
        "connections.yaml defines no connection named `{}`; the environment only changes a connection the file defines ({known})",
        name.to_ascii_lowercase()
    )
}

fn suffixes() -> String {
    let names: Vec<&str> = ConnField::ALL.iter().map(|f| f.suffix()).collect();
    names.join(", ")
}

fn expected_vars(name: &str) -> String {
    let names: Vec<String> = ConnField::ALL
        .iter()
        .map(|f| format!("`{CONN_PREFIX}{name}_{}`", f.suffix()))
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests;
