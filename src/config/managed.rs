//! The managed (administrator) policy layer: it can only tighten.
//!
//! An administrator puts a `policy.yaml` in a system-wide place
//! ([`managed_policy_path`]); [`tighten`] merges the user's policy under it.
//! The one idea: the merge is computed on *effective* values, layer by layer
//! (a source's value over the global one over the built-in), so no
//! combination of user overrides can end up looser than the managed file.
//! This module does no I/O besides reading one environment variable.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{
    builtin, AuditSync, CacheSettings, Limits, PolicyFile, RateLimit, RateLimits, Security,
    SourcePolicy, TablePolicy,
};

/// Environment variable that overrides [`managed_policy_path`] (tests, and
/// administrators who keep the file elsewhere).
pub const MANAGED_POLICY_ENV: &str = "SQLWARDEN_MANAGED_POLICY";

/// Where the system-wide managed policy lives on this OS:
/// `/etc/sqlwarden/policy.yaml` on Linux,
/// `/Library/Application Support/sqlwarden/policy.yaml` on macOS,
/// `%ProgramData%\sqlwarden\policy.yaml` on Windows, unless
/// `SQLWARDEN_MANAGED_POLICY` names another file.
pub fn managed_policy_path() -> PathBuf {
    match std::env::var_os(MANAGED_POLICY_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => system_path(),
    }
}

#[cfg(target_os = "macos")]
fn system_path() -> PathBuf {
    PathBuf::from("/Library/Application Support/sqlwarden/policy.yaml")
}

#[cfg(windows)]
fn system_path() -> PathBuf {
    let base = std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
    base.join("sqlwarden").join("policy.yaml")
}

#[cfg(not(any(target_os = "macos", windows)))]
fn system_path() -> PathBuf {
    PathBuf::from("/etc/sqlwarden/policy.yaml")
}

/// Merge `user` under `managed`: the result allows nothing `managed` denies
/// and every limit is the lower of the two.
///
/// - limits: the lower where both set; where only the managed file sets one,
///   its value, but never above the built-in the user had implicitly;
/// - `ban_select_star`, `deny_unapproved_join`, `require_partition_filter`:
///   on when either turns them on (a managed `false` changes nothing);
/// - `max_join_tables`: the lower; a tool off in either is off;
/// - `allow_privileged_login`: `true` only when no side that sets it says
///   `false` (a managed `false` holds against the user's `true`);
/// - `allowed_operators`: the user's, cut to the managed list where the
///   managed file sets one;
/// - the managed `identity` replaces the user's when it sets one, and its
///   `audit.retention_days` wins; `audit.sync: every_record` on either side wins;
/// - for each source the managed file lists, the user's tables are cut to
///   the managed table set, `allowed_columns` intersected, `denied_columns`
///   and `row_policies` unioned, `max_limit` the lower, `default_partition`
///   the managed one when set. Other sources keep the user's tables, under
///   the merged global limits;
/// - rate limits: each window (per second, minute, hour) of the session's
///   and of each tool's limit is the lower count; a window only one side
///   sets holds as set there;
/// - the result cache is on only when the user turns it on and the managed
///   file does not turn it off; its bounds take the lower value, and a
///   table's `cache_ttl_seconds` is the user's, capped by the managed one
///   (the managed file cannot make a table cacheable on its own).
pub(crate) fn tighten(user: PolicyFile, managed: &PolicyFile) -> PolicyFile {
    let mut user_sources = user.sources;
    // A source only the managed file names gets an empty entry, so its
    // limits hold for it too (it has no tables either way).
    for name in managed.sources.keys() {
        user_sources.entry(name.clone()).or_default();
    }
    let sources = user_sources
        .into_iter()
        .map(|(name, source)| {
            let merged = tighten_source(
                source,
                &user.defaults,
                &user.security,
                managed.sources.get(&name),
                managed,
            );
            (name, merged)
        })
        .collect();
    let mut tools = user.tools;
    for (tool, on) in &managed.tools {
        if !on {
            tools.insert(tool.clone(), false);
        }
    }
    PolicyFile {
        identity: managed.identity.clone().or(user.identity),
        defaults: merge_limits(&user.defaults, &managed.defaults),
        security: Security {
            ban_select_star: switch(
                user.security.ban_select_star,
                managed.security.ban_select_star,
            ),
            deny_unapproved_join: switch(
                user.security.deny_unapproved_join,
                managed.security.deny_unapproved_join,
            ),
            max_join_tables: lower_u32(
                user.security.max_join_tables,
                managed.security.max_join_tables,
            ),
            allow_privileged_login: permit(
                user.security.allow_privileged_login,
                managed.security.allow_privileged_login,
            ),
            allowed_operators: narrow(
                user.security.allowed_operators.clone(),
                managed.security.allowed_operators.as_ref(),
            ),
        },
        tools,
        audit: super::AuditSettings {
            retention_days: managed.audit.retention_days.or(user.audit.retention_days),
            // Syncing every record is the stricter choice; either side can ask for it.
            sync: match (managed.audit.sync, user.audit.sync) {
                (Some(AuditSync::EveryRecord), _) | (_, Some(AuditSync::EveryRecord)) => {
                    Some(AuditSync::EveryRecord)
                }
                (managed_sync, user_sync) => managed_sync.or(user_sync),
            },
        },
        sources,
        rate_limits: tighten_rate_limits(&user.rate_limits, &managed.rate_limits),
        cache: CacheSettings {
            enabled: switch_off(user.cache.enabled, managed.cache.enabled),
            max_entries: lower(
                user.cache.max_entries,
                managed.cache.max_entries,
                Some(builtin::CACHE_MAX_ENTRIES),
            ),
            max_bytes: lower(
                user.cache.max_bytes,
                managed.cache.max_bytes,
                Some(builtin::CACHE_MAX_BYTES),
            ),
        },
    }
}

