//! The error codes every refusal and failure carries, and the error type that
//! tools, the gate and the engines return.
//!
//! One [`ErrorCode`] enum is the whole vocabulary the agent sees; the mapping
//! from an internal failure to a code happens where the failure is understood
//! (the gate, an engine), never at a call site that only passes it on.
//! A [`ToolError`] keeps three kinds of text apart: the message and hint that
//! sqlwarden wrote (safe to show), text that came from the database (shown
//! only inside the untrusted-data fence), and internal detail (log and audit
//! only, never the agent).

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Declares [`ErrorCode`] from one list: each code's wire spelling is
/// written once, and `as_str`, `FromStr` and serde all read it from there.
macro_rules! error_codes {
    ($($(#[$attr:meta])* $variant:ident = $wire:literal,)+) => {
        /// Every error code sqlwarden can return, as spelled on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$attr])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            const ALL: &'static [ErrorCode] = &[$(Self::$variant,)+];
            /// Every wire spelling, in the same order.
            const WIRE: &'static [&'static str] = &[$($wire,)+];

            /// Every code, in declaration order.
            pub fn all() -> &'static [ErrorCode] {
                Self::ALL
            }

            /// The wire spelling, for example `TABLE_NOT_ALLOWED`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }
    };
}

error_codes! {
    /// The table is not listed in policy for this source.
    TableNotAllowed = "TABLE_NOT_ALLOWED",
    /// A column the policy denies (or does not allow) was referenced.
    ColumnNotAllowed = "COLUMN_NOT_ALLOWED",
    /// `*` or `t.*` returning rows where policy forbids it.
    SelectStarNotAllowed = "SELECT_STAR_NOT_ALLOWED",
    /// The SQL did not parse in the engine's dialect.
    SqlParseError = "SQL_PARSE_ERROR",
    /// More than one statement was sent.
    SqlMultipleStatements = "SQL_MULTIPLE_STATEMENTS",
    /// The statement is not a read-only query.
    SqlReadonlyOnly = "SQL_READONLY_ONLY",
    /// The query reads no table at all.
    TableReferenceRequired = "TABLE_REFERENCE_REQUIRED",
    /// `LIMIT` is not a plain integer literal.
    LimitMustBeLiteral = "LIMIT_MUST_BE_LITERAL",
    /// `LIMIT` is zero or negative.
    LimitMustBePositive = "LIMIT_MUST_BE_POSITIVE",
    /// A rate limit from policy was hit.
    RateLimitExceeded = "RATE_LIMIT_EXCEEDED",
    /// A bug or unexpected failure inside sqlwarden; details are in the log.
    InternalError = "INTERNAL_ERROR",
    /// No connection of that name is configured.
    SourceNotFound = "SOURCE_NOT_FOUND",
    /// The tool is switched off in `policy.yaml`.
    ToolDisabled = "TOOL_DISABLED",
    /// The tool's arguments are missing, of the wrong type or unknown.
    InvalidArgument = "INVALID_ARGUMENT",
    /// A function outside the engine's allow-list was called.
    FunctionNotAllowed = "FUNCTION_NOT_ALLOWED",
    /// A system schema (`pg_catalog`, `information_schema`, ...) was referenced.
    SystemSchemaNotAllowed = "SYSTEM_SCHEMA_NOT_ALLOWED",
    /// `FOR UPDATE` / `FOR SHARE` and friends.
    LockingNotAllowed = "LOCKING_NOT_ALLOWED",
    /// Two tables were related without an approved join.
    JoinNotApproved = "JOIN_NOT_APPROVED",
    /// More distinct tables than `max_join_tables`.
    TooManyJoinTables = "TOO_MANY_JOIN_TABLES",
    /// A table that requires a partition predicate got none.
    PartitionFilterRequired = "PARTITION_FILTER_REQUIRED",
    /// The query ran past its timeout and was cancelled.
    QueryTimeout = "QUERY_TIMEOUT",
    /// The estimated scan is over the per-query or per-session budget.
    CostBudgetExceeded = "COST_BUDGET_EXCEEDED",
    /// The result is over a hard size limit that truncation cannot fix.
    ResultTooLarge = "RESULT_TOO_LARGE",
    /// No secret is stored for the connection.
    CredentialsMissing = "CREDENTIALS_MISSING",
    /// The database could not be reached.
    BackendUnavailable = "BACKEND_UNAVAILABLE",
    /// The database refused or failed the query.
    BackendError = "BACKEND_ERROR",
    /// No metric of that name exists in the catalog.
    MetricNotFound = "METRIC_NOT_FOUND",
    /// The dimension is not allowed for the metric.
    DimensionNotAllowed = "DIMENSION_NOT_ALLOWED",
    /// The engine's own parser reads the rendered query differently from
    /// the gate; nothing ran (details in the log and the audit record).
    GateMismatch = "GATE_MISMATCH",
    /// The database login could write or step around policy (superuser,
    /// BYPASSRLS, CREATEROLE, server files, write grants), and policy does
    /// not allow serving such a login.
    PrivilegedLogin = "PRIVILEGED_LOGIN",
}

