//! PostgreSQL failures mapped to sqlwarden's error codes, in one place.
//!
//! The mapping goes by SQLSTATE (and by tokio-postgres's error kind for
//! failures that never reached the server), never by the server's message
//! text. The server's own words reach the agent only as
//! `untrusted_detail`, which the envelope puts inside the fence.

use tokio_postgres::error::{DbError, SqlState};

use super::connect::{ConnectSettings, MessageTooLarge};
use crate::engine::result::cut_str;
use crate::error::{ErrorCode, ToolError};
use crate::secrets::env;

/// Most bytes kept of each part of the server's message. A message can
/// quote a value the query computed (`invalid input syntax for type
/// integer: "xxx…"`), as large as the value itself.
const MAX_SERVER_TEXT: usize = 2048;

/// The server's own message, for the fence, each part cut to
/// [`MAX_SERVER_TEXT`] bytes.
fn server_text(db: &DbError) -> String {
    let mut text = format!(
        "{} {}: {}",
        db.severity(),
        db.code().code(),
        cut(db.message())
    );
    if let Some(detail) = db.detail() {
        text.push_str("\nDETAIL: ");
        text.push_str(cut(detail));
    }
    if let Some(hint) = db.hint() {
        text.push_str("\nHINT: ");
        text.push_str(cut(hint));
    }
    text
}

/// `text` cut to at most [`MAX_SERVER_TEXT`] bytes, on a character boundary.
fn cut(text: &str) -> &str {
    cut_str(text, MAX_SERVER_TEXT)
}

/// Why the server did not let the login in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The server asked for a password and none is stored.
    NoPassword,
    /// The stored password was wrong (28P01).
    WrongPassword,
    /// The login itself was refused: unknown role, no `pg_hba.conf` entry
    /// (28000).
    Login,
}

fn credentials_missing(
    settings: &ConnectSettings,
    refusal: Refusal,
    detail: Option<String>,
) -> ToolError {
    let name = &settings.name;
    let user = &settings.user;
    let message = match refusal {
        Refusal::NoPassword => format!("connection `{name}` needs a password and none is stored"),
        Refusal::WrongPassword => {
            format!("the database refused the stored password of connection `{name}`")
        }
        Refusal::Login => format!("the database refused login `{user}` of connection `{name}`"),
    };
    let mut hint = format!(
        "Run `sqlwarden auth set {name}` to store the password of user `{user}`, or set `{}` (or `{}`) in sqlwarden's environment",
        env::connection_var(name, env::PASSWORD_SUFFIX),
        env::PGPASSWORD
    );
    if refusal == Refusal::Login {
        hint.push_str("; also check `user` of connection `");
        hint.push_str(name);
        hint.push_str("` in connections.yaml and the server's `pg_hba.conf`");
    }
    let error = ToolError::new(ErrorCode::CredentialsMissing, message, hint);
    match detail {
        Some(detail) => error.with_untrusted_detail(detail),
        None => error,
    }
}

fn unreachable(settings: &ConnectSettings, why: &str, cause: &tokio_postgres::Error) -> ToolError {
    ToolError::new(
        ErrorCode::BackendUnavailable,
        format!("cannot reach PostgreSQL for connection `{}`: {why}", settings.name),
        format!(
            "Check that the server is running and accepts connections at `{}` port {} (connections.yaml, connection `{}`), and that `sslmode` `{}` suits it",
            settings.host, settings.port, settings.name, settings.sslmode_name()
        ),
    )
    .with_internal(format!("{cause:?}"))
}

/// A failure while connecting.
pub(crate) fn connect_error(
    settings: &ConnectSettings,
    cause: &tokio_postgres::Error,
) -> ToolError {
    if let Some(db) = cause.as_db_error() {
        // SQLSTATEs are five characters; a short one (a broken server) has
        // no class.
        let class = db.code().code().get(..2).unwrap_or("");
        return match class {
            "28" => {
                let refusal = if *db.code() == SqlState::INVALID_PASSWORD {
                    if settings.has_password {
                        Refusal::WrongPassword
                    } else {
                        Refusal::NoPassword
                    }
                } else {
                    Refusal::Login
                };
                credentials_missing(settings, refusal, Some(server_text(db)))
            }
            _ => unreachable(settings, "the server refused the connection", cause)
                .with_untrusted_detail(server_text(db)),
        };
    }
    // tokio-postgres reports "the server asked for a password and we have
    // none" as a configuration error whose text it writes itself; it is the
    // only configuration error a built `Config` can still produce.
    let own_text = error_chain(cause);
    if own_text.contains("password missing") {
        return credentials_missing(settings, Refusal::NoPassword, None);
    }
    if own_text.contains("TLS") {
        return unreachable(settings, "the TLS handshake failed", cause);
    }
    unreachable(settings, "the connection failed", cause)
}

