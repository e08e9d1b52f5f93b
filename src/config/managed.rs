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
pub fn tighten(user: PolicyFile, managed: &PolicyFile) -> PolicyFile {
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
    };
    if let Some(m_src) = managed_source {
        source.tables = restrict_tables(source.tables, &m_src.tables);
    }
    source
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
mod tests {
    use super::*;

    fn policy(yaml: &str) -> PolicyFile {
        serde_saphyr::from_str(yaml).unwrap()
    }

    /// The limit a source ends up with once layers apply (as the policy
    /// layer computes it).
    fn effective_max(p: &PolicyFile, source: &str) -> u64 {
        p.sources
            .get(source)
            .and_then(|s| s.defaults.max_limit)
            .or(p.defaults.max_limit)
            .unwrap_or(builtin::MAX_LIMIT)
    }

    fn effective_ban(p: &PolicyFile, source: &str) -> Option<bool> {
        p.sources
            .get(source)
            .and_then(|s| s.security.ban_select_star)
            .or(p.security.ban_select_star)
    }

    fn effective_privileged(p: &PolicyFile, source: &str) -> Option<bool> {
        p.sources
            .get(source)
            .and_then(|s| s.security.allow_privileged_login)
            .or(p.security.allow_privileged_login)
    }

    #[test]
    fn a_managed_false_holds_against_a_user_allowing_privileged_logins() {
        let cases = [
            // (user, managed, effective for source `s`)
            ("security: {allow_privileged_login: true}", "{}", Some(true)),
            ("{}", "security: {allow_privileged_login: true}", Some(true)),
            (
                "security: {allow_privileged_login: true}",
                "security: {allow_privileged_login: false}",
                Some(false),
            ),
            (
                "sources: {s: {security: {allow_privileged_login: true}}}",
                "security: {allow_privileged_login: false}",
                Some(false),
            ),
            (
                "security: {allow_privileged_login: true}",
                "sources: {s: {security: {allow_privileged_login: false}}}",
                Some(false),
            ),
            (
                "security: {allow_privileged_login: false}",
                "security: {allow_privileged_login: true}",
                Some(false),
            ),
            ("{}", "{}", None),
        ];
        for (user, managed, expected) in cases {
            let merged = tighten(policy(user), &policy(managed));
            assert_eq!(
                effective_privileged(&merged, "s"),
                expected,
                "user {user} / managed {managed}"
            );
        }
    }

    #[test]
    fn server_caps_take_the_lower_value() {
        let merged = tighten(
            policy("defaults: {work_mem_bytes: 100000000, temp_file_limit_bytes: 1000}"),
            &policy("defaults: {work_mem_bytes: 2000000, temp_file_limit_bytes: 5000000000}"),
        );
        assert_eq!(merged.defaults.work_mem_bytes, Some(2_000_000));
        assert_eq!(merged.defaults.temp_file_limit_bytes, Some(1000));
        // A managed-only cap cannot loosen the built-in the user had.
        let merged = tighten(
            policy("{}"),
            &policy("defaults: {temp_file_limit_bytes: 5000000000000}"),
        );
        assert_eq!(
            merged.defaults.temp_file_limit_bytes,
            Some(builtin::TEMP_FILE_LIMIT_BYTES)
        );
    }

    #[test]
    fn limits_take_the_lower_value() {
        let merged = tighten(
            policy("defaults: {max_limit: 500, default_limit: 50, query_timeout_seconds: 5}"),
            &policy("defaults: {max_limit: 200, default_limit: 80, max_scan_bytes: 1000}"),
        );
        assert_eq!(merged.defaults.max_limit, Some(200));
        assert_eq!(merged.defaults.default_limit, Some(50));
        assert_eq!(merged.defaults.query_timeout_seconds, Some(5));
        assert_eq!(merged.defaults.max_scan_bytes, Some(1000));
    }

