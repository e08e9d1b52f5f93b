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

#[test]
fn managed_operators_only_narrow_the_users() {
    let user = policy(
        "security:\n  allowed_operators: [ext.<->, ext.&&]\nsources:\n  crm:\n    security:\n      allowed_operators: [ext.<->, geo.~=]\n  dw: {}\n",
    );
    let ops = |p: &PolicyFile, source: Option<&str>| {
        source
            .and_then(|s| p.sources[s].security.allowed_operators.clone())
            .or_else(|| p.security.allowed_operators.clone())
    };
    // A managed file that is silent leaves the user's lists.
    let merged = tighten(user.clone(), &policy("{}"));
    assert_eq!(ops(&merged, None).unwrap(), ["ext.<->", "ext.&&"]);
    assert_eq!(ops(&merged, Some("crm")).unwrap(), ["ext.<->", "geo.~="]);
    // A managed list cuts every layer to itself.
    let merged = tighten(
        user.clone(),
        &policy("security:\n  allowed_operators: [ext.<->, evil.<]\n"),
    );
    assert_eq!(ops(&merged, None).unwrap(), ["ext.<->"]);
    assert_eq!(ops(&merged, Some("crm")).unwrap(), ["ext.<->"]);
    assert_eq!(ops(&merged, Some("dw")).unwrap(), ["ext.<->"]);
    // It cannot allow an operator the user did not.
    let merged = tighten(
        policy("{}"),
        &policy("security:\n  allowed_operators: [evil.<]\n"),
    );
    assert_eq!(ops(&merged, None), None);
    // A managed source list narrows that source only.
    let merged = tighten(
        user,
        &policy("sources:\n  crm:\n    security:\n      allowed_operators: []\n"),
    );
    assert_eq!(ops(&merged, Some("crm")).unwrap(), Vec::<String>::new());
    assert_eq!(ops(&merged, None).unwrap(), ["ext.<->", "ext.&&"]);
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
        policy("security: {max_join_tables: 8}\nsources: {dw: {security: {max_join_tables: 9}}}"),
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
    let user =
        policy("sources: {s: {tables: {t.a: {row_policies: [{role: r, predicate: 'a = 1'}]}}}}");
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
