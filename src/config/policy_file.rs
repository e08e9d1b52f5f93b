//! `policy.yaml`: who the caller is, limits, switches, and per-source tables.
//!
//! These are the file's shapes only; the policy layer (`src/policy`) turns
//! them into decisions. Every limit is optional here so that layers
//! (built-in defaults, the user's file, a source's override, the managed
//! file) can be combined.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole `policy.yaml` file (the user's or the managed one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The person this process acts for.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Limits for every source unless a source overrides them.
    #[serde(default)]
    pub defaults: Limits,
    /// Security switches for every source unless a source overrides them.
    #[serde(default)]
    pub security: Security,
    /// Tool switches: a tool named here with `false` is off.
    #[serde(default)]
    pub tools: BTreeMap<String, bool>,
    /// Audit log settings.
    #[serde(default)]
    pub(crate) audit: AuditSettings,
    /// Per-source tables and overrides.
    #[serde(default)]
    pub sources: BTreeMap<String, SourcePolicy>,
    /// Call rate limits, per session and per tool (none unless set).
    #[serde(default)]
    pub(crate) rate_limits: RateLimits,
    /// The in-memory result cache (off unless `enabled: true`).
    #[serde(default)]
    pub(crate) cache: CacheSettings,
}

/// The caller's identity, used by row policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// A stable user id.
    pub(crate) user_id: String,
    /// Roles; row policies apply by role.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Values row-policy templates can use as `${user.<name>}`.
    #[serde(default)]
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
}

/// An identity attribute: a scalar or a list of scalars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(crate) enum AttributeValue {
    /// A list, rendered as a comma-separated list of literals.
    List(Vec<Scalar>),
    /// One value.
    One(Scalar),
}

/// A scalar attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(crate) enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string; always rendered as a quoted literal.
    Text(String),
}

/// Size, time and scan limits. `None` means "not set at this layer".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Rows returned when the caller asks for no limit.
    #[serde(default)]
    pub(crate) default_limit: Option<u64>,
    /// Most rows any query returns.
    #[serde(default)]
    pub max_limit: Option<u64>,
    /// Seconds before a query is cancelled.
    #[serde(default)]
    pub(crate) query_timeout_seconds: Option<u64>,
    /// Bytes one cell may hold before it is cut.
    #[serde(default)]
    pub(crate) max_cell_bytes: Option<u64>,
    /// Bytes one result may hold before rows are cut.
    #[serde(default)]
    pub(crate) max_result_bytes: Option<u64>,
    /// MaxCompute: estimated bytes one query may scan.
    #[serde(default)]
    pub(crate) max_scan_bytes: Option<u64>,
    /// MaxCompute: estimated bytes all queries of one session may scan.
    #[serde(default)]
    pub(crate) max_session_scan_bytes: Option<u64>,
    /// Rows all query tools together may return from this source in one
    /// session (`run_select_sql`, `preview_table`, `query_table`,
    /// `run_metric_query`).
    #[serde(default)]
    pub(crate) max_session_rows: Option<u64>,
    /// PostgreSQL: memory one sort or hash of a query may use before it
    /// spills to disk (`work_mem`, set for every query), in bytes.
    #[serde(default)]
    pub(crate) work_mem_bytes: Option<u64>,
    /// PostgreSQL: temporary file space one query may use
    /// (`temp_file_limit`), in bytes. Only a superuser or a login granted
    /// `SET` on it may set it per query; otherwise the administrator sets it
    /// on the login (`sqlwarden grants --emit-sql` prints the statement).
    #[serde(default)]
    pub(crate) temp_file_limit_bytes: Option<u64>,
}

/// Security switches. `None` means "not set at this layer".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Refuse `*` and `t.*` on every table.
    #[serde(default)]
    pub ban_select_star: Option<bool>,
    /// Refuse joins that are not approved in `catalog/joins.yaml`.
    #[serde(default)]
    pub(crate) deny_unapproved_join: Option<bool>,
    /// Most distinct tables in one query.
    #[serde(default)]
    pub(crate) max_join_tables: Option<u32>,
    /// PostgreSQL: serve queries even when the login is a superuser, has
    /// BYPASSRLS or CREATEROLE, may read or write server files, or can
    /// write (off unless `true`). SQL that reaches the server can undo a
    /// `SET ROLE`, so only the login's own privileges hold when the gate is
    /// wrong. The managed policy can switch this off for the user, never on.
    #[serde(default)]
    pub allow_privileged_login: Option<bool>,
    /// PostgreSQL: operators outside PostgreSQL's built-ins that queries
    /// may call, each as `schema.op` (for example `public.<->` of
    /// pgvector), written in SQL as `OPERATOR(schema.op)`. An operator runs
    /// the function behind it, so allowing one trusts every operator of
    /// that name in that schema: list only operators of extensions you
    /// trust, in schemas only administrators can create objects in. A
    /// source's list replaces the global one; the managed policy can only
    /// narrow it.
    #[serde(default)]
    pub allowed_operators: Option<Vec<String>>,
}

