//! Policy decisions: which tables, columns, rows, joins and limits a caller
//! gets on one source.
//!
//! [`Policy`] is built once from a loaded [`Config`]; [`SourceRules`] is the
//! view of one source that the gate and the tools consult. Nothing here does
//! I/O, and nothing here parses SQL: row-policy predicates are handed to the
//! gate as text, which parses and binds them.
//!
//! Layering: built-in constants, then `policy.defaults` / `policy.security`,
//! then the source's own `defaults` / `security`; the most specific layer
//! that sets a value wins (the managed policy has already tightened the file
//! before it gets here).
//!
//! Name matching: Postgres table and column names are compared exactly (the
//! gate has already folded unquoted identifiers to lower case); MaxCompute
//! names are case-insensitive and compared in lower case.

pub(crate) mod grants;
mod safeguards;

pub use safeguards::Safeguards;

use std::time::Duration;

use crate::config::{
    builtin, Config, EngineKind, Identity, JoinDef, Limits, RateLimits, RowPolicy, Security,
    SourcePolicy, TablePolicy,
};

/// The merged policy of one process.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Shared by the policies of every identity team mode serves.
    config: std::sync::Arc<Config>,
    identity: Identity,
}

/// Limits with every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EffectiveLimits {
    /// Rows returned when the caller asks for no limit.
    pub(crate) default_limit: u64,
    /// Most rows any query returns.
    pub max_limit: u64,
    /// Time before a query is cancelled.
    pub(crate) query_timeout: Duration,
    /// Bytes one cell may hold before it is cut.
    pub(crate) max_cell_bytes: u64,
    /// Bytes one result may hold before rows are cut.
    pub(crate) max_result_bytes: u64,
    /// Estimated bytes one query may scan (MaxCompute), if budgeted.
    pub(crate) max_scan_bytes: Option<u64>,
    /// Estimated bytes one session may scan (MaxCompute), if budgeted.
    pub(crate) max_session_scan_bytes: Option<u64>,
    /// Rows the query tools together may return in one session, if budgeted.
    pub(crate) max_session_rows: Option<u64>,
}

/// The result cache's bounds, when policy switches it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// Most results held.
    pub max_entries: u64,
    /// Most bytes of row data held.
    pub max_bytes: u64,
}

/// Security switches with every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSecurity {
    /// Refuse `*` and `t.*` on every table.
    pub ban_select_star: bool,
    /// Refuse joins that are not approved.
    pub(crate) deny_unapproved_join: bool,
    /// Most distinct tables in one query.
    pub(crate) max_join_tables: u32,
    /// PostgreSQL operators beyond the built-ins that queries may call, as
    /// `schema.op` (`OPERATOR(schema.op)` in SQL).
    pub allowed_operators: Vec<String>,
}

impl EffectiveSecurity {
    /// Whether policy allows the operator `schema.op`.
    pub(crate) fn operator_allowed(&self, schema: &str, symbol: &str) -> bool {
        self.allowed_operators.iter().any(|entry| {
            entry
                .split_once('.')
                .is_some_and(|(s, o)| s == schema && o == symbol)
        })
    }
}

/// One source's rules, as the gate and the tools see them.
#[derive(Debug, Clone)]
pub struct SourceRules<'a> {
    /// Connection name.
    pub name: &'a str,
    /// Engine of the connection.
    pub(crate) engine: EngineKind,
    /// Schema (Postgres) or project (MaxCompute) for unqualified names.
    pub(crate) default_namespace: &'a str,
    /// Limits for this source.
    pub(crate) limits: EffectiveLimits,
    /// Security switches for this source.
    pub security: EffectiveSecurity,
    /// The caller.
    pub identity: &'a Identity,
    policy: &'a Policy,
}

impl Policy {
    /// Build the decision layer from a loaded config.
    pub fn new(config: Config) -> Self {
        let identity = config.policy.identity.clone().unwrap_or_else(|| Identity {
            user_id: "anonymous".into(),
            ..Identity::default()
        });
        Self {
            config: std::sync::Arc::new(config),
            identity,
        }
    }

    /// The same policy acting for `identity` instead of the one the file
    /// names: team mode's caller, from their token.
    pub fn for_identity(&self, identity: Identity) -> Self {
        Self {
            config: std::sync::Arc::clone(&self.config),
            identity,
        }
    }

    /// The config this policy was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `tool` is switched on (every tool is, unless `policy.yaml`
    /// sets it to `false`).
    pub(crate) fn tool_enabled(&self, tool: &str) -> bool {
        self.config.policy.tools.get(tool).copied().unwrap_or(true)
    }

