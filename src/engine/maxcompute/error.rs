//! MaxCompute failures, typed, and their one mapping to an [`ErrorCode`].
//!
//! A service error keeps the ODPS `Code`, the message and the request id
//! (docs/maxcompute-rest.md §5). The mapping decides by `Code` first and the
//! `ODPS-xxxxxxx` prefix second, never by the wording of a message (§8.5:
//! the wording differs between server versions). Text the server wrote may
//! echo the query or data, so it reaches the agent only as untrusted detail.

use crate::error::{ErrorCode, ToolError};

use super::tunnel::StreamError;

/// A MaxCompute request or job that did not give what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum McError {
    /// The service answered with an error document.
    #[error("MaxCompute answered HTTP {status} `{code}` (request id {request_id:?}): {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// The `<Code>` element (or a fallback from the status).
        code: String,
        /// The `<Message>` element.
        message: String,
        /// `x-odps-request-id` or `<RequestId>`.
        request_id: Option<String>,
    },
    /// The service could not be reached or the connection broke.
    #[error("could not reach MaxCompute at `{host}`: {detail}")]
    Network {
        /// Host and port tried.
        host: String,
        /// The transport's description (no secrets: URLs carry none).
        detail: String,
    },
    /// The service answered, but not in a shape this client understands.
    #[error("unexpected answer from MaxCompute: {0}")]
    Protocol(String),
    /// A SQL or SQLCost task finished as failed.
    #[error("MaxCompute task failed: {message}")]
    TaskFailed {
        /// The task's result text, e.g. `ODPS-0130161:[1,8] Parse exception - …`.
        message: String,
        /// The instance that ran it.
        instance_id: String,
    },
    /// The instance tunnel stream was corrupt or cut short.
    #[error("instance tunnel stream: {0}")]
    Stream(#[from] StreamError),
    /// MaxQA is configured but cannot be used (no interactive quota, no
    /// connection), and falling back offline is switched off.
    #[error("MaxQA is not usable: {0}")]
    Maxqa(String),
    /// The project's instance-tunnel download sessions are spent for now
    /// (200 per 5 minutes), and the result cannot be read inline.
    #[error("the instance tunnel session budget is spent: {0}")]
    TunnelBudget(String),
    /// `result_read: inline`, but the query asks for more rows than an
    /// inline result can hold.
    #[error("{rows} rows do not fit an inline result")]
    InlineTooSmall {
        /// Rows the query would read (its applied limit plus one).
        rows: u64,
    },
}

/// Service codes that mean the access key itself was refused.
const CREDENTIAL_CODES: &[&str] = &[
    "SignatureNotMatch",
    "InvalidAccessKeyId",
    "AuthorizationRequired",
    "Unauthorized",
    "InvalidStsToken",
    "SecurityTokenExpired",
];

/// Message prefixes that mean the same, for codes like `InvalidParameter`.
const CREDENTIAL_PREFIXES: &[&str] = &["ODPS-0410042", "ODPS-0410051"];

/// Codes that mean the request's clock is off.
const CLOCK_CODES: &[&str] = &[
    "RequestTimeTooSkewd",
    "RequestTimeTooSkewed",
    "AuthenticationRequestExpired",
];

/// Codes that mean the key is valid but lacks a permission.
const PERMISSION_CODES: &[&str] = &["NoPermission", "AccessDenied", "Forbidden"];
const PERMISSION_PREFIXES: &[&str] = &["ODPS-0420095", "ODPS-0130013"];

/// Codes that mean "try later".
pub(crate) const THROTTLE_CODES: &[&str] = &["QPSExceeded", "SlotExceeded", "FlowExceeded"];

/// Codes that mean the object does not exist.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchObject",
    "NoSuchTable",
    "NoSuchProject",
    "NoSuchSchema",
    "NoSuchPartition",
];

