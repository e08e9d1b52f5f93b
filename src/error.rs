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

use serde::{Deserialize, Serialize};

/// Every error code sqlwarden can return, as spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The table is not listed in policy for this source.
    TableNotAllowed,
    /// A column the policy denies (or does not allow) was referenced.
    ColumnNotAllowed,
    /// `*` or `t.*` returning rows where policy forbids it.
    SelectStarNotAllowed,
    /// The SQL did not parse in the engine's dialect.
    SqlParseError,
    /// More than one statement was sent.
    SqlMultipleStatements,
    /// The statement is not a read-only query.
    SqlReadonlyOnly,
    /// The query reads no table at all.
    TableReferenceRequired,
    /// `LIMIT` is not a plain integer literal.
    LimitMustBeLiteral,
    /// `LIMIT` is zero or negative.
    LimitMustBePositive,
    /// A rate limit from policy was hit.
    RateLimitExceeded,
    /// A bug or unexpected failure inside sqlwarden; details are in the log.
    InternalError,
    /// No connection of that name is configured.
    SourceNotFound,
    /// The tool is switched off in `policy.yaml`.
    ToolDisabled,
    /// The tool's arguments are missing, of the wrong type or unknown.
    InvalidArgument,
    /// A function outside the engine's allow-list was called.
    FunctionNotAllowed,
    /// A system schema (`pg_catalog`, `information_schema`, ...) was referenced.
    SystemSchemaNotAllowed,
    /// `FOR UPDATE` / `FOR SHARE` and friends.
    LockingNotAllowed,
    /// Two tables were related without an approved join.
    JoinNotApproved,
    /// More distinct tables than `max_join_tables`.
    TooManyJoinTables,
    /// A table that requires a partition predicate got none.
    PartitionFilterRequired,
    /// The query ran past its timeout and was cancelled.
    QueryTimeout,
    /// The estimated scan is over the per-query or per-session budget.
    CostBudgetExceeded,
    /// The result is over a hard size limit that truncation cannot fix.
    ResultTooLarge,
    /// No secret is stored for the connection.
    CredentialsMissing,
    /// The database could not be reached.
    BackendUnavailable,
    /// The database refused or failed the query.
    BackendError,
    /// No metric of that name exists in the catalog.
    MetricNotFound,
    /// The dimension is not allowed for the metric.
    DimensionNotAllowed,
    /// The engine's own parser reads the rendered query differently from
    /// the gate; nothing ran (details in the log and the audit record).
    GateMismatch,
    /// The database login could write or step around policy (superuser,
    /// BYPASSRLS, CREATEROLE, server files, write grants), and policy does
    /// not allow serving such a login.
    PrivilegedLogin,
}

impl ErrorCode {
    /// The wire spelling, for example `TABLE_NOT_ALLOWED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TableNotAllowed => "TABLE_NOT_ALLOWED",
            Self::ColumnNotAllowed => "COLUMN_NOT_ALLOWED",
            Self::SelectStarNotAllowed => "SELECT_STAR_NOT_ALLOWED",
            Self::SqlParseError => "SQL_PARSE_ERROR",
            Self::SqlMultipleStatements => "SQL_MULTIPLE_STATEMENTS",
            Self::SqlReadonlyOnly => "SQL_READONLY_ONLY",
            Self::TableReferenceRequired => "TABLE_REFERENCE_REQUIRED",
            Self::LimitMustBeLiteral => "LIMIT_MUST_BE_LITERAL",
            Self::LimitMustBePositive => "LIMIT_MUST_BE_POSITIVE",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::SourceNotFound => "SOURCE_NOT_FOUND",
            Self::ToolDisabled => "TOOL_DISABLED",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::FunctionNotAllowed => "FUNCTION_NOT_ALLOWED",
            Self::SystemSchemaNotAllowed => "SYSTEM_SCHEMA_NOT_ALLOWED",
            Self::LockingNotAllowed => "LOCKING_NOT_ALLOWED",
            Self::JoinNotApproved => "JOIN_NOT_APPROVED",
            Self::TooManyJoinTables => "TOO_MANY_JOIN_TABLES",
            Self::PartitionFilterRequired => "PARTITION_FILTER_REQUIRED",
            Self::QueryTimeout => "QUERY_TIMEOUT",
            Self::CostBudgetExceeded => "COST_BUDGET_EXCEEDED",
            Self::ResultTooLarge => "RESULT_TOO_LARGE",
            Self::CredentialsMissing => "CREDENTIALS_MISSING",
            Self::BackendUnavailable => "BACKEND_UNAVAILABLE",
            Self::BackendError => "BACKEND_ERROR",
            Self::MetricNotFound => "METRIC_NOT_FOUND",
            Self::DimensionNotAllowed => "DIMENSION_NOT_ALLOWED",
            Self::GateMismatch => "GATE_MISMATCH",
            Self::PrivilegedLogin => "PRIVILEGED_LOGIN",
        }
    }

    /// True when the code is a policy decision (the gate or policy said no),
    /// as opposed to a failure of the backend or of sqlwarden itself. The
    /// audit record's `policy_decision` is `deny` exactly for these.
    pub fn is_policy_denial(self) -> bool {
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
    pub fn with_untrusted_detail(mut self, detail: impl Into<String>) -> Self {
        self.untrusted_detail = Some(detail.into());
        self
    }

    /// Attach detail for the log only.
    pub fn with_internal(mut self, detail: impl Into<String>) -> Self {
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