    /// The caller's identity (an anonymous one when policy names none).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The call rate limits (empty when policy sets none).
    pub(crate) fn rate_limits(&self) -> &RateLimits {
        &self.config.policy.rate_limits
    }

    /// The result cache's bounds, or `None` when policy leaves it off.
    pub(crate) fn result_cache(&self) -> Option<CacheBounds> {
        let cache = &self.config.policy.cache;
        (cache.enabled == Some(true)).then(|| CacheBounds {
            max_entries: cache.max_entries.unwrap_or(builtin::CACHE_MAX_ENTRIES),
            max_bytes: cache.max_bytes.unwrap_or(builtin::CACHE_MAX_BYTES),
        })
    }

    /// The rules of one configured source, or `None` when no connection of
    /// that name exists.
    pub fn source(&self, name: &str) -> Option<SourceRules<'_>> {
        let (name, connection) = self.config.connections.connections.get_key_value(name)?;
        let source = self.config.policy.sources.get(name.as_str());
        let global = &self.config.policy;
        Some(SourceRules {
            name,
            engine: connection.engine(),
            default_namespace: connection.default_namespace(),
            limits: effective_limits(&global.defaults, source.map(|s| &s.defaults)),
            security: effective_security(&global.security, source.map(|s| &s.security)),
            identity: &self.identity,
            policy: self,
        })
    }
}

/// The most specific layer that sets a limit wins.
fn effective_limits(global: &Limits, source: Option<&Limits>) -> EffectiveLimits {
    let pick = |f: fn(&Limits) -> Option<u64>| source.and_then(f).or_else(|| f(global));
    EffectiveLimits {
        default_limit: pick(|l| l.default_limit).unwrap_or(builtin::DEFAULT_LIMIT),
        max_limit: pick(|l| l.max_limit).unwrap_or(builtin::MAX_LIMIT),
        query_timeout: Duration::from_secs(
            pick(|l| l.query_timeout_seconds).unwrap_or(builtin::QUERY_TIMEOUT_SECONDS),
        ),
        max_cell_bytes: pick(|l| l.max_cell_bytes).unwrap_or(builtin::MAX_CELL_BYTES),
        max_result_bytes: pick(|l| l.max_result_bytes).unwrap_or(builtin::MAX_RESULT_BYTES),
        max_scan_bytes: pick(|l| l.max_scan_bytes),
        max_session_scan_bytes: pick(|l| l.max_session_scan_bytes),
        max_session_rows: pick(|l| l.max_session_rows),
    }
}

/// The most specific layer that sets a switch wins.
fn effective_security(global: &Security, source: Option<&Security>) -> EffectiveSecurity {
    EffectiveSecurity {
        ban_select_star: source
            .and_then(|s| s.ban_select_star)
            .or(global.ban_select_star)
            .unwrap_or(builtin::BAN_SELECT_STAR),
        deny_unapproved_join: source
            .and_then(|s| s.deny_unapproved_join)
            .or(global.deny_unapproved_join)
            .unwrap_or(builtin::DENY_UNAPPROVED_JOIN),
        max_join_tables: source
            .and_then(|s| s.max_join_tables)
            .or(global.max_join_tables)
            .unwrap_or(builtin::MAX_JOIN_TABLES),
        allowed_operators: source
            .and_then(|s| s.allowed_operators.clone())
            .or_else(|| global.allowed_operators.clone())
            .unwrap_or_default(),
    }
}