/// Both files' rate limits at once: per window, the lower count.
fn tighten_rate_limits(user: &RateLimits, managed: &RateLimits) -> RateLimits {
    let mut tools = user.tools.clone();
    for (tool, limit) in &managed.tools {
        let merged = tighten_rate(tools.get(tool), Some(limit));
        tools.insert(tool.clone(), merged);
    }
    RateLimits {
        per_session: match (&user.per_session, &managed.per_session) {
            (None, None) => None,
            (u, m) => Some(tighten_rate(u.as_ref(), m.as_ref())),
        },
        tools,
    }
}

fn tighten_rate(user: Option<&RateLimit>, managed: Option<&RateLimit>) -> RateLimit {
    let none = RateLimit::default();
    let (u, m) = (user.unwrap_or(&none), managed.unwrap_or(&none));
    RateLimit {
        per_second: lower(u.per_second, m.per_second, None),
        per_minute: lower(u.per_minute, m.per_minute, None),
        per_hour: lower(u.per_hour, m.per_hour, None),
    }
}

/// A feature switch: managed can turn it off, never on.
fn switch_off(user: Option<bool>, managed: Option<bool>) -> Option<bool> {
    if managed == Some(false) {
        Some(false)
    } else {
        user
    }
}

/// The lower of two limits; a managed-only limit is capped by `builtin`.
fn lower(user: Option<u64>, managed: Option<u64>, builtin: Option<u64>) -> Option<u64> {
    match (user, managed) {
        (Some(u), Some(m)) => Some(u.min(m)),
        (Some(u), None) => Some(u),
        (None, Some(m)) => Some(builtin.map_or(m, |b| m.min(b))),
        (None, None) => None,
    }
}

fn lower_u32(user: Option<u32>, managed: Option<u32>) -> Option<u32> {
    lower(
        user.map(u64::from),
        managed.map(u64::from),
        Some(u64::from(builtin::MAX_JOIN_TABLES)),
    )
    .and_then(|v| u32::try_from(v).ok())
}

