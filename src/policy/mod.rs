//! Policy decisions: which tables, columns, rows, joins and limits a caller
//! gets on one source.
//!
//! [`Policy`] is built once from a loaded [`Config`]; [`SourceRules`] is the
//! view of one source that the gate and the tools consult. Nothing here does
//! I/O, and nothing here parses SQL: row-policy predicates are handed to the
//! gate as text, which parses and binds them.
//!
//! Name matching: Postgres table and column names are compared exactly (the
//! gate has already folded unquoted identifiers to lower case); MaxCompute
//! names are case-insensitive and compared in lower case.

use std::time::Duration;

use crate::config::{Config, EngineKind, Identity, JoinDef, RowPolicy, TablePolicy};

/// Built-in limits, used where no layer of config sets one.
pub mod builtin {
    /// Rows returned when the caller asks for no limit.
    pub const DEFAULT_LIMIT: u64 = 100;
    /// Most rows any query returns.
    pub const MAX_LIMIT: u64 = 1000;
    /// Seconds before a query is cancelled.
    pub const QUERY_TIMEOUT_SECONDS: u64 = 30;
    /// Bytes one cell may hold before it is cut.
    pub const MAX_CELL_BYTES: u64 = 4096;
    /// Bytes one result may hold before rows are cut.
    pub const MAX_RESULT_BYTES: u64 = 1024 * 1024;
    /// Most distinct tables in one query.
    pub const MAX_JOIN_TABLES: u32 = 3;
}

/// The merged policy of one process.
#[derive(Debug, Clone)]
pub struct Policy {
    config: Config,
}

/// Limits with every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// Rows returned when the caller asks for no limit.
    pub default_limit: u64,
    /// Most rows any query returns.
    pub max_limit: u64,
    /// Time before a query is cancelled.
    pub query_timeout: Duration,
    /// Bytes one cell may hold before it is cut.
    pub max_cell_bytes: u64,
    /// Bytes one result may hold before rows are cut.
    pub max_result_bytes: u64,
    /// Estimated bytes one query may scan (MaxCompute), if budgeted.
    pub max_scan_bytes: Option<u64>,
    /// Estimated bytes one session may scan (MaxCompute), if budgeted.
    pub max_session_scan_bytes: Option<u64>,
}

/// Security switches with every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSecurity {
    /// Refuse `*` and `t.*` on every table.
    pub ban_select_star: bool,
    /// Refuse joins that are not approved.
    pub deny_unapproved_join: bool,
    /// Most distinct tables in one query.
    pub max_join_tables: u32,
}

/// One source's rules, as the gate and the tools see them.
#[derive(Debug, Clone)]
pub struct SourceRules<'a> {
    /// Connection name.
    pub name: &'a str,
    /// Engine of the connection.
    pub engine: EngineKind,
    /// Schema (Postgres) or project (MaxCompute) for unqualified names.
    pub default_namespace: &'a str,
    /// Limits for this source.
    pub limits: EffectiveLimits,
    /// Security switches for this source.
    pub security: EffectiveSecurity,
    /// The caller.
    pub identity: &'a Identity,
    policy: &'a Policy,
}

impl Policy {
    /// Build the decision layer from a loaded config.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// The config this policy was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `tool` is switched on (every tool is, unless `policy.yaml`
    /// sets it to `false`).
    pub fn tool_enabled(&self, tool: &str) -> bool {
        todo!("policy helper: {tool}")
    }

    /// The caller's identity (an anonymous one when policy names none).
    pub fn identity(&self) -> &Identity {
        todo!("policy helper")
    }

    /// The rules of one configured source, or `None` when no connection of
    /// that name exists.
    pub fn source(&self, name: &str) -> Option<SourceRules<'_>> {
        todo!("policy helper: {name}")
    }
}

impl<'a> SourceRules<'a> {
    /// The policy entry of an allowed table, by its normalised key
    /// (`schema.table` or `project[.schema].table`).
    pub fn table(&self, key: &str) -> Option<&'a TablePolicy> {
        todo!("policy helper: {key} {:?}", self.policy.config.dir)
    }

    /// Every allowed table with its key, in key order.
    pub fn tables(&self) -> Vec<(&'a str, &'a TablePolicy)> {
        todo!("policy helper")
    }

    /// Normalise a table key for this engine (lower case on MaxCompute).
    pub fn normalize_key(&self, key: &str) -> String {
        todo!("policy helper: {key}")
    }

    /// Whether `column` of allowed table `table` may be read.
    pub fn column_allowed(&self, table: &str, column: &str) -> bool {
        todo!("policy helper: {table} {column}")
    }

    /// Whether the table has column rules (`allowed_columns` or
    /// `denied_columns`), which makes `*` on it refused.
    pub fn has_column_rules(&self, table: &str) -> bool {
        todo!("policy helper: {table}")
    }

    /// The row policies that apply to the caller on `table` (all of them
    /// hold at once).
    pub fn row_policies(&self, table: &str) -> Vec<&'a RowPolicy> {
        todo!("policy helper: {table}")
    }

    /// Approved joins of this source that touch `table` (all approved joins
    /// when `table` is `None`).
    pub fn approved_joins(&self, table: Option<&str>) -> Vec<&'a JoinDef> {
        todo!("policy helper: {table:?}")
    }

    /// The most restrictive row limit for a query over `tables`: the
    /// requested limit (or `default_limit`), each table's `max_limit`, each
    /// applying row policy's `max_limit`, and the source's `max_limit`.
    pub fn row_limit(&self, tables: &[&str], requested: Option<u64>) -> u64 {
        todo!("policy helper: {tables:?} {requested:?}")
    }
}