/// The error and all its sources, as one line.
fn error_chain(cause: &tokio_postgres::Error) -> String {
    let mut text = cause.to_string();
    let mut source = std::error::Error::source(cause);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Whether the query ended because our own timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Our timeout (or the server-side `statement_timeout` we set) has passed.
    Passed,
    /// Still within the timeout.
    NotPassed,
}

/// A failure while running a statement on an open connection.
pub(crate) fn query_error(
    settings: &ConnectSettings,
    cause: &tokio_postgres::Error,
    deadline: Deadline,
) -> ToolError {
    let Some(db) = cause.as_db_error() else {
        return ToolError::new(
            ErrorCode::BackendUnavailable,
            format!(
                "lost the connection to PostgreSQL for connection `{}`",
                settings.name
            ),
            "Try again; if it keeps failing, check that the server is running",
        )
        .with_internal(format!("{cause:?}"));
    };
    let detail = server_text(db);
    let code = db.code();
    let error = if *code == SqlState::QUERY_CANCELED && deadline == Deadline::Passed {
        timeout_error()
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        ToolError::new(
            ErrorCode::SqlReadonlyOnly,
            "the query tried to write, and the read-only transaction refused it",
            "Only read-only queries run here; remove the function or clause that writes",
        )
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        let who = match &settings.role {
            Some(role) => format!("role `{role}`"),
            None => format!("user `{}`", settings.user),
        };
        ToolError::new(
            ErrorCode::BackendError,
            format!("the database denied {who} access to part of this query"),
            format!("Query only what {who} may read, or ask the database administrator to GRANT SELECT on it"),
        )
    } else if *code == SqlState::CONFIGURATION_LIMIT_EXCEEDED {
        ToolError::new(
            ErrorCode::BackendError,
            "the query needed more temporary file space than temp_file_limit allows, and was stopped",
            "Narrow the query (filters, fewer rows to sort or hash, aggregates); the cap is policy's `temp_file_limit_bytes` or the login's own `temp_file_limit`",
        )
    } else if code.code().starts_with("08")
        || code.code().starts_with("57P")
        || code.code().starts_with("53")
    {
        ToolError::new(
            ErrorCode::BackendUnavailable,
            format!(
                "PostgreSQL for connection `{}` is unavailable",
                settings.name
            ),
            "Try again later; the server is shutting down, restarting or out of resources",
        )
    } else {
        ToolError::new(
            ErrorCode::BackendError,
            "PostgreSQL rejected the query",
            "Read the database's message and fix the SQL; `describe_table` lists each table's columns and types",
        )
    };
    error.with_untrusted_detail(detail)
}

/// A failure of the `SET LOCAL` prelude: with a role configured, the
/// likely cause is the role (missing, or the login is not a member), which
/// is a configuration problem rather than a problem of the query.
pub(crate) fn prelude_error(
    settings: &ConnectSettings,
    cause: &tokio_postgres::Error,
    deadline: Deadline,
) -> ToolError {
    let role_refused = cause.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_PARAMETER_VALUE
            || *db.code() == SqlState::INSUFFICIENT_PRIVILEGE
    });
    match (&settings.role, role_refused) {
        (Some(role), true) => ToolError::new(
            ErrorCode::BackendError,
            format!(
                "connection `{}` cannot switch to role `{role}`",
                settings.name
            ),
            format!(
                "Check `role` of connection `{}` in connections.yaml: the role must exist and user `{}` must be a member of it",
                settings.name, settings.user
            ),
        )
        .with_untrusted_detail(cause.as_db_error().map(server_text).unwrap_or_default()),
        _ => query_error(settings, cause, deadline),
    }
}

/// The server sent a message larger than sqlwarden holds, and the guard
/// ended the connection before keeping it.
pub(crate) fn message_too_large(too_large: &MessageTooLarge) -> ToolError {
    ToolError::new(
        ErrorCode::ResultTooLarge,
        "the database sent one piece of the answer larger than sqlwarden holds at once, so the query was stopped",
        "Select fewer or smaller values; a constant computed in a filter is shown whole in a plan, so compare with a shorter value",
    )
    .with_internal(too_large.to_string())
}

/// The query ran past its timeout and was cancelled.
pub(crate) fn timeout_error() -> ToolError {
    ToolError::new(
        ErrorCode::QueryTimeout,
        "the query ran past its timeout and was cancelled",
        "Narrow the query (filters, fewer joins, aggregates), or ask for `query_timeout_seconds` to be raised in policy.yaml",
    )
}

/// The client cancelled the call while the query ran.
pub(crate) fn cancelled_error() -> ToolError {
    ToolError::new(
        ErrorCode::BackendError,
        "the query was cancelled because the client cancelled the call",
        "Nothing ran to completion; call the tool again if the result is still wanted",
    )
}

#[cfg(test)]
mod tests;
