//! Unit tests for policy layering and decisions.

use std::path::PathBuf;

use super::*;
use crate::config::{ConnectionsFile, JoinsFile, PolicyFile};

const CONNECTIONS: &str = r#"
connections:
  crm: {engine: postgres, host: localhost, dbname: crm, user: ro}
  dw: {engine: maxcompute, endpoint: "https://mc.example/api", project: Saky_DW}
"#;

const POLICY: &str = r#"
identity:
  user_id: alice
  roles: [analyst, region_manager]
  attributes: {region_codes: [EAST, NORTH]}
defaults: {default_limit: 50, max_limit: 400, max_session_rows: 1000}
security: {ban_select_star: true}
tools: {estimate_query_cost: false}
sources:
  crm:
    security: {max_join_tables: 5}
    defaults: {max_limit: 300, max_session_rows: 200}
    tables:
      public.orders:
        allowed_columns: [order_id, customer_id, region_code, amount]
        denied_columns: [amount]
        max_limit: 200
        row_policies:
          - {role: region_manager, predicate: "region_code IN (${user.region_codes})", max_limit: 150}
          - {role: auditor, predicate: "false", max_limit: 1}
      public.customers:
        denied_columns: [phone]
        cache_ttl_seconds: 300
      public.products: {cache_ttl_seconds: 60}
  dw:
    tables:
      Saky_DW.Orders_DF: {}
"#;

const JOINS: &str = r#"
joins:
  - {id: o_c, source: crm, left_table: public.orders, right_table: public.customers,
     on: [{left_field: customer_id, right_field: customer_id}], approved: true}
  - {id: o_p, source: crm, left_table: public.orders, right_table: public.products,
     on: [{left_field: product_id, right_field: product_id}], approved: false}
  - {id: other, source: dw, left_table: public.orders, right_table: public.customers,
     on: [{left_field: a, right_field: b}], approved: true}
"#;

fn policy() -> Policy {
    Policy::new(Config {
        dir: PathBuf::from("/nonexistent"),
        connections: serde_saphyr::from_str::<ConnectionsFile>(CONNECTIONS).unwrap(),
        policy: serde_saphyr::from_str::<PolicyFile>(POLICY).unwrap(),
        joins: serde_saphyr::from_str::<JoinsFile>(JOINS).unwrap(),
        ..Default::default()
    })
}

#[test]
fn layers_pick_the_most_specific_value() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    assert_eq!(crm.limits.default_limit, 50);
    assert_eq!(crm.limits.max_limit, 300);
    assert_eq!(crm.limits.max_cell_bytes, builtin::MAX_CELL_BYTES);
    assert!(crm.security.ban_select_star);
    assert!(crm.security.deny_unapproved_join);
    assert_eq!(crm.security.max_join_tables, 5);
    let dw = p.source("dw").unwrap();
    assert_eq!(dw.limits.max_limit, 400);
    assert_eq!(dw.security.max_join_tables, builtin::MAX_JOIN_TABLES);
    assert_eq!(dw.default_namespace, "Saky_DW");
    assert!(p.source("nope").is_none());
}

#[test]
fn default_security_when_unset() {
    let mut config_policy = serde_saphyr::from_str::<PolicyFile>(POLICY).unwrap();
    config_policy.security = Security::default();
    let s = effective_security(&config_policy.security, None);
    assert!(!s.ban_select_star);
    assert!(s.deny_unapproved_join);
    assert_eq!(s.max_join_tables, 3);
}

#[test]
fn tools_and_identity() {
    let p = policy();
    assert!(!p.tool_enabled("estimate_query_cost"));
    assert!(p.tool_enabled("run_select_sql"));
    assert_eq!(p.identity().user_id, "alice");
}

#[test]
fn columns_allowed_denied_and_subtracted() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    assert!(crm.column_allowed("public.orders", "order_id"));
    assert!(
        !crm.column_allowed("public.orders", "amount"),
        "denied subtracts from allowed"
    );
    assert!(
        !crm.column_allowed("public.orders", "status"),
        "not in allowed_columns"
    );
    assert!(crm.column_allowed("public.customers", "name"));
    assert!(!crm.column_allowed("public.customers", "phone"));
    assert!(
        crm.column_allowed("public.customers", "Phone"),
        "Postgres names are exact"
    );
    assert!(!crm.column_allowed("public.nope", "x"));
    assert!(crm.has_column_rules("public.orders"));
    assert!(crm.has_column_rules("public.customers"));
    assert!(!crm.has_column_rules("public.products"));
}