    #[test]
    fn a_managed_only_limit_never_exceeds_the_builtin() {
        let merged = tighten(
            policy(""),
            &policy("defaults: {max_limit: 5000, max_cell_bytes: 10}"),
        );
        assert_eq!(merged.defaults.max_limit, Some(builtin::MAX_LIMIT));
        assert_eq!(merged.defaults.max_cell_bytes, Some(10));
    }

    #[test]
    fn switches_are_ored_and_managed_false_changes_nothing() {
        let merged = tighten(
            policy("security: {ban_select_star: false, deny_unapproved_join: true}"),
            &policy("security: {ban_select_star: true, deny_unapproved_join: false}"),
        );
        assert_eq!(merged.security.ban_select_star, Some(true));
        assert_eq!(merged.security.deny_unapproved_join, Some(true));
        let merged = tighten(
            policy(""),
            &policy("security: {deny_unapproved_join: false}"),
        );
        assert_eq!(merged.security.deny_unapproved_join, None);
    }

    #[test]
    fn max_join_tables_takes_the_lower() {
        let merged = tighten(
            policy(
                "security: {max_join_tables: 8}\nsources: {dw: {security: {max_join_tables: 9}}}",
            ),
            &policy("security: {max_join_tables: 2}"),
        );
        assert_eq!(merged.security.max_join_tables, Some(2));
        assert_eq!(merged.sources["dw"].security.max_join_tables, Some(2));
    }

    #[test]
    fn syncing_every_audit_record_on_either_side_wins() {
        let strict = "audit: {sync: every_record}";
        let loose = "audit: {sync: background}";
        for (user, managed) in [(strict, loose), (loose, strict), (strict, "{}")] {
            let merged = tighten(policy(user), &policy(managed));
            assert_eq!(
                merged.audit.sync,
                Some(AuditSync::EveryRecord),
                "{user} / {managed}"
            );
        }
        let merged = tighten(policy(loose), &policy("{}"));
        assert_eq!(merged.audit.sync, Some(AuditSync::Background));
    }

    #[test]
    fn a_tool_off_in_either_is_off() {
        let merged = tighten(
            policy("tools: {preview_table: false, run_select_sql: true}"),
            &policy("tools: {run_select_sql: false, preview_table: true}"),
        );
        assert!(!merged.tools["preview_table"]);
        assert!(!merged.tools["run_select_sql"]);
    }

    #[test]
    fn managed_identity_replaces_the_users() {
        let user = policy("identity: {user_id: alice, roles: [admin]}");
        let merged = tighten(
            user.clone(),
            &policy("identity: {user_id: alice, roles: [analyst]}"),
        );
        assert_eq!(merged.identity.unwrap().roles, vec!["analyst".to_string()]);
        let kept = tighten(user, &policy(""));
        assert_eq!(kept.identity.unwrap().roles, vec!["admin".to_string()]);
    }

    #[test]
    fn tables_are_restricted_to_the_managed_set() {
        let user = policy(
            "sources:\n  crm:\n    tables:\n      public.a: {allowed_columns: [x, y, z], denied_columns: [q]}\n      public.b: {}\n  other:\n    tables:\n      public.c: {}\n",
        );
        let managed = policy(
            "sources:\n  crm:\n    tables:\n      public.a:\n        allowed_columns: [x, y, w]\n        denied_columns: [y]\n        max_limit: 10\n        require_partition_filter: true\n        default_partition: {field: pt, strategy: max_pt}\n        row_policies: [{role: r, predicate: 'x = 1'}]\n      public.d: {}\n",
        );
        let merged = tighten(user, &managed);
        let crm = &merged.sources["crm"].tables;
        assert_eq!(crm.keys().collect::<Vec<_>>(), vec!["public.a"]);
        let a = &crm["public.a"];
        assert_eq!(
            a.allowed_columns.as_deref(),
            Some(&["x".to_string(), "y".to_string()][..])
        );
        assert_eq!(a.denied_columns, vec!["q".to_string(), "y".to_string()]);
        assert_eq!(a.max_limit, Some(10));
        assert!(a.require_partition_filter);
        assert!(a.default_partition.is_some());
        assert_eq!(a.row_policies.len(), 1);
        assert!(merged.sources["other"].tables.contains_key("public.c"));
    }