/// A permission both files may grant: the stricter of the two where both
/// set it (a managed `false` holds against the user's `true`), otherwise
/// the side that sets it.
fn permit(user: Option<bool>, managed: Option<bool>) -> Option<bool> {
    match (user, managed) {
        (Some(u), Some(m)) => Some(u && m),
        (u, m) => u.or(m),
    }
}

/// A safety switch: managed can turn it on, never off.
fn switch(user: Option<bool>, managed: Option<bool>) -> Option<bool> {
    if managed == Some(true) {
        Some(true)
    } else {
        user
    }
}

/// Built-ins the user gets when a layer sets nothing, per limit field.
fn builtins() -> Limits {
    Limits {
        default_limit: Some(builtin::DEFAULT_LIMIT),
        max_limit: Some(builtin::MAX_LIMIT),
        query_timeout_seconds: Some(builtin::QUERY_TIMEOUT_SECONDS),
        max_cell_bytes: Some(builtin::MAX_CELL_BYTES),
        max_result_bytes: Some(builtin::MAX_RESULT_BYTES),
        max_scan_bytes: None,
        max_session_scan_bytes: None,
        max_session_rows: None,
        work_mem_bytes: Some(builtin::WORK_MEM_BYTES),
        temp_file_limit_bytes: Some(builtin::TEMP_FILE_LIMIT_BYTES),
    }
}

/// Apply `f` to each limit field of the given layers, in one place so a new
/// field cannot be forgotten in one merge and remembered in another.
fn each_limit(layers: [&Limits; 5], f: impl Fn([Option<u64>; 5]) -> Option<u64>) -> Limits {
    let pick = |get: fn(&Limits) -> Option<u64>| f(layers.map(get));
    Limits {
        default_limit: pick(|l| l.default_limit),
        max_limit: pick(|l| l.max_limit),
        query_timeout_seconds: pick(|l| l.query_timeout_seconds),
        max_cell_bytes: pick(|l| l.max_cell_bytes),
        max_result_bytes: pick(|l| l.max_result_bytes),
        max_scan_bytes: pick(|l| l.max_scan_bytes),
        max_session_scan_bytes: pick(|l| l.max_session_scan_bytes),
        max_session_rows: pick(|l| l.max_session_rows),
        work_mem_bytes: pick(|l| l.work_mem_bytes),
        temp_file_limit_bytes: pick(|l| l.temp_file_limit_bytes),
    }
}

fn merge_limits(user: &Limits, managed: &Limits) -> Limits {
    let none = Limits::default();
    each_limit(
        [user, managed, &builtins(), &none, &none],
        |[u, m, b, ..]| lower(u, m, b),
    )
}

