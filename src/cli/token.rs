//! `sqlwarden token create|list|revoke`: the static bearer tokens team
//! mode (`serve --http`) accepts.
//!
//! `create` prints the token once, on stdout and alone (so
//! `TOKEN=$(sqlwarden token create ...)` captures it), and stores only its
//! hash; `list` never shows a token or a hash; `revoke` keeps the record
//! (audit records name its id) and marks it unusable from the server's
//! next request on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, Subcommand};

use crate::auth::store::{self, NewToken, TokenRecord};
use crate::auth::{is_attribute_name, AuthError, DEFAULT_TOKEN_FILE};
use crate::config::{self, AttributeValue, Scalar};
use crate::server::http;

use super::{printer, ExitStatus};

/// Arguments of `sqlwarden token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The token store (default: `tokens.json` in the config directory,
    /// what `static_tokens: {}` in `server.yaml` reads).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) action: TokenAction,
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenAction {
    /// Make a token for one identity; prints it once, stores its hash.
    Create(CreateArgs),
    /// Show the tokens (ids, identities, dates, status; never a token).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; the server refuses it from its next request.
    Revoke {
        /// The token's id, as `token list` shows it (`tok_…`).
        id: String,
    },
}

/// Arguments of `token create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The identity's user id (what row policies and the audit log see).
    #[arg(long, value_name = "ID")]
    pub(crate) user: String,
    /// Roles, comma-separated or repeated (`--roles analyst,finance`).
    #[arg(long, value_name = "ROLE,...", value_delimiter = ',')]
    pub(crate) roles: Vec<String>,
    /// An attribute for row policies, `name=value` or `name=v1,v2` for a
    /// list; repeat for more.
    #[arg(long = "attr", value_name = "NAME=VALUE")]
    pub(crate) attrs: Vec<String>,
    /// When it stops working: a duration (`30d`, `12h`, `90m`, `2w`), a
    /// date (`2026-12-31`, the start of that day in UTC) or an RFC 3339
    /// time. Default: never.
    #[arg(long, value_name = "WHEN")]
    pub(crate) expires: Option<String>,
    /// What it is for (shown by `token list`).
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,
}

/// Run `sqlwarden token`.
pub(crate) fn run(config_dir: Option<&Path>, args: TokenArgs) -> ExitStatus {
    let path = match (args.file, config::resolve_dir(config_dir)) {
        (Some(file), _) => file,
        (None, Some(dir)) => match store_of(&dir) {
            Ok(path) => path,
            Err(status) => return status,
        },
        (None, None) => {
            printer::error(
                "No config directory: no home directory was found",
                Some("Pass `--config-dir DIR` or `--file FILE`"),
            );
            return ExitStatus::Error;
        }
    };
    match args.action {
        TokenAction::Create(create) => run_create(&path, create),
        TokenAction::List { json } => run_list(&path, json),
        TokenAction::Revoke { id } => match store::revoke(&path, &id) {
            Ok(record) => {
                printer::status(&format!(
                    "Revoked token {} (user `{}`); a running server refuses it from its next request",
                    record.id, record.user_id
                ));
                ExitStatus::Success
            }
            Err(e) => fail(&e),
        },
    }
}

/// The store `server.yaml` in `dir` names (`auth.static_tokens.file`), or
/// `tokens.json` there when it names none, so the operator and the server
/// always mean the same file.
fn store_of(dir: &Path) -> Result<PathBuf, ExitStatus> {
    let named = match http::settings::load(dir) {
        Ok(file) => file
            .and_then(|file| file.auth)
            .and_then(|auth| auth.token_file(dir)),
        Err(errors) => {
            for error in &errors {
                printer::error(&error.to_string(), None);
            }
            return Err(ExitStatus::Error);
        }
    };
    Ok(named.unwrap_or_else(|| dir.join(DEFAULT_TOKEN_FILE)))
}

fn run_create(path: &Path, args: CreateArgs) -> ExitStatus {
    let new = match new_token(args, Utc::now()) {
        Ok(new) => new,
        Err((message, hint)) => {
            printer::error(&message, Some(&hint));
            return ExitStatus::Error;
        }
    };
    match store::create(path, new) {
        Ok(created) => {
            printer::out(&created.token);
            let record = &created.record;
            printer::status(&format!(
                "Created token {} for `{}` (roles: {}; expires: {}) in `{}`.\nThis is the only time the token is shown: store it now (it is kept only as a hash).",
                record.id,
                record.user_id,
                if record.roles.is_empty() { "none".into() } else { record.roles.join(", ") },
                record.expires.map_or("never".into(), |at| at.to_rfc3339()),
                path.display()
            ));
            ExitStatus::Success
        }
        Err(e) => fail(&e),
    }
}