    #[test]
    fn row_policies_are_unioned() {
        let user = policy(
            "sources: {s: {tables: {t.a: {row_policies: [{role: r, predicate: 'a = 1'}]}}}}",
        );
        let managed = policy("sources: {s: {tables: {t.a: {row_policies: [{role: r, predicate: 'b = 2'}, {role: r, predicate: 'a = 1'}]}}}}");
        let merged = tighten(user, &managed);
        let predicates: Vec<_> = merged.sources["s"].tables["t.a"]
            .row_policies
            .iter()
            .map(|p| p.predicate.as_str())
            .collect();
        assert_eq!(predicates, vec!["a = 1", "b = 2"]);
    }

    #[test]
    fn sources_managed_does_not_mention_keep_their_tables_under_merged_globals() {
        let merged = tighten(
            policy("sources: {dw: {defaults: {max_limit: 900}, tables: {p.t: {}}}}"),
            &policy("defaults: {max_limit: 300}"),
        );
        assert!(merged.sources["dw"].tables.contains_key("p.t"));
        assert_eq!(effective_max(&merged, "dw"), 300);
    }

    #[test]
    fn rate_limits_take_the_lower_count_per_window() {
        let merged = tighten(
            policy("rate_limits:\n  per_session: {per_minute: 120, per_hour: 1000}\n  tools:\n    run_select_sql: {per_minute: 30}\n    preview_table: {per_second: 5}\n"),
            &policy("rate_limits:\n  per_session: {per_minute: 60, per_second: 10}\n  tools:\n    run_select_sql: {per_minute: 50, per_hour: 200}\n    query_table: {per_minute: 5}\n"),
        );
        let limits = &merged.rate_limits;
        assert_eq!(
            limits.per_session,
            Some(RateLimit {
                per_second: Some(10),
                per_minute: Some(60),
                per_hour: Some(1000),
            })
        );
        let tool = |name: &str| limits.tools[name].clone();
        assert_eq!(
            tool("run_select_sql"),
            RateLimit {
                per_second: None,
                per_minute: Some(30),
                per_hour: Some(200),
            }
        );
        assert_eq!(tool("preview_table").per_second, Some(5));
        assert_eq!(tool("query_table").per_minute, Some(5));
        let managed_only = tighten(
            policy(""),
            &policy("rate_limits: {per_session: {per_hour: 7}}"),
        );
        assert_eq!(
            managed_only.rate_limits.per_session.unwrap().per_hour,
            Some(7)
        );
        assert_eq!(
            tighten(policy(""), &policy("")).rate_limits,
            RateLimits::default()
        );
    }

    #[test]
    fn the_managed_file_can_switch_the_cache_off_but_not_on() {
        let user_on = "cache: {enabled: true, max_entries: 1000}\nsources: {s: {tables: {t.a: {cache_ttl_seconds: 600}, t.b: {}}}}";
        let off = tighten(policy(user_on), &policy("cache: {enabled: false}"));
        assert_eq!(off.cache.enabled, Some(false));
        let bounded = tighten(
            policy(user_on),
            &policy("cache: {enabled: true, max_entries: 10, max_bytes: 999999999999}\nsources: {s: {tables: {t.a: {cache_ttl_seconds: 60}, t.b: {cache_ttl_seconds: 60}}}}"),
        );
        assert_eq!(bounded.cache.enabled, Some(true));
        assert_eq!(bounded.cache.max_entries, Some(10));
        assert_eq!(bounded.cache.max_bytes, Some(builtin::CACHE_MAX_BYTES));
        let tables = &bounded.sources["s"].tables;
        assert_eq!(tables["t.a"].cache_ttl_seconds, Some(60));
        assert_eq!(tables["t.b"].cache_ttl_seconds, None);
        let not_on = tighten(policy(""), &policy("cache: {enabled: true}"));
        assert_eq!(not_on.cache.enabled, None);
    }