/// Audit log settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditSettings {
    /// Days of daily files to keep; older ones are pruned at start-up.
    #[serde(default)]
    pub(crate) retention_days: Option<u32>,
    /// When records are forced to disk (`background` unless set).
    #[serde(default)]
    pub(crate) sync: Option<AuditSync>,
}

/// When audit records are forced to stable storage.
///
/// Either way a record is written and flushed to the operating system
/// before the tool call returns, so a killed sqlwarden process loses
/// nothing; the choice only matters for a power cut or kernel crash.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AuditSync {
    /// A background thread `fdatasync`s within 5 ms of each write, one
    /// flush for the records of those milliseconds; a power cut can lose
    /// the last few milliseconds of records.
    #[default]
    Background,
    /// Every record is `fdatasync`ed before the call returns, at the price
    /// of one disk flush per tool call.
    EveryRecord,
}

/// Per-source policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePolicy {
    /// Limits that override the global defaults for this source.
    #[serde(default)]
    pub defaults: Limits,
    /// Security switches that override the global ones for this source.
    #[serde(default)]
    pub security: Security,
    /// Allowed tables, keyed `schema.table` (Postgres) or
    /// `project.table` / `project.schema.table` (MaxCompute).
    #[serde(default)]
    pub tables: BTreeMap<String, TablePolicy>,
}

/// What the caller may do with one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    /// Business domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// Owning team.
    #[serde(default)]
    pub(crate) owner: Option<String>,
    /// Sensitivity label.
    #[serde(default)]
    pub(crate) sensitivity: Option<String>,
    /// What one row is.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// When present, only these columns.
    #[serde(default)]
    pub allowed_columns: Option<Vec<String>>,
    /// Columns never allowed (applies when `allowed_columns` is absent, and
    /// also subtracts from it when both are given).
    #[serde(default)]
    pub(crate) denied_columns: Vec<String>,
    /// Column descriptions.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Most rows a query on this table returns.
    #[serde(default)]
    pub max_limit: Option<u64>,
    /// Row filters by role.
    #[serde(default)]
    pub(crate) row_policies: Vec<RowPolicy>,
    /// Partition injected when a query gives no partition predicate.
    #[serde(default)]
    pub(crate) default_partition: Option<DefaultPartition>,
    /// Refuse queries without a predicate on the partition column (unless a
    /// default partition can be injected).
    #[serde(default)]
    pub(crate) require_partition_filter: bool,
    /// Seconds a cached result of a query over this table stays fresh; a
    /// table without it makes every query that reads it uncacheable.
    #[serde(default)]
    pub(crate) cache_ttl_seconds: Option<u64>,
}

/// A row filter that applies to callers holding `role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RowPolicy {
    /// The role it applies to.
    pub role: String,
    /// A SQL boolean expression over the table's columns; `${user.<attr>}`
    /// placeholders become quoted literals from the identity.
    pub(crate) predicate: String,
    /// Most rows a query under this policy returns.
    #[serde(default)]
    pub max_limit: Option<u64>,
}

/// Which partition to read when the query names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefaultPartition {
    /// Partition column.
    pub(crate) field: String,
    /// How the value is chosen.
    pub(crate) strategy: PartitionStrategy,
}

/// Partition choice strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PartitionStrategy {
    /// The newest partition that holds data.
    MaxPt,
}

/// Call rate limits. A call must fit both the session's limit and its
/// tool's; `None` / absent means no limit at this layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimits {
    /// Every tool call of the session together.
    #[serde(default)]
    pub(crate) per_session: Option<RateLimit>,
    /// One tool's calls, keyed by tool name.
    #[serde(default)]
    pub tools: BTreeMap<String, RateLimit>,
}

/// Most calls per second, per minute and per hour; each window that is set
/// holds on its own, and at least one must be set.
///
/// Fixed window lengths (rather than a free `calls` / `seconds` pair) make
/// the managed merge exact: the stricter of two limits is the lower count
/// of each window, and both layers' limits then hold at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimit {
    /// Most calls in any one second.
    #[serde(default)]
    pub(crate) per_second: Option<u64>,
    /// Most calls in any one minute.
    #[serde(default)]
    pub(crate) per_minute: Option<u64>,
    /// Most calls in any one hour.
    #[serde(default)]
    pub(crate) per_hour: Option<u64>,
}

/// The in-memory result cache. Which queries it may hold is decided per
/// table (`cache_ttl_seconds`); this switches it on and bounds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CacheSettings {
    /// Whether results are cached at all (off unless `true`).
    #[serde(default)]
    pub(crate) enabled: Option<bool>,
    /// Most results held; the least recently used goes first.
    #[serde(default)]
    pub max_entries: Option<u64>,
    /// Most bytes of row data held; the least recently used goes first.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}