#[test]
fn table_keys_per_engine() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    assert!(crm.table("public.orders").is_some());
    assert!(crm.table("PUBLIC.orders").is_none());
    let dw = p.source("dw").unwrap();
    assert!(dw.table("saky_dw.orders_df").is_some());
    assert_eq!(dw.normalize_key("Saky_DW.Orders_DF"), "saky_dw.orders_df");
    assert_eq!(crm.tables().len(), 3);
}

#[test]
fn row_policies_by_role() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    let applying = crm.row_policies("public.orders");
    assert_eq!(applying.len(), 1);
    assert_eq!(applying[0].role, "region_manager");
    assert!(crm.row_policies("public.customers").is_empty());
}

#[test]
fn joins_only_approved_of_this_source() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    let all = crm.approved_joins(None);
    assert_eq!(
        all.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["o_c"]
    );
    assert_eq!(crm.approved_joins(Some("public.customers")).len(), 1);
    assert!(crm.approved_joins(Some("public.products")).is_empty());
}

#[test]
fn row_limit_is_the_minimum_of_every_layer() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    assert_eq!(crm.row_limit(&[], None), 50);
    assert_eq!(crm.row_limit(&[], Some(1000)), 300);
    assert_eq!(crm.row_limit(&["public.customers"], Some(250)), 250);
    assert_eq!(crm.row_limit(&["public.orders"], Some(250)), 150);
    assert_eq!(crm.row_limit(&["public.orders"], Some(10)), 10);
}

#[test]
fn the_session_row_budget_layers_like_other_limits() {
    let p = policy();
    assert_eq!(p.source("crm").unwrap().limits.max_session_rows, Some(200));
    assert_eq!(p.source("dw").unwrap().limits.max_session_rows, Some(1000));
}

#[test]
fn a_query_is_cacheable_only_when_every_table_has_a_ttl() {
    let p = policy();
    let crm = p.source("crm").unwrap();
    let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(
        crm.cache_ttl(&keys(&["public.customers"])),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        crm.cache_ttl(&keys(&["public.customers", "public.products"])),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        crm.cache_ttl(&keys(&["public.customers", "public.orders"])),
        None
    );
    assert_eq!(crm.cache_ttl(&[]), None);
    assert_eq!(crm.cache_ttl(&keys(&["public.unlisted"])), None);
    // The cache itself is off unless policy switches it on.
    assert_eq!(p.result_cache(), None);
    assert!(p.rate_limits().per_session.is_none());
}

#[test]
fn safeguards_take_the_most_specific_layer_and_default_to_refusing() {
    let with = |yaml: &str| {
        Policy::new(Config {
            dir: PathBuf::from("/nonexistent"),
            connections: serde_saphyr::from_str::<ConnectionsFile>(CONNECTIONS).unwrap(),
            policy: serde_saphyr::from_str::<PolicyFile>(yaml).unwrap(),
            joins: JoinsFile::default(),
            ..Default::default()
        })
    };
    let defaults = with("{}");
    assert_eq!(
        defaults.source("crm").unwrap().safeguards(),
        Safeguards::default()
    );
    assert!(!Safeguards::default().allow_privileged_login);
    let layered = with(
        "security: {allow_privileged_login: true}\n\
         defaults: {work_mem_bytes: 1000000}\n\
         sources:\n  crm:\n    security: {allow_privileged_login: false}\n    defaults: {temp_file_limit_bytes: 5000}\n",
    );
    let crm = layered.source("crm").unwrap().safeguards();
    assert!(!crm.allow_privileged_login);
    assert_eq!(crm.work_mem_bytes, 1_000_000);
    assert_eq!(crm.temp_file_limit_bytes, 5000);
    let dw = layered.source("dw").unwrap().safeguards();
    assert!(dw.allow_privileged_login);
    assert_eq!(dw.temp_file_limit_bytes, builtin::TEMP_FILE_LIMIT_BYTES);
}
