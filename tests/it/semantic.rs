//! The semantic layer end to end: catalog files loaded by `config::load`
//! and cross-checked by `semantic::check_catalog`, metric SQL and `query_table` built as ASTs, sent
//! through the gate, and run on the real PostgreSQL (the gate fixture's
//! shop) against hand-written reference queries.
//!
//! The caller is the fixture's `region_manager` for EAST and NORTH, so every
//! metric and structured read must see only those regions' orders, exactly
//! as raw SQL through the gate does.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sqlwarden::config::semantic_catalog::{Grain, SemanticCatalog};
use sqlwarden::error::{ErrorCode, ToolError};
use sqlwarden::guard::{CheckedQuery, Gate, TableFacts};
use sqlwarden::policy::Policy;
use sqlwarden::semantic::args::{
    ListMetricsArgs, MetricArgs, MetricQueryArgs, QueryTableArgs, SearchBusinessTermsArgs,
};
use sqlwarden::semantic::{self as sem, CursorKey, GatedQuery, MetricQuery, TableQuery};
use tokio_postgres::Client;

use crate::support::gate::{self, fixture_db, fixture_facts, run_read_only};

const FIXTURE: &str = "tests/fixtures/semantic";

fn load() -> (Policy, SemanticCatalog) {
    let config =
        sqlwarden::config::load_with_managed(Path::new(FIXTURE), Path::new("/nonexistent"))
            .unwrap_or_else(|errs| {
                panic!(
                    "{}",
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
    let policy = Policy::new(config);
    let catalog = sem::check_catalog(&policy).unwrap();
    (policy, catalog)
}

fn args(json: serde_json::Value) -> MetricQueryArgs {
    serde_json::from_value(json).unwrap()
}

fn table_args(json: serde_json::Value) -> QueryTableArgs {
    serde_json::from_value(json).unwrap()
}

/// Facts for the shop as the database has them, with the events table's
/// newest partition (what `max_pt` resolves to).
async fn shop_facts(client: &Client, policy: &Policy) -> TableFacts {
    let mut facts = fixture_facts(client, policy).await;
    facts
        .default_partitions
        .insert("public.events".into(), "20240603".into());
    facts
}

/// Facts for the MaxCompute source, as the engine would report them.
fn dw_facts() -> TableFacts {
    let mut facts = TableFacts::default();
    facts.columns.insert(
        "saky_dw.dwd_sales_di".into(),
        [
            "order_code",
            "product_code",
            "sales_amount",
            "order_time",
            "buyer_phone",
            "pt",
        ]
        .map(String::from)
        .to_vec(),
    );
    facts.columns.insert(
        "saky_dw.dim_product".into(),
        ["product_code", "category"].map(String::from).to_vec(),
    );
    facts
        .default_partitions
        .insert("saky_dw.dwd_sales_di".into(), "20240603".into());
    facts
}

fn gate_metric(
    policy: &Policy,
    query: &MetricQuery,
    facts: &TableFacts,
) -> Result<CheckedQuery, ToolError> {
    let rules = policy.source(query.source()).unwrap();
    let gate = Gate::new(&rules);
    let prepared = query.prepare(&gate)?;
    query.check(&gate, prepared, facts)
}

fn gate_table(
    policy: &Policy,
    query: &TableQuery,
    facts: &TableFacts,
) -> Result<CheckedQuery, ToolError> {
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let prepared = query.prepare(&gate)?;
    query.check(&gate, prepared, facts)
}

/// Each row as PostgreSQL's own text form of the whole row, so results of
/// differently named columns compare by value.
async fn rows_as_text(client: &Client, sql: &str) -> Vec<String> {
    run_read_only(client, &format!("SELECT q::text FROM ({sql}) AS q"))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Generate, gate and run a metric query.
async fn run_metric(
    client: &Client,
    policy: &Policy,
    catalog: &SemanticCatalog,
    json: serde_json::Value,
) -> Vec<String> {
    let query = sem::generate_metric_sql(catalog, policy, &args(json)).unwrap();
    let checked = gate_metric(policy, &query, &shop_facts(client, policy).await)
        .unwrap_or_else(|e| panic!("{}: {} {}", query.sql(), e.code, e.message));
    rows_as_text(client, checked.sql()).await
}

// ---- catalog loading -------------------------------------------------------

#[test]
fn the_test_catalog_loads_through_config_load() {
    let (_, catalog) = load();
    assert_eq!(catalog.domains.domains.len(), 3);
    assert_eq!(catalog.terms.terms.len(), 4);
    assert_eq!(catalog.metrics.metrics.len(), 5);
}

#[test]
fn the_example_catalog_loads() {
    let config =
        sqlwarden::config::load_with_managed(Path::new("config"), Path::new("/nonexistent"))
            .unwrap_or_else(|errs| {
                panic!(
                    "{}",
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
    let catalog = sem::check_catalog(&Policy::new(config)).unwrap();
    assert_eq!(catalog.domains.domains.len(), 2);
    assert_eq!(catalog.metrics.metrics.len(), 5);
    assert!(catalog.terms.terms.len() >= 4);
    assert!(catalog
        .terms
        .terms
        .iter()
        .any(|t| t.name.chars().any(|c| c > '\u{2e80}')));
}

/// A copy of the fixture config with `metrics.yaml` replaced.
fn config_with_metrics(metrics: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("catalog")).unwrap();
    for file in [
        "connections.yaml",
        "policy.yaml",
        "catalog/joins.yaml",
        "catalog/domains.yaml",
    ] {
        std::fs::copy(PathBuf::from(FIXTURE).join(file), dir.path().join(file)).unwrap();
    }
    std::fs::write(dir.path().join("catalog/metrics.yaml"), metrics).unwrap();
    dir
}

fn load_errors(dir: &Path) -> Vec<String> {
    sqlwarden::config::load_with_managed(dir, Path::new("/nonexistent"))
        .and_then(|config| sem::check_catalog(&Policy::new(config)))
        .unwrap_err()
        .iter()
        .map(|e| {
            format!(
                "{}:{}: {}",
                e.line.unwrap_or(0),
                e.column.unwrap_or(0),
                e.message
            )
        })
        .collect()
}

#[test]
fn metrics_that_policy_forbids_are_located_config_errors() {
    let dir = config_with_metrics(
        "metrics:
  - name: leaky
    domain: sales
    description: reads a column policy does not allow
    base_table: public.orders
    expression: sum(amount) + count(note)
    joins: [orders_to_regions_draft]
    dimensions:
      - {name: who, table: public.customers, column: name}
      - {name: log, table: public.audit_log, column: entry}
      - {name: phone, column: phone}
    default_filters: [\"note IS NOT NULL\"]
  - name: nowhere
    domain: marketing
    description: unknown domain
    base_table: public.secrets
    expression: count(1)
",
    );
    let errs = load_errors(dir.path());
    let expect = [
        "6:17: metric `leaky`: the expression reads column `note`",
        "7:13: metric `leaky`: join `orders_to_regions_draft` is not an approved join",
        "12:23: metric `leaky`: default filter reads column `note`",
        "9:28: metric `leaky`: dimension `who`: table `public.customers` is not reached",
        "10:28: metric `leaky`: dimension `log`: table `public.audit_log` is not allowed",
        "11:31: metric `leaky`: dimension `phone`: column `phone` is not allowed",
        "14:13: metric `nowhere`: domain `marketing` is not in domains.yaml",
        "13:5: metric `nowhere`: no source",
    ];
    for want in expect {
        assert!(
            errs.iter().any(|e| e.starts_with(want)),
            "missing {want:?} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
}

#[test]
fn terms_and_grains_are_cross_checked_too() {
    let dir = config_with_metrics(
        "metrics:
  - name: dw_weekly
    domain: supply
    description: weeks do not truncate on MaxCompute
    base_table: saky_dw.dwd_sales_di
    expression: sum(sales_amount)
    time_dimension: {column: order_time, grains: [day, week], default_grain: month}
",
    );
    std::fs::write(
        dir.path().join("catalog/terms.yaml"),
        "terms:
  - name: phone
    definition: a denied column
    domain: sales
    columns: [public.customers.phone, public.orders.amount]
    tables: [public.audit_log]
    metrics: [profit]
",
    )
    .unwrap();
    let errs = load_errors(dir.path());
    let expect = [
        "7:56: metric `dw_weekly`: grain `week` is not supported on MaxCompute",
        "7:78: metric `dw_weekly`: default grain `month` is not one of `grains`",
        "7:14: term `phone`: metric `profit` is not in metrics.yaml",
        "6:14: term `phone`: table `public.audit_log` is not allowed",
        "5:15: term `phone`: column `public.customers.phone`",
    ];
    for want in expect {
        assert!(
            errs.iter().any(|e| e.starts_with(want)),
            "missing {want:?} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
}

#[test]
fn unknown_keys_in_catalog_files_are_errors_with_positions() {
    let dir = config_with_metrics(
        "metrics:\n  - name: m\n    domain: sales\n    description: d\n    base_table: public.orders\n    expression: count(1)\n    dimension: []\n",
    );
    let errs = load_errors(dir.path());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("7:5: unknown field `dimension`"),
        "{errs:?}"
    );
}

// ---- browsing and search ---------------------------------------------------

#[test]
fn browse_tools_show_the_catalog() {
    let (policy, catalog) = load();
    let domains = sem::list_domains(&catalog);
    assert_eq!(domains[0].name, "sales");
    assert_eq!(
        domains[0].metrics,
        ["revenue", "order_count", "active_customers"]
    );
    assert_eq!(domains[0].term_count, 4);
    let supply = sem::list_metrics(
        &catalog,
        &ListMetricsArgs {
            domain: Some("supply".into()),
        },
    )
    .unwrap();
    assert_eq!(supply.len(), 1);
    assert_eq!(supply[0].name, "dw_sales");
    let err = sem::list_metrics(
        &catalog,
        &ListMetricsArgs {
            domain: Some("hr".into()),
        },
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.hint.contains("`sales`"), "{}", err.hint);

    let metric = MetricArgs {
        metric: "revenue".into(),
    };
    let def = sem::get_metric_definition(&catalog, &policy, &metric).unwrap();
    assert_eq!(def.source.as_deref(), Some("shop"));
    assert_eq!(def.unit.as_deref(), Some("CNY"));
    let dims = sem::get_dimensions(&catalog, &metric).unwrap();
    let names: Vec<&str> = dims.dimensions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["region", "status", "segment", "category"]);
    assert_eq!(dims.dimensions[2].table, "public.customers");
    assert_eq!(
        dims.time_dimension.unwrap().default_grain,
        Some(Grain::Month)
    );
    let missing = sem::get_dimensions(
        &catalog,
        &MetricArgs {
            metric: "revnue".into(),
        },
    )
    .unwrap_err();
    assert_eq!(missing.code, ErrorCode::MetricNotFound);
    assert!(missing.hint.contains("`revenue`"), "{}", missing.hint);
}

fn search(catalog: &SemanticCatalog, keyword: &str, domain: Option<&str>) -> Vec<(String, u32)> {
    let args = SearchBusinessTermsArgs {
        keyword: keyword.into(),
        domain: domain.map(String::from),
        limit: None,
    };
    sem::search_business_terms(catalog, &args)
        .unwrap()
        .into_iter()
        .map(|h| (h.name, h.score))
        .collect()
}

#[test]
fn search_ranks_names_synonyms_and_descriptions_in_english_and_chinese() {
    let (_, catalog) = load();
    assert_eq!(search(&catalog, "销售额", None)[0].0, "revenue");
    assert_eq!(search(&catalog, "gmv", None)[0].0, "revenue");
    let exact = &search(&catalog, "订单量", None)[0];
    assert_eq!(exact.0, "订单量");
    assert!(
        exact.1 >= 100,
        "an exact name match scores at least 100: {}",
        exact.1
    );
    let customers: Vec<String> = search(&catalog, "客户", None)
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert!(
        customers.contains(&"customer segment".to_string()),
        "{customers:?}"
    );
    assert!(customers.contains(&"活跃客户".to_string()), "{customers:?}");
    assert_eq!(
        search(&catalog, "warehouse", Some("supply"))[0].0,
        "dw_sales"
    );
    assert!(search(&catalog, "warehouse", Some("sales")).is_empty());
    assert!(search(&catalog, "zebra", None).is_empty());
    let empty = SearchBusinessTermsArgs {
        keyword: "  ".into(),
        domain: None,
        limit: None,
    };
    assert_eq!(
        sem::search_business_terms(&catalog, &empty)
            .unwrap_err()
            .code,
        ErrorCode::InvalidArgument
    );
}

// ---- golden SQL -------------------------------------------------------------

#[tokio::test]
async fn golden_postgres_metric_sql() {
    let (policy, catalog) = load();
    let (_db, client) = fixture_db("sem_golden_pg").await;
    let facts = shop_facts(&client, &policy).await;
    let query = sem::generate_metric_sql(
        &catalog,
        &policy,
        &args(serde_json::json!({
            "metric": "revenue",
            "dimensions": ["region", "segment"],
            "filters": [{"op": "in", "field": "status", "values": ["paid", "shipped"]}],
            "time_range": {"start": "2024-03-01", "end": "2024-04-01"},
            "grain": "week",
            "limit": 50
        })),
    )
    .unwrap();
    assert_eq!(query.columns(), ["period", "region", "segment", "revenue"]);
    insta::assert_snapshot!("pg_revenue_generated", query.sql());
    let checked = gate_metric(&policy, &query, &facts).unwrap();
    insta::assert_snapshot!("pg_revenue_gated", checked.sql());
    assert_eq!(checked.applied_limit(), 50);
}

#[test]
fn golden_maxcompute_metric_sql() {
    let (policy, catalog) = load();
    let query = sem::generate_metric_sql(
        &catalog,
        &policy,
        &args(serde_json::json!({
            "metric": "dw_sales",
            "dimensions": ["category"],
            "filters": [{"op": "like", "field": "product", "pattern": "P%"}],
            "time_range": {"start": "2024-06-01", "end": "2024-06-03T12:00:00"},
            "grain": "month"
        })),
    )
    .unwrap();
    insta::assert_snapshot!("mc_dw_sales_generated", query.sql());
    let checked = gate_metric(&policy, &query, &dw_facts()).unwrap();
    insta::assert_snapshot!("mc_dw_sales_gated", checked.sql());
    assert_eq!(
        checked
            .partitions_used()
            .get("saky_dw.dwd_sales_di")
            .map(String::as_str),
        Some("20240603")
    );
}

#[test]
fn golden_query_table_sql() {
    let (policy, _) = load();
    let rules = policy.source("shop").unwrap();
    let key = CursorKey::random();
    let query = sem::compile_query_table(
        &rules,
        &key,
        &table_args(serde_json::json!({
            "table": "public.orders",
            "columns": ["order_id", "amount", "status"],
            "filter": {"op": "or", "filters": [
                {"op": "and", "filters": [{"op": "ge", "field": "amount", "value": 100}, {"op": "ne", "field": "status", "value": "new"}]},
                {"op": "not", "filter": {"op": "is_null", "field": "region_code"}},
                {"op": "between", "field": "created_at", "low": "2024-03-01", "high": "2024-03-05"}
            ]},
            "order_by": [{"column": "amount", "descending": true}],
            "limit": 20
        })),
    )
    .unwrap();
    insta::assert_snapshot!("pg_query_table_generated", query.sql());
}

// ---- execution against PostgreSQL -------------------------------------------

#[tokio::test]
async fn metric_results_match_a_hand_written_query_under_the_row_policy() {
    let (policy, catalog) = load();
    let (_db, client) = fixture_db("sem_metric_exec").await;
    let got = run_metric(
        &client,
        &policy,
        &catalog,
        serde_json::json!({"metric": "revenue", "dimensions": ["region"], "grain": "month",
                           "time_range": {"start": "2024-03-01", "end": "2024-05-01"}}),
    )
    .await;
    let want = rows_as_text(
        &client,
        "SELECT date_trunc('month', created_at), region_code, sum(amount) FROM orders \
         WHERE status <> 'new' AND region_code IN ('EAST', 'NORTH') \
           AND created_at >= '2024-03-01' AND created_at < '2024-05-01' \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await;
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert!(
        got.iter()
            .all(|r| r.contains("EAST") || r.contains("NORTH")),
        "{got:?}"
    );
}

#[tokio::test]
async fn joined_dimensions_and_filters_match_a_hand_written_query() {
    let (policy, catalog) = load();
    let (_db, client) = fixture_db("sem_metric_join").await;
    let got = run_metric(
        &client,
        &policy,
        &catalog,
        serde_json::json!({"metric": "active_customers", "dimensions": ["segment"],
                           "filters": [{"op": "ne", "field": "segment", "value": "smb"}]}),
    )
    .await;
    let want = rows_as_text(
        &client,
        "SELECT c.segment, count(DISTINCT o.customer_id) FROM orders o \
         JOIN customers c ON o.customer_id = c.customer_id \
         WHERE o.region_code IN ('EAST', 'NORTH') AND c.segment <> 'smb' \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(want.len(), 2);
    assert_eq!(got, want);

    let total = run_metric(
        &client,
        &policy,
        &catalog,
        serde_json::json!({"metric": "order_count"}),
    )
    .await;
    assert_eq!(
        total,
        ["(150)"],
        "the row policy leaves EAST and NORTH: 150 orders"
    );
}

#[tokio::test]
async fn partition_rules_hold_for_metrics() {
    let (policy, catalog) = load();
    let (_db, client) = fixture_db("sem_metric_partition").await;
    let newest = run_metric(
        &client,
        &policy,
        &catalog,
        serde_json::json!({"metric": "event_count", "dimensions": ["day"]}),
    )
    .await;
    assert_eq!(
        newest,
        ["(20240603,30)"],
        "only the default (newest) partition"
    );
    let named = run_metric(
        &client,
        &policy,
        &catalog,
        serde_json::json!({"metric": "event_count", "dimensions": ["day"],
                           "filters": [{"op": "eq", "field": "day", "value": "20240601"}]}),
    )
    .await;
    assert_eq!(named, ["(20240601,30)"]);
}

#[tokio::test]
async fn query_table_pages_through_exactly_the_visible_rows() {
    let (policy, _) = load();
    let (_db, client) = fixture_db("sem_query_table").await;
    let facts = shop_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let key = CursorKey::random();
    let base = serde_json::json!({
        "table": "public.orders",
        "columns": ["order_id", "region_code", "amount"],
        "filter": {"op": "and", "filters": [
            {"op": "ge", "field": "amount", "value": 300},
            {"op": "like", "field": "status", "pattern": "%p%"}]},
        "order_by": [{"column": "amount", "descending": true}],
        "limit": 7
    });
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut request = base.clone();
        if let Some(c) = &cursor {
            request["cursor"] = serde_json::Value::String(c.clone());
        }
        let query = sem::compile_query_table(&rules, &key, &table_args(request)).unwrap();
        let checked = gate_table(&policy, &query, &facts).unwrap();
        let mut rows = rows_as_text(&client, checked.sql()).await;
        let truncated = rows.len() as u64 > checked.applied_limit();
        rows.truncate(7);
        seen.extend(rows);
        pages += 1;
        cursor = query.next_cursor(&key, &checked, truncated).unwrap();
        if cursor.is_none() {
            break;
        }
        assert!(pages < 50, "paging does not end");
    }
    let want = rows_as_text(
        &client,
        "SELECT order_id, region_code, amount FROM orders \
         WHERE region_code IN ('EAST', 'NORTH') AND amount >= 300 AND status LIKE '%p%' \
         ORDER BY amount DESC, order_id, region_code",
    )
    .await;
    assert!(want.len() > 14, "more than two pages: {}", want.len());
    assert_eq!(seen, want);
    assert_eq!(pages, want.len().div_ceil(7));
}

#[tokio::test]
async fn hostile_values_and_names_stay_values_and_names() {
    let (policy, catalog) = load();
    let (_db, client) = fixture_db("sem_hostile").await;
    let facts = shop_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let key = CursorKey::random();
    let query = sem::compile_query_table(
        &rules,
        &key,
        &table_args(serde_json::json!({
            "table": "public.orders", "columns": ["order_id"],
            "filter": {"op": "eq", "field": "status", "value": "x' OR '1'='1"}
        })),
    )
    .unwrap();
    let checked = gate_table(&policy, &query, &facts).unwrap();
    assert!(rows_as_text(&client, checked.sql()).await.is_empty());

    let backslash = sem::generate_metric_sql(
        &catalog,
        &policy,
        &args(serde_json::json!({"metric": "order_count",
            "filters": [{"op": "eq", "field": "status", "value": "\\' OR true --"}]})),
    )
    .unwrap();
    let checked = gate_metric(&policy, &backslash, &facts).unwrap();
    assert_eq!(rows_as_text(&client, checked.sql()).await, ["(0)"]);

    for column in [
        "note\" FROM orders --",
        "amount\", \"note",
        "a\\\" OR 1=1",
        "x`y",
        "a\u{0}b",
        "",
    ] {
        let query = sem::compile_query_table(
            &rules,
            &key,
            &table_args(serde_json::json!({"table": "public.orders", "columns": [column]})),
        )
        .unwrap_err();
        assert_eq!(query.code, ErrorCode::InvalidArgument, "{column:?}");
    }
    let filtered = sem::compile_query_table(
        &rules,
        &key,
        &table_args(
            serde_json::json!({"table": "public.orders", "columns": ["order_id"],
            "filter": {"op": "not", "filter": {"op": "eq", "field": "status\" OR true --", "value": 1}}}),
        ),
    );
    assert_eq!(filtered.unwrap_err().code, ErrorCode::InvalidArgument);
    let backslash_table = sem::compile_query_table(
        &rules,
        &key,
        &table_args(
            serde_json::json!({"table": "public.orders", "columns": ["order_id"],
            "filter": {"op": "eq", "field": "status", "value": "\\' OR true --"}}),
        ),
    )
    .unwrap();
    let checked = gate_table(&policy, &backslash_table, &facts).unwrap();
    assert!(rows_as_text(&client, checked.sql()).await.is_empty());
    let like_backslash = sem::compile_query_table(
        &rules,
        &key,
        &table_args(
            serde_json::json!({"table": "public.orders", "columns": ["order_id"],
            "filter": {"op": "like", "field": "status", "pattern": "%\\%"}}),
        ),
    )
    .unwrap();
    let checked = gate_table(&policy, &like_backslash, &facts).unwrap();
    assert!(
        rows_as_text(&client, checked.sql()).await.is_empty(),
        "no status holds a backslash"
    );
}

// ---- refusals ---------------------------------------------------------------

#[tokio::test]
async fn structured_reads_obey_column_table_and_partition_rules() {
    let (policy, _) = load();
    let (_db, client) = fixture_db("sem_query_table_rules").await;
    let facts = shop_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let key = CursorKey::random();
    let compile = |json: serde_json::Value| {
        sem::compile_query_table(&rules, &key, &table_args(json)).unwrap()
    };
    let cases = [
        (
            serde_json::json!({"table": "public.orders", "columns": ["order_id", "note"]}),
            ErrorCode::ColumnNotAllowed,
        ),
        (
            serde_json::json!({"table": "public.orders", "columns": ["order_id"],
            "filter": {"op": "is_null", "field": "note"}}),
            ErrorCode::ColumnNotAllowed,
        ),
        (
            serde_json::json!({"table": "public.customers", "columns": ["name"],
            "order_by": [{"column": "phone"}]}),
            ErrorCode::ColumnNotAllowed,
        ),
        (
            serde_json::json!({"table": "public.audit_log", "columns": ["entry"]}),
            ErrorCode::TableNotAllowed,
        ),
        (
            serde_json::json!({"table": "pg_catalog.pg_authid", "columns": ["rolpassword"]}),
            ErrorCode::SystemSchemaNotAllowed,
        ),
        (
            serde_json::json!({"table": "public.orders", "columns": ["order_id"], "limit": 0}),
            ErrorCode::LimitMustBePositive,
        ),
    ];
    for (json, code) in cases {
        let err = gate_table(&policy, &compile(json.clone()), &facts).unwrap_err();
        assert_eq!(err.code, code, "{json}: {}", err.message);
        assert!(!err.hint.is_empty());
    }
    let events = compile(serde_json::json!({"table": "public.events", "columns": ["pt"]}));
    let checked = gate_table(&policy, &events, &facts).unwrap();
    let rows = rows_as_text(&client, checked.sql()).await;
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r == "(20240603)"),
        "{rows:?}"
    );
}

#[test]
fn bad_metric_requests_get_the_right_codes() {
    let (policy, catalog) = load();
    let code = |json: serde_json::Value| {
        sem::generate_metric_sql(&catalog, &policy, &args(json.clone()))
            .map(|q| q.sql().to_string())
            .unwrap_err()
    };
    let unknown = code(serde_json::json!({"metric": "profit"}));
    assert_eq!(unknown.code, ErrorCode::MetricNotFound);
    assert!(unknown.hint.contains("`revenue`"), "{}", unknown.hint);
    let dim = code(serde_json::json!({"metric": "order_count", "dimensions": ["segment"]}));
    assert_eq!(dim.code, ErrorCode::DimensionNotAllowed);
    assert!(dim.hint.contains("`region`, `status`"), "{}", dim.hint);
    let denied = code(serde_json::json!({"metric": "revenue",
        "filters": [{"op": "is_null", "field": "note"}]}));
    assert_eq!(denied.code, ErrorCode::DimensionNotAllowed);
    for json in [
        serde_json::json!({"metric": "active_customers", "grain": "day"}),
        serde_json::json!({"metric": "event_count", "grain": "day"}),
        serde_json::json!({"metric": "event_count", "time_range": {"start": "2024-01-01", "end": "2024-02-01"}}),
        serde_json::json!({"metric": "revenue", "time_range": {"start": "2024-02-01", "end": "2024-01-01"}}),
        serde_json::json!({"metric": "revenue", "time_range": {"start": "March", "end": "2024-01-01"}}),
        serde_json::json!({"metric": "revenue", "dimensions": ["region", "region"]}),
        serde_json::json!({"metric": "revenue", "filters": [{"op": "or", "filters": []}]}),
        serde_json::json!({"metric": "dw_sales", "grain": "week"}),
    ] {
        assert_eq!(
            code(json.clone()).code,
            ErrorCode::InvalidArgument,
            "{json}"
        );
    }
    let problems = sem::validate_metric_query(
        &catalog,
        &policy,
        &args(
            serde_json::json!({"metric": "revenue", "dimensions": ["planet", "region"],
            "grain": "year", "filters": [{"op": "eq", "field": "moon", "value": 1}]}),
        ),
    );
    let codes: Vec<ErrorCode> = problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::InvalidArgument,
            ErrorCode::DimensionNotAllowed,
            ErrorCode::DimensionNotAllowed
        ]
    );
    assert!(sem::validate_metric_query(
        &catalog,
        &policy,
        &args(serde_json::json!({"metric": "revenue"}))
    )
    .is_empty());
    for bad in [
        serde_json::json!({"metric": "revenue", "sql": "SELECT 1"}),
        serde_json::json!({"metric": "revenue", "grain": "fortnight"}),
        serde_json::json!({"metric": "revenue", "filters": [{"op": "raw", "sql": "1=1"}]}),
    ] {
        assert!(
            serde_json::from_value::<MetricQueryArgs>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn malformed_and_foreign_cursors_are_invalid_arguments() {
    let (policy, _) = load();
    let rules = policy.source("shop").unwrap();
    let key = CursorKey::random();
    let request = |cursor: &str, columns: &[&str]| {
        table_args(
            serde_json::json!({"table": "public.orders", "columns": columns, "cursor": cursor}),
        )
    };
    for cursor in ["", "garbage", "eyJvIjoxMDB9.AAAA", "a.b.c"] {
        let err =
            sem::compile_query_table(&rules, &key, &request(cursor, &["order_id"])).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{cursor}");
        assert!(err.hint.contains("next_cursor"), "{}", err.hint);
    }
    assert!(serde_json::from_value::<QueryTableArgs>(
        serde_json::json!({"table": "public.orders", "columns": ["order_id"], "offset": 5})
    )
    .is_err());
    let empty = sem::compile_query_table(
        &rules,
        &key,
        &table_args(serde_json::json!({"table": "public.orders", "columns": []})),
    );
    assert_eq!(empty.unwrap_err().code, ErrorCode::InvalidArgument);

    // A real cursor, used with another query, is refused too.
    let mut facts = TableFacts::default();
    facts.columns.insert(
        "public.orders".into(),
        ["order_id", "amount", "region_code"]
            .map(String::from)
            .to_vec(),
    );
    let first = sem::compile_query_table(
        &rules,
        &key,
        &table_args(serde_json::json!({"table": "public.orders", "columns": ["order_id"]})),
    )
    .unwrap();
    let checked = gate_table(&policy, &first, &facts).unwrap();
    let cursor = first.next_cursor(&key, &checked, true).unwrap().unwrap();
    let next = sem::compile_query_table(&rules, &key, &request(&cursor, &["order_id"])).unwrap();
    assert_eq!(next.offset(), checked.applied_limit());
    let foreign =
        sem::compile_query_table(&rules, &key, &request(&cursor, &["order_id", "amount"]))
            .unwrap_err();
    assert_eq!(foreign.code, ErrorCode::InvalidArgument);
    assert!(
        foreign.message.contains("different query"),
        "{}",
        foreign.message
    );
    assert!(first.next_cursor(&key, &checked, false).unwrap().is_none());
}

/// The fixture's policy and joins are the gate fixture's plus one MaxCompute
/// table and its join; this keeps the copies from drifting apart.
#[test]
fn the_fixture_is_the_gate_fixture_plus_one_table() {
    use sqlwarden::config::{JoinsFile, PolicyFile};
    let mut ours: PolicyFile =
        serde_saphyr::from_str(include_str!("../fixtures/semantic/policy.yaml")).unwrap();
    let gate: PolicyFile = serde_saphyr::from_str(gate::POLICY).unwrap();
    let dw = ours.sources.get_mut("dw").unwrap();
    assert!(dw.tables.remove("saky_dw.dwd_sales_di").is_some());
    assert_eq!(ours, gate);
    let mut joins: JoinsFile =
        serde_saphyr::from_str(include_str!("../fixtures/semantic/catalog/joins.yaml")).unwrap();
    let gate_joins: JoinsFile = serde_saphyr::from_str(gate::JOINS).unwrap();
    assert_eq!(
        joins.joins.pop().map(|j| j.id).as_deref(),
        Some("dw_sales_products")
    );
    assert_eq!(joins, gate_joins);
}