impl McError {
    /// True when the service said the object does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            Self::Service {
                status,
                code,
                message,
                ..
            } => {
                NOT_FOUND_CODES.contains(&code.as_str())
                    || message.starts_with("ODPS-0130131")
                    || (*status == 404 && code.is_empty())
            }
            _ => false,
        }
    }

    /// Map to the error the agent sees, for connection `connection`.
    pub(crate) fn to_tool_error(&self, connection: &str) -> ToolError {
        let internal = self.to_string();
        let mapped = match self {
            Self::Service { status, code, message, request_id } => {
                service_error(connection, *status, code, message, request_id.as_deref())
            }
            Self::Network { host, .. } => ToolError::new(
                ErrorCode::BackendUnavailable,
                format!("MaxCompute at `{host}` could not be reached"),
                format!("Check the network and the `endpoint` of `{connection}` in connections.yaml, then try again"),
            ),
            Self::Protocol(_) => ToolError::new(
                ErrorCode::BackendError,
                "MaxCompute answered in a shape sqlwarden does not understand",
                format!("Check that the `endpoint` of `{connection}` points at a MaxCompute service (it usually ends in `/api`)"),
            ),
            Self::TaskFailed { message, instance_id } => {
                task_failed(connection, message, instance_id)
            }
            Self::Stream(StreamError::TooLarge { .. }) => ToolError::new(
                ErrorCode::ResultTooLarge,
                "A result row from MaxCompute is larger than sqlwarden reads (256 MiB)",
                "Select fewer or shorter columns, for example `substr(col, 1, 1000)` instead of a huge text column",
            ),
            Self::Maxqa(why) => ToolError::new(
                ErrorCode::BackendError,
                format!("MaxQA is switched on for `{connection}` but cannot run queries: {why}"),
                format!("Set `acceleration.interactive_quota` of `{connection}` in connections.yaml to an interactive quota (`sqlwarden check` shows which), allow `acceleration.fallback: true`, or set `acceleration.mode: off`"),
            ),
            Self::TunnelBudget(_) => ToolError::new(
                ErrorCode::RateLimitExceeded,
                "The MaxCompute project has used up its instance-tunnel downloads for now (200 sessions per 5 minutes), and this result is too large to read inline",
                "Wait a few minutes and try again, or ask for at most 9,999 rows (a smaller LIMIT), which sqlwarden can read without the tunnel",
            ),
            Self::InlineTooSmall { rows } => ToolError::new(
                ErrorCode::ResultTooLarge,
                format!("`{connection}` reads results inline (`result_read: inline`), which holds at most 10,000 rows; this query would read {rows}"),
                format!("Ask for at most 9,999 rows (a smaller LIMIT), or set `result_read: auto` for `{connection}` in connections.yaml"),
            ),
            Self::Stream(error) => ToolError::new(
                ErrorCode::BackendError,
                format!("The result stream from MaxCompute was damaged ({error}); no rows were returned"),
                "Run the query again; if it keeps failing, check the network path to the MaxCompute tunnel endpoint",
            ),
        };
        mapped.with_internal(internal)
    }
}

fn service_error(
    connection: &str,
    status: u16,
    code: &str,
    message: &str,
    request_id: Option<&str>,
) -> ToolError {
    let has_prefix = |prefixes: &[&str]| {
        prefixes
            .iter()
            .any(|p| message.starts_with(p) || code.starts_with(p))
    };
    let shown_code = safe_code(code);
    let rid = request_id.map(safe_code).unwrap_or_else(|| "none".into());
    let error = if CREDENTIAL_CODES.contains(&code) || has_prefix(CREDENTIAL_PREFIXES) {
        ToolError::new(
            ErrorCode::CredentialsMissing,
            format!("MaxCompute rejected the access key of `{connection}` (`{shown_code}`, request id `{rid}`)"),
            format!(
                "Store a valid key with `sqlwarden auth set {connection}`, or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS keys); an expired STS token must be renewed"
            ),
        )
    } else if CLOCK_CODES.contains(&code) {
        ToolError::new(
            ErrorCode::BackendError,
            format!("MaxCompute refused the request because this machine's clock is off by more than 15 minutes (`{shown_code}`)"),
            "Synchronise the system clock (for example enable NTP), then try again",
        )
    } else if PERMISSION_CODES.contains(&code) || has_prefix(PERMISSION_PREFIXES) {
        ToolError::new(
            ErrorCode::BackendError,
            format!("The MaxCompute account of `{connection}` lacks a permission for this request (`{shown_code}`, request id `{rid}`)"),
            "Ask the MaxCompute project owner to grant the account read access to the tables in policy.yaml",
        )
    } else if THROTTLE_CODES.contains(&code) || status >= 500 {
        ToolError::new(
            ErrorCode::BackendUnavailable,
            format!("MaxCompute is busy or failing (HTTP {status}, `{shown_code}`, request id `{rid}`) and retries did not help"),
            "Wait a little and try again",
        )
    } else {
        ToolError::new(
            ErrorCode::BackendError,
            format!("MaxCompute refused the request (HTTP {status}, `{shown_code}`, request id `{rid}`)"),
            "The server's message is attached; fix what it names, or check the table and project names in policy.yaml",
        )
    };
    error.with_untrusted_detail(message)
}

fn task_failed(connection: &str, message: &str, instance_id: &str) -> ToolError {
    let id = safe_code(instance_id);
    let error = if message.contains("full scan with all partitions") {
        ToolError::new(
            ErrorCode::PartitionFilterRequired,
            format!("MaxCompute refused to scan every partition (instance `{id}`)"),
            "Add a filter on the table's partition column, for example `WHERE pt = '20240101'`",
        )
    } else if message.contains("readonly mode") {
        ToolError::new(
            ErrorCode::SqlReadonlyOnly,
            format!("MaxCompute refused a write in read-only mode (instance `{id}`)"),
            "Only SELECT queries can run through sqlwarden",
        )
    } else {
        ToolError::new(
            ErrorCode::BackendError,
            format!("MaxCompute failed the query (instance `{id}` on `{connection}`)"),
            "The server's message is attached; fix the query it points at and try again",
        )
    };
    error.with_untrusted_detail(message)
}

/// Server-provided identifiers go into sqlwarden's own message, so keep
/// only a short run of identifier characters.
fn safe_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .take(64)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