impl ErrorCode {
    /// True when the code is a policy decision (the gate or policy said no),
    /// as opposed to a failure of the backend or of sqlwarden itself. The
    /// audit record's `policy_decision` is `deny` exactly for these.
    pub(crate) fn is_policy_denial(self) -> bool {
        matches!(
            self,
            Self::TableNotAllowed
                | Self::ColumnNotAllowed
                | Self::SelectStarNotAllowed
                | Self::SqlMultipleStatements
                | Self::SqlReadonlyOnly
                | Self::TableReferenceRequired
                | Self::LimitMustBeLiteral
                | Self::LimitMustBePositive
                | Self::RateLimitExceeded
                | Self::ToolDisabled
                | Self::FunctionNotAllowed
                | Self::SystemSchemaNotAllowed
                | Self::LockingNotAllowed
                | Self::JoinNotApproved
                | Self::TooManyJoinTables
                | Self::PartitionFilterRequired
                | Self::CostBudgetExceeded
                | Self::DimensionNotAllowed
                | Self::GateMismatch
                | Self::PrivilegedLogin
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is no error code's wire spelling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an error code (e.g. COLUMN_NOT_ALLOWED, TABLE_NOT_ALLOWED)")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    /// Read a wire spelling back (exactly as [`ErrorCode::as_str`] writes it).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownErrorCode(text.to_owned()))
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| de::Error::unknown_variant(&text, Self::WIRE))
    }
}

/// A failed tool call: what the agent is told, and what only the log keeps.
#[derive(Debug, Clone)]
pub struct ToolError {
    /// The code the agent can branch on.
    pub code: ErrorCode,
    /// One sentence written by sqlwarden, safe to show as is.
    pub message: String,
    /// How to fix it; names the exact command, argument or allowed choice.
    pub hint: String,
    /// Text that came from the database (an error message that may echo
    /// data). Shown to the agent only inside the untrusted-data fence.
    pub untrusted_detail: Option<String>,
    /// Detail for the log and the audit record only (the cause of an
    /// internal error). Never shown to the agent.
    pub internal: Option<String>,
}

impl ToolError {
    /// A new error with a message and a hint.
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
            untrusted_detail: None,
            internal: None,
        }
    }

    /// An internal error: the agent sees a generic message, the cause goes to
    /// the log and the audit record.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self {
            code: ErrorCode::InternalError,
            message: "sqlwarden hit an internal error while handling this call".into(),
            hint: "This is not caused by your request; the details are in the sqlwarden log. Try again, or report it to the sqlwarden maintainers".into(),
            untrusted_detail: None,
            internal: Some(cause.to_string()),
        }
    }

    /// Attach text that came from the database.
    pub(crate) fn with_untrusted_detail(mut self, detail: impl Into<String>) -> Self {
        self.untrusted_detail = Some(detail.into());
        self
    }

    /// Attach detail for the log only.
    pub(crate) fn with_internal(mut self, detail: impl Into<String>) -> Self {
        self.internal = Some(detail.into());
        self
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ToolError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