fn run_list(path: &Path, json: bool) -> ExitStatus {
    let tokens = match store::read(path) {
        Ok(file) => file.tokens,
        Err(AuthError::TokenStoreMissing { .. }) => Vec::new(),
        Err(e) => return fail(&e),
    };
    let now = Utc::now();
    if json {
        let rows: Vec<serde_json::Value> = tokens.iter().map(|t| listed(t, now)).collect();
        printer::out(&serde_json::Value::Array(rows).to_string());
        return ExitStatus::Success;
    }
    if tokens.is_empty() {
        printer::status(&format!(
            "No tokens in `{}`; `sqlwarden token create --user <id> --roles <role>` makes one",
            path.display()
        ));
        return ExitStatus::Success;
    }
    let mut lines = vec![[
        "ID".to_owned(),
        "USER".into(),
        "ROLES".into(),
        "ATTRIBUTES".into(),
        "CREATED".into(),
        "EXPIRES".into(),
        "STATUS".into(),
    ]];
    for t in &tokens {
        lines.push([
            t.id.clone(),
            printer::escape_line(&t.user_id).into_owned(),
            printer::escape_line(&t.roles.join(",")).into_owned(),
            printer::escape_line(&attributes_text(&t.attributes)).into_owned(),
            t.created.format("%Y-%m-%d %H:%M").to_string(),
            t.expires
                .map_or("never".into(), |at| at.format("%Y-%m-%d %H:%M").to_string()),
            status(t, now).into(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        printer::out(cells.join("  ").trim_end());
    }
    ExitStatus::Success
}

/// A record as `list --json` shows it: everything but the hash.
fn listed(t: &TokenRecord, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "user_id": t.user_id,
        "roles": t.roles,
        "attributes": t.attributes,
        "created": t.created,
        "expires": t.expires,
        "revoked": t.revoked,
        "description": t.description,
        "status": status(t, now),
    })
}

fn status(t: &TokenRecord, now: DateTime<Utc>) -> &'static str {
    if t.revoked.is_some() {
        "revoked"
    } else if t.expires.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

fn attributes_text(attributes: &BTreeMap<String, AttributeValue>) -> String {
    attributes
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::One(s) => scalar_text(s),
                AttributeValue::List(items) => {
                    items.iter().map(scalar_text).collect::<Vec<_>>().join(",")
                }
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Text(t) => t.clone(),
    }
}

fn fail(e: &AuthError) -> ExitStatus {
    printer::error(&e.to_string(), Some(&e.hint()));
    match e {
        AuthError::TokenNotFound { .. } => ExitStatus::Failure,
        _ => ExitStatus::Error,
    }
}

/// The checked request of `token create`, or a message and a hint.
fn new_token(args: CreateArgs, now: DateTime<Utc>) -> Result<NewToken, (String, String)> {
    let user_id = args.user.trim().to_owned();
    if user_id.is_empty() {
        return Err((
            "`--user` is empty".into(),
            "Name the user the token stands for, e.g. `--user alice`".into(),
        ));
    }
    let roles: Vec<String> = args
        .roles
        .iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    let mut attributes = BTreeMap::new();
    for attr in &args.attrs {
        let Some((name, value)) = attr.split_once('=') else {
            return Err((
                format!("`--attr {attr}` has no `=`"),
                "Write `--attr name=value`, or `--attr name=v1,v2` for a list".into(),
            ));
        };
        let name = name.trim();
        if !is_attribute_name(name) {
            return Err((
                format!("`{name}` is not an attribute name"),
                "Use letters, digits and `_`, starting with a letter or `_` (row policies write `${user.<name>}`)".into(),
            ));
        }
        let value = if value.contains(',') {
            AttributeValue::List(
                value
                    .split(',')
                    .map(|v| Scalar::Text(v.trim().to_owned()))
                    .collect(),
            )
        } else {
            AttributeValue::One(Scalar::Text(value.trim().to_owned()))
        };
        if attributes.insert(name.to_owned(), value).is_some() {
            return Err((
                format!("attribute `{name}` is given twice"),
                format!("Give it once; a list is `--attr {name}=v1,v2`"),
            ));
        }
    }
    let expires = match &args.expires {
        None => None,
        Some(text) => {
            let at = parse_expiry(text, now).ok_or_else(|| {
                (
                    format!("`--expires {text}` is not a duration, date or time"),
                    "Use e.g. `30d`, `12h`, `2w`, `2026-12-31` or `2026-12-31T18:00:00Z`"
                        .to_owned(),
                )
            })?;
            if at <= now {
                return Err((
                    format!("`--expires {text}` is in the past"),
                    "Give a time in the future".into(),
                ));
            }
            Some(at)
        }
    };
    Ok(NewToken {
        user_id,
        roles,
        attributes,
        expires,
        description: args.description,
    })
}

/// `30d`, `12h`, `90m`, `2w`, `2026-12-31` or an RFC 3339 time.
fn parse_expiry(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc());
    }
    let unit = text.chars().last()?;
    let count: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    if count <= 0 {
        return None;
    }
    let span = match unit {
        'm' => Duration::try_minutes(count)?,
        'h' => Duration::try_hours(count)?,
        'd' => Duration::try_days(count)?,
        'w' => Duration::try_weeks(count)?,
        _ => return None,
    };
    now.checked_add_signed(span)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