/// One source's limits and switches, merged on effective values: when
/// either side overrides a field for this source, the result overrides it
/// with the lower effective value; otherwise the merged global applies.
fn tighten_source(
    mut source: SourcePolicy,
    user_global: &Limits,
    user_security: &Security,
    managed_source: Option<&SourcePolicy>,
    managed: &PolicyFile,
) -> SourcePolicy {
    let empty = SourcePolicy::default();
    let m_src = managed_source.unwrap_or(&empty);
    source.defaults = each_limit(
        [
            &source.defaults,
            user_global,
            &m_src.defaults,
            &managed.defaults,
            &builtins(),
        ],
        |[us, ug, ms, mg, b]| {
            (us.is_some() || ms.is_some())
                .then(|| lower(us.or(ug), ms.or(mg), b))
                .flatten()
        },
    );
    let flag = |us: Option<bool>, ug: Option<bool>, ms: Option<bool>, mg: Option<bool>| {
        (us.is_some() || ms.is_some())
            .then(|| switch(us.or(ug), ms.or(mg)))
            .flatten()
    };
    let (us, ms, mg) = (&source.security, &m_src.security, &managed.security);
    source.security = Security {
        ban_select_star: flag(
            us.ban_select_star,
            user_security.ban_select_star,
            ms.ban_select_star,
            mg.ban_select_star,
        ),
        deny_unapproved_join: flag(
            us.deny_unapproved_join,
            user_security.deny_unapproved_join,
            ms.deny_unapproved_join,
            mg.deny_unapproved_join,
        ),
        max_join_tables: (us.max_join_tables.is_some() || ms.max_join_tables.is_some())
            .then(|| {
                lower_u32(
                    us.max_join_tables.or(user_security.max_join_tables),
                    ms.max_join_tables.or(mg.max_join_tables),
                )
            })
            .flatten(),
        allow_privileged_login: (us.allow_privileged_login.is_some()
            || ms.allow_privileged_login.is_some())
        .then(|| {
            permit(
                us.allow_privileged_login
                    .or(user_security.allow_privileged_login),
                ms.allow_privileged_login.or(mg.allow_privileged_login),
            )
        })
        .flatten(),
        allowed_operators: (us.allowed_operators.is_some() || ms.allowed_operators.is_some())
            .then(|| {
                narrow(
                    us.allowed_operators
                        .clone()
                        .or_else(|| user_security.allowed_operators.clone()),
                    ms.allowed_operators
                        .as_ref()
                        .or(mg.allowed_operators.as_ref()),
                )
            })
            .flatten(),
    };
    if let Some(m_src) = managed_source {
        source.tables = restrict_tables(source.tables, &m_src.tables);
    }
    source
}

/// The user's allowed operators, narrowed to the managed list when the
/// managed file sets one (it cannot allow an operator on its own).
fn narrow(user: Option<Vec<String>>, managed: Option<&Vec<String>>) -> Option<Vec<String>> {
    match (user, managed) {
        (Some(user), Some(managed)) => {
            Some(user.into_iter().filter(|op| managed.contains(op)).collect())
        }
        (user, _) => user,
    }
}

/// Keep only the user's tables the managed file lists, each tightened.
fn restrict_tables(
    user: BTreeMap<String, TablePolicy>,
    managed: &BTreeMap<String, TablePolicy>,
) -> BTreeMap<String, TablePolicy> {
    user.into_iter()
        .filter_map(|(key, table)| {
            let merged = managed.get(&key).map(|m| tighten_table(table, m))?;
            Some((key, merged))
        })
        .collect()
}

fn tighten_table(user: TablePolicy, managed: &TablePolicy) -> TablePolicy {
    let allowed_columns = match (user.allowed_columns, &managed.allowed_columns) {
        (Some(u), Some(m)) => Some(u.into_iter().filter(|c| m.contains(c)).collect()),
        (u, m) => u.or_else(|| m.clone()),
    };
    let mut denied_columns = user.denied_columns;
    for column in &managed.denied_columns {
        if !denied_columns.contains(column) {
            denied_columns.push(column.clone());
        }
    }
    let mut row_policies = user.row_policies;
    for policy in &managed.row_policies {
        if !row_policies.contains(policy) {
            row_policies.push(policy.clone());
        }
    }
    let mut columns = user.columns;
    for (name, text) in &managed.columns {
        columns.entry(name.clone()).or_insert_with(|| text.clone());
    }
    TablePolicy {
        domain: user.domain.or_else(|| managed.domain.clone()),
        owner: user.owner.or_else(|| managed.owner.clone()),
        sensitivity: user.sensitivity.or_else(|| managed.sensitivity.clone()),
        description: user.description.or_else(|| managed.description.clone()),
        allowed_columns,
        denied_columns,
        columns,
        max_limit: lower(user.max_limit, managed.max_limit, None),
        row_policies,
        default_partition: managed.default_partition.clone().or(user.default_partition),
        require_partition_filter: user.require_partition_filter || managed.require_partition_filter,
        // Caching is the user's opt-in per table; the managed file can only
        // shorten how long a result stays fresh.
        cache_ttl_seconds: user
            .cache_ttl_seconds
            .map(|u| managed.cache_ttl_seconds.map_or(u, |m| u.min(m))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