impl<'a> SourceRules<'a> {
    fn source_policy(&self) -> Option<&'a SourcePolicy> {
        self.policy.config.policy.sources.get(self.name)
    }

    /// What the engine enforces on the database side for this source; the
    /// most specific layer that sets a value wins.
    pub fn safeguards(&self) -> Safeguards {
        let global = &self.policy.config.policy;
        let source = self.source_policy();
        let limit = |f: fn(&Limits) -> Option<u64>| {
            source
                .and_then(|s| f(&s.defaults))
                .or_else(|| f(&global.defaults))
        };
        Safeguards {
            allow_privileged_login: source
                .and_then(|s| s.security.allow_privileged_login)
                .or(global.security.allow_privileged_login)
                .unwrap_or(builtin::ALLOW_PRIVILEGED_LOGIN),
            work_mem_bytes: limit(|l| l.work_mem_bytes).unwrap_or(builtin::WORK_MEM_BYTES),
            temp_file_limit_bytes: limit(|l| l.temp_file_limit_bytes)
                .unwrap_or(builtin::TEMP_FILE_LIMIT_BYTES),
        }
    }

    /// Whether two names are the same under this engine's rules.
    pub(crate) fn same_name(&self, a: &str, b: &str) -> bool {
        match self.engine {
            EngineKind::Postgres => a == b,
            EngineKind::MaxCompute => a.eq_ignore_ascii_case(b),
        }
    }

    /// The policy entry of an allowed table, by its normalised key
    /// (`schema.table` or `project[.schema].table`).
    pub fn table(&self, key: &str) -> Option<&'a TablePolicy> {
        self.table_entry(key).map(|(_, t)| t)
    }

    /// The key as written in policy and the entry of an allowed table.
    fn table_entry(&self, key: &str) -> Option<(&'a str, &'a TablePolicy)> {
        let tables = &self.source_policy()?.tables;
        match self.engine {
            EngineKind::Postgres => tables.get_key_value(key).map(|(k, t)| (k.as_str(), t)),
            EngineKind::MaxCompute => tables
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(k, t)| (k.as_str(), t)),
        }
    }

    /// Every allowed table with its key, in key order.
    pub fn tables(&self) -> Vec<(&'a str, &'a TablePolicy)> {
        self.source_policy()
            .map(|s| s.tables.iter().map(|(k, t)| (k.as_str(), t)).collect())
            .unwrap_or_default()
    }

    /// Normalise a table key for this engine (lower case on MaxCompute).
    pub(crate) fn normalize_key(&self, key: &str) -> String {
        match self.engine {
            EngineKind::Postgres => key.to_string(),
            EngineKind::MaxCompute => key.to_ascii_lowercase(),
        }
    }

    /// Whether `column` of allowed table `table` may be read.
    pub(crate) fn column_allowed(&self, table: &str, column: &str) -> bool {
        let Some(policy) = self.table(table) else {
            return false;
        };
        let listed = |list: &[String]| list.iter().any(|c| self.same_name(c, column));
        if listed(&policy.denied_columns) {
            return false;
        }
        match &policy.allowed_columns {
            Some(allowed) => listed(allowed),
            None => true,
        }
    }

    /// Whether the table has column rules (`allowed_columns` or
    /// `denied_columns`), which makes `*` on it refused.
    pub(crate) fn has_column_rules(&self, table: &str) -> bool {
        self.table(table)
            .is_some_and(|t| t.allowed_columns.is_some() || !t.denied_columns.is_empty())
    }

    /// The row policies that apply to the caller on `table` (all of them
    /// hold at once).
    pub(crate) fn row_policies(&self, table: &str) -> Vec<&'a RowPolicy> {
        let roles = &self.identity.roles;
        self.table(table)
            .map(|t| {
                t.row_policies
                    .iter()
                    .filter(|p| roles.iter().any(|r| r == &p.role))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Approved joins of this source that touch `table` (all approved joins
    /// when `table` is `None`).
    pub(crate) fn approved_joins(&self, table: Option<&str>) -> Vec<&'a JoinDef> {
        self.policy
            .config
            .joins
            .joins
            .iter()
            .filter(|j| j.approved && j.source == self.name)
            .filter(|j| {
                table.is_none_or(|t| {
                    self.same_name(&j.left_table, t) || self.same_name(&j.right_table, t)
                })
            })
            .collect()
    }

    /// How long a result of a query over `tables` may be served from the
    /// cache: the shortest `cache_ttl_seconds` among them, or `None` (never
    /// cached) when any of them has none or there are no tables.
    pub(crate) fn cache_ttl(&self, tables: &[String]) -> Option<Duration> {
        let mut shortest: Option<u64> = None;
        for table in tables {
            let ttl = self.table(table)?.cache_ttl_seconds?;
            shortest = Some(shortest.map_or(ttl, |s| s.min(ttl)));
        }
        shortest.map(Duration::from_secs)
    }

    /// The most restrictive row limit for a query over `tables`: the
    /// requested limit (or `default_limit`), each table's `max_limit`, each
    /// applying row policy's `max_limit`, and the source's `max_limit`.
    pub(crate) fn row_limit(&self, tables: &[&str], requested: Option<u64>) -> u64 {
        let mut limit = requested
            .unwrap_or(self.limits.default_limit)
            .min(self.limits.max_limit);
        for table in tables {
            if let Some(max) = self.table(table).and_then(|t| t.max_limit) {
                limit = limit.min(max);
            }
            for policy in self.row_policies(table) {
                if let Some(max) = policy.max_limit {
                    limit = limit.min(max);
                }
            }
        }
        limit
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