    #[test]
    fn the_session_row_budget_takes_the_lower_value() {
        let merged = tighten(
            policy("defaults: {max_session_rows: 5000}\nsources: {s: {defaults: {max_session_rows: 90000}}}"),
            &policy("defaults: {max_session_rows: 1000}"),
        );
        assert_eq!(merged.defaults.max_session_rows, Some(1000));
        assert_eq!(merged.sources["s"].defaults.max_session_rows, Some(1000));
    }

    #[test]
    fn the_user_cannot_loosen_anything() {
        let managed = policy(
            "defaults: {max_limit: 100, query_timeout_seconds: 10}\nrate_limits: {per_session: {per_minute: 30}, tools: {run_select_sql: {per_second: 2}}}\ncache: {enabled: false}\nsecurity: {ban_select_star: true, deny_unapproved_join: true, max_join_tables: 2}\ntools: {run_select_sql: false}\nsources:\n  crm:\n    defaults: {max_limit: 50}\n    tables:\n      public.a:\n        allowed_columns: [x]\n        denied_columns: [z]\n        max_limit: 5\n        require_partition_filter: true\n        row_policies: [{role: r, predicate: 'x = 1'}]\n",
        );
        let attempts = [
            "defaults: {max_limit: 100000, query_timeout_seconds: 3600}",
            "security: {ban_select_star: false, deny_unapproved_join: false, max_join_tables: 99}",
            "tools: {run_select_sql: true}",
            "sources: {crm: {defaults: {max_limit: 9999}, security: {ban_select_star: false, max_join_tables: 50}}}",
            "sources: {crm: {tables: {public.a: {allowed_columns: [x, z, secret], max_limit: 1000, require_partition_filter: false}, public.secret: {}}}}",
            "sources: {other: {defaults: {max_limit: 5000}, security: {ban_select_star: false}, tables: {s.t: {}}}}",
            "rate_limits: {per_session: {per_minute: 100000}, tools: {run_select_sql: {per_second: 1000}}}",
            "cache: {enabled: true}",
        ];
        for attempt in attempts {
            let merged = tighten(policy(attempt), &managed);
            assert!(effective_max(&merged, "crm") <= 50, "{attempt}");
            assert!(effective_max(&merged, "other") <= 100, "{attempt}");
            assert!(
                merged.defaults.query_timeout_seconds.unwrap() <= 10,
                "{attempt}"
            );
            assert_eq!(effective_ban(&merged, "crm"), Some(true), "{attempt}");
            assert_eq!(effective_ban(&merged, "other"), Some(true), "{attempt}");
            assert_eq!(
                merged.security.deny_unapproved_join,
                Some(true),
                "{attempt}"
            );
            assert!(merged.security.max_join_tables.unwrap() <= 2, "{attempt}");
            assert_eq!(
                merged.tools.get("run_select_sql"),
                Some(&false),
                "{attempt}"
            );
            let session = merged.rate_limits.per_session.as_ref().unwrap();
            assert_eq!(session.per_minute, Some(30), "{attempt}");
            assert_eq!(
                merged.rate_limits.tools["run_select_sql"].per_second,
                Some(2),
                "{attempt}"
            );
            assert_eq!(merged.cache.enabled, Some(false), "{attempt}");
            if let Some(crm) = merged.sources.get("crm") {
                let joins = crm
                    .security
                    .max_join_tables
                    .or(merged.security.max_join_tables);
                assert!(joins.unwrap() <= 2, "{attempt}");
                assert!(!crm.tables.contains_key("public.secret"), "{attempt}");
                if let Some(a) = crm.tables.get("public.a") {
                    assert_eq!(a.allowed_columns.as_deref(), Some(&["x".to_string()][..]));
                    assert!(a.denied_columns.contains(&"z".to_string()));
                    assert!(a.max_limit.unwrap() <= 5);
                    assert!(a.require_partition_filter);
                    assert_eq!(a.row_policies.len(), 1);
                }
            }
        }
    }
}
