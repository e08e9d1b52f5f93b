//! The semantic tools over a real stdio pipe: the built binary serves the
//! demo config (with its catalog) against a fresh copy of the demo
//! warehouse. Metric results are compared with hand-written reference
//! queries run as `postgres`; denied columns, the EAST/NORTH row policy and
//! partition rules must hold for metric and structured queries exactly as
//! for raw SQL; bad requests must get the right codes; every call must be
//! audited.
#![allow(clippy::unwrap_used)]

use rmcp::model::CallToolResult;
use serde_json::{json, Value};

use crate::stdio::{assert_error, assert_ok, call, envelope, Fixture, ALL_TOOLS};

/// A table with a partition column, three days of rows, and the policy and
/// metric that read it: the default partition is the newest day.
const PARTITIONED_SQL: &str = "
CREATE TABLE daily_sales (pt text NOT NULL, product_id integer NOT NULL, amount numeric(12, 2) NOT NULL);
INSERT INTO daily_sales
SELECT d, n, n * (CASE d WHEN '20240101' THEN 1 WHEN '20240102' THEN 10 ELSE 100 END)
FROM unnest(ARRAY['20240101', '20240102', '20240103']) AS d, generate_series(1, 10) AS n;
GRANT SELECT ON daily_sales TO sqlwarden_demo_ro;
";

const PARTITIONED_POLICY: &str = "      public.daily_sales:
        domain: sales
        description: Daily sales snapshot, one partition `pt` per day
        require_partition_filter: true
        default_partition: {field: pt, strategy: max_pt}
";

const PARTITIONED_METRIC: &str = "
  - name: daily_sales_amount
    domain: sales
    description: Sales amount of one daily snapshot
    base_table: public.daily_sales
    expression: sum(amount)
    dimensions:
      - {name: day, column: pt}
      - {name: product, column: product_id}
";

/// The demo fixture plus the partitioned table, its policy and its metric.
async fn fixture(label: &str, extra_policy: &str) -> Fixture {
    let fx = Fixture::new(label, extra_policy).await;
    fx.admin()
        .await
        .batch_execute(PARTITIONED_SQL)
        .await
        .unwrap();
    let policy_path = fx.dir.path().join("policy.yaml");
    let policy = std::fs::read_to_string(&policy_path).unwrap();
    let anchor = "  demo:\n    tables:\n";
    assert!(policy.contains(anchor));
    let policy = policy.replacen(anchor, &format!("{anchor}{PARTITIONED_POLICY}"), 1);
    std::fs::write(&policy_path, policy).unwrap();
    let metrics_path = fx.dir.path().join("catalog/metrics.yaml");
    let mut metrics = std::fs::read_to_string(&metrics_path).unwrap();
    metrics.push_str(PARTITIONED_METRIC);
    std::fs::write(&metrics_path, metrics).unwrap();
    fx
}

/// A cell as text: numbers and strings alike (numeric comes as a string).
fn cell(value: &Value) -> String {
    value
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| value.to_string())
}

/// The rows of a query result, as text.
fn rows(data: &Value) -> Vec<Vec<String>> {
    data["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(cell).collect())
        .collect()
}

fn column_names(data: &Value) -> Vec<String> {
    data["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A reference query as `postgres` (no row policy: the caller adds it),
/// every column cast to text.
async fn reference(fx: &Fixture, sql: &str) -> Vec<Vec<String>> {
    fx.admin()
        .await
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (0..row.len()).map(|i| row.get::<_, String>(i)).collect())
        .collect()
}

fn error_message(result: &CallToolResult) -> String {
    envelope(result)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn browsing_tools_read_the_demo_catalog() {
    let fx = fixture("sem_stdio_browse", "").await;
    let client = fx.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ALL_TOOLS);

    let domains = call(&client, "list_domains", json!({})).await;
    let names: Vec<&str> = assert_ok(&domains)["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sales", "merchandising"]);

    let found = call(
        &client,
        "search_business_terms",
        json!({"keyword": "销售额"}),
    )
    .await;
    let best = &assert_ok(&found)["matches"][0];
    assert_eq!(best["name"], "revenue", "{best:#}");
    assert_eq!(best["metrics"], json!(["revenue"]));
    let english = call(
        &client,
        "search_business_terms",
        json!({"keyword": "units sold", "domain": "merchandising"}),
    )
    .await;
    let names: Vec<&str> = assert_ok(&english)["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "units_sold", "the metric's own name ranks first");
    assert!(
        names.contains(&"销量"),
        "and the term by its synonym: {names:?}"
    );

    let metrics = call(&client, "list_metrics", json!({"domain": "sales"})).await;
    let names: Vec<&str> = assert_ok(&metrics)["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "revenue",
            "order_count",
            "average_order_value",
            "paying_customers",
            "daily_sales_amount"
        ]
    );
    let all = call(&client, "list_metrics", json!({})).await;
    assert_eq!(assert_ok(&all)["metrics"].as_array().unwrap().len(), 6);

    let definition = call(
        &client,
        "get_metric_definition",
        json!({"metric": "revenue"}),
    )
    .await;
    let metric = &assert_ok(&definition)["metric"];
    assert_eq!(metric["source"], "demo");
    assert_eq!(metric["expression"], "sum(amount)");
    assert_eq!(metric["default_filters"], json!(["status <> 'cancelled'"]));
    assert_eq!(envelope(&definition)["metadata"]["source"], "demo");

    let dimensions = call(&client, "get_dimensions", json!({"metric": "units_sold"})).await;
    let data = assert_ok(&dimensions);
    let names: Vec<&str> = data["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["category", "product", "region"]);
    assert_eq!(
        data["time_dimension"]["grains"],
        json!(["week", "month", "quarter"])
    );

    let unknown_domain = call(&client, "list_metrics", json!({"domain": "hr"})).await;
    assert!(assert_error(&unknown_domain, "INVALID_ARGUMENT")["hint"]
        .as_str()
        .unwrap()
        .contains("`sales`"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn metric_results_match_hand_written_queries_under_the_row_policy() {
    let fx = fixture("sem_stdio_metric", "").await;
    let client = fx.client().await;

    let by_region = call(
        &client,
        "run_metric_query",
        json!({"metric": "revenue", "dimensions": ["region"]}),
    )
    .await;
    let data = assert_ok(&by_region);
    assert_eq!(column_names(data), ["region", "revenue"]);
    let expected = reference(
        &fx,
        "SELECT region_code, sum(amount)::text FROM orders
         WHERE status <> 'cancelled' AND region_code IN ('EAST', 'NORTH')
         GROUP BY region_code ORDER BY region_code",
    )
    .await;
    assert_eq!(rows(data), expected);
    assert_eq!(expected.len(), 2, "the row policy leaves EAST and NORTH");
    let metadata = &envelope(&by_region)["metadata"];
    assert_eq!(metadata["source"], "demo");
    assert_eq!(metadata["tables_used"], json!(["public.orders"]));

    let quarterly = call(
        &client,
        "run_metric_query",
        json!({"metric": "units_sold", "dimensions": ["category"], "grain": "quarter",
               "time_range": {"start": "2024-04-01", "end": "2024-10-01"},
               "filters": [{"op": "in", "field": "category", "values": ["beverage", "staple"]}]}),
    )
    .await;
    let data = assert_ok(&quarterly);
    assert_eq!(column_names(data), ["period", "category", "units_sold"]);
    let expected = reference(
        &fx,
        "SELECT p.category, sum(o.quantity)::text FROM orders o JOIN products p ON o.product_id = p.product_id
         WHERE o.status <> 'cancelled' AND o.region_code IN ('EAST', 'NORTH')
           AND o.created_at >= '2024-04-01' AND o.created_at < '2024-10-01'
           AND p.category IN ('beverage', 'staple')
         GROUP BY date_trunc('quarter', o.created_at), p.category
         ORDER BY date_trunc('quarter', o.created_at), p.category",
    )
    .await;
    let got: Vec<Vec<String>> = rows(data).into_iter().map(|r| r[1..].to_vec()).collect();
    assert_eq!(got, expected);
    assert_eq!(expected.len(), 4, "two quarters by two categories");

    let segments = call(
        &client,
        "run_metric_query",
        json!({"metric": "paying_customers", "dimensions": ["customer_segment"]}),
    )
    .await;
    let expected = reference(
        &fx,
        "SELECT c.segment, count(DISTINCT o.customer_id)::text FROM orders o JOIN customers c ON o.customer_id = c.customer_id
         WHERE o.status <> 'cancelled' AND o.region_code IN ('EAST', 'NORTH') AND c.region_code IN ('EAST', 'NORTH')
         GROUP BY c.segment ORDER BY c.segment",
    )
    .await;
    assert_eq!(rows(assert_ok(&segments)), expected);

    let generated = call(
        &client,
        "generate_metric_sql",
        json!({"metric": "revenue", "dimensions": ["region"], "limit": 5}),
    )
    .await;
    let data = assert_ok(&generated);
    let sql = data["sql"].as_str().unwrap();
    assert!(
        sql.contains("region_code IN ('EAST', 'NORTH')"),
        "the gate's rendering, with the row policy: {sql}"
    );
    assert!(sql.ends_with("LIMIT 6"), "{sql}");
    assert_eq!(data["columns"], json!(["region", "revenue"]));
    assert_eq!(data["applied_limit"], 5);

    let valid = call(
        &client,
        "validate_metric_query",
        json!({"metric": "order_count", "dimensions": ["status"], "grain": "day"}),
    )
    .await;
    assert_eq!(*assert_ok(&valid), json!({"valid": true, "problems": []}));

    let records = fx.audit_records();
    let metric_run = records
        .iter()
        .find(|r| r["tool_name"] == "run_metric_query")
        .unwrap();
    assert!(metric_run["rewritten_sql"]
        .as_str()
        .unwrap()
        .contains("'EAST'"));
    assert_eq!(metric_run["request_params"]["metric"], "revenue");
    assert_eq!(records.len(), 5, "every call is audited");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn query_table_pages_and_keeps_column_and_row_rules() {
    let fx = fixture("sem_stdio_table", "").await;
    let client = fx.client().await;

    let request = json!({"source": "demo", "table": "public.customers",
        "columns": ["customer_id", "region_code", "segment"],
        "filter": {"op": "and", "filters": [
            {"op": "le", "field": "customer_id", "value": 60},
            {"op": "ne", "field": "segment", "value": "smb"}]},
        "order_by": [{"column": "customer_id", "descending": true}],
        "limit": 10});
    let expected = reference(
        &fx,
        "SELECT customer_id::text, region_code, segment FROM customers
         WHERE customer_id <= 60 AND segment <> 'smb' AND region_code IN ('EAST', 'NORTH')
         ORDER BY customers.customer_id DESC",
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = request.clone();
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let page = call(&client, "query_table", args).await;
        let data = assert_ok(&page);
        seen.extend(rows(data));
        pages += 1;
        match data["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(10));
    assert!(pages >= 2);

    let first = call(&client, "query_table", request.clone()).await;
    let next = assert_ok(&first)["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let mut other_query = request.clone();
    other_query["columns"] = json!(["customer_id", "segment"]);
    other_query["cursor"] = json!(next);
    assert_error(
        &call(&client, "query_table", other_query).await,
        "INVALID_ARGUMENT",
    );
    for bad in ["not-a-cursor", "eyJvIjo1MDAwfQ.AAAA", ""] {
        let mut args = request.clone();
        args["cursor"] = json!(bad);
        assert_error(
            &call(&client, "query_table", args).await,
            "INVALID_ARGUMENT",
        );
    }

    let phone = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.customers", "columns": ["name", "phone"]}),
    )
    .await;
    assert!(error_message(&phone).contains("phone"));
    assert_error(&phone, "COLUMN_NOT_ALLOWED");
    let filter_on_email = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.customers", "columns": ["name"],
               "filter": {"op": "like", "field": "email", "pattern": "%@example.com"}}),
    )
    .await;
    assert_error(&filter_on_email, "COLUMN_NOT_ALLOWED");
    let order_by_address = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.customers", "columns": ["name"],
               "order_by": [{"column": "address"}]}),
    )
    .await;
    assert_error(&order_by_address, "COLUMN_NOT_ALLOWED");
    let salaries = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.employees", "columns": ["salary"]}),
    )
    .await;
    assert_error(&salaries, "TABLE_NOT_ALLOWED");
    let injected = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.customers",
               "columns": ["name\" FROM public.employees --"]}),
    )
    .await;
    assert_error(&injected, "INVALID_ARGUMENT");
    let zero = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.customers", "columns": ["name"], "limit": 0}),
    )
    .await;
    assert_error(&zero, "LIMIT_MUST_BE_POSITIVE");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn partition_rules_hold_for_metrics_and_structured_reads() {
    let fx = fixture("sem_stdio_partition", "").await;
    let client = fx.client().await;

    let newest = call(
        &client,
        "run_metric_query",
        json!({"metric": "daily_sales_amount", "dimensions": ["day"]}),
    )
    .await;
    assert_eq!(rows(assert_ok(&newest)), [["20240103", "5500.00"]]);
    assert_eq!(
        envelope(&newest)["metadata"]["partitions_used"],
        json!({"public.daily_sales": "20240103"})
    );
    let named = call(
        &client,
        "run_metric_query",
        json!({"metric": "daily_sales_amount",
               "filters": [{"op": "eq", "field": "day", "value": "20240101"}]}),
    )
    .await;
    assert_eq!(rows(assert_ok(&named)), [["55.00"]]);

    let read = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.daily_sales", "columns": ["pt", "amount"], "limit": 100}),
    )
    .await;
    let data = assert_ok(&read);
    let days: Vec<String> = rows(data).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(days.len(), 10);
    assert!(days.iter().all(|d| d == "20240103"), "{days:?}");
    assert_eq!(data["next_cursor"], Value::Null);
    let older = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.daily_sales", "columns": ["pt", "amount"],
               "filter": {"op": "between", "field": "pt", "low": "20240101", "high": "20240102"}}),
    )
    .await;
    assert_eq!(rows(assert_ok(&older)).len(), 20);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_metric_requests_get_the_right_codes() {
    let fx = fixture("sem_stdio_refusals", "").await;
    let client = fx.client().await;

    let unknown = call(&client, "run_metric_query", json!({"metric": "profit"})).await;
    let error = assert_error(&unknown, "METRIC_NOT_FOUND");
    assert!(error["hint"].as_str().unwrap().contains("`revenue`"));
    assert_error(
        &call(
            &client,
            "get_metric_definition",
            json!({"metric": "profit"}),
        )
        .await,
        "METRIC_NOT_FOUND",
    );
    assert_error(
        &call(&client, "get_dimensions", json!({"metric": "profit"})).await,
        "METRIC_NOT_FOUND",
    );

    let phone = call(
        &client,
        "run_metric_query",
        json!({"metric": "revenue", "dimensions": ["phone"]}),
    )
    .await;
    let error = assert_error(&phone, "DIMENSION_NOT_ALLOWED");
    assert!(error["hint"]
        .as_str()
        .unwrap()
        .contains("`customer_segment`"));
    let filter_on_email = call(
        &client,
        "generate_metric_sql",
        json!({"metric": "revenue", "filters": [{"op": "eq", "field": "email", "value": "a@b.c"}]}),
    )
    .await;
    assert_error(&filter_on_email, "DIMENSION_NOT_ALLOWED");
    let other_metrics_dimension = call(
        &client,
        "run_metric_query",
        json!({"metric": "order_count", "dimensions": ["customer_segment"]}),
    )
    .await;
    assert_error(&other_metrics_dimension, "DIMENSION_NOT_ALLOWED");
    let grain = call(
        &client,
        "run_metric_query",
        json!({"metric": "order_count", "grain": "year"}),
    )
    .await;
    assert_error(&grain, "INVALID_ARGUMENT");
    let unknown_key = call(
        &client,
        "run_metric_query",
        json!({"metric": "revenue", "sql": "SELECT 1"}),
    )
    .await;
    assert_error(&unknown_key, "INVALID_ARGUMENT");

    let problems = call(
        &client,
        "validate_metric_query",
        json!({"metric": "revenue", "dimensions": ["phone"], "grain": "hour"}),
    )
    .await;
    let data = assert_ok(&problems);
    assert_eq!(data["valid"], false);
    let codes: Vec<&str> = data["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"DIMENSION_NOT_ALLOWED"), "{codes:?}");
    assert!(
        codes.len() >= 2,
        "every problem, not just the first: {codes:?}"
    );
    let unknown = call(
        &client,
        "validate_metric_query",
        json!({"metric": "profit"}),
    )
    .await;
    assert_eq!(
        assert_ok(&unknown)["problems"][0]["code"],
        "METRIC_NOT_FOUND"
    );

    let records = fx.audit_records();
    assert_eq!(records.len(), 10, "every call is audited");
    let denied = records
        .iter()
        .find(|r| r["error_code"] == "DIMENSION_NOT_ALLOWED")
        .unwrap();
    assert_eq!(denied["policy_decision"], "deny");
    client.cancel().await.unwrap();
}

/// Hostile values in filters and time ranges stay literals or are refused:
/// they never become SQL.
#[tokio::test]
async fn hostile_filter_values_stay_literals() {
    let fx = fixture("sem_stdio_hostile", "").await;
    let client = fx.client().await;
    let quote = call(
        &client,
        "run_metric_query",
        json!({"metric": "order_count", "dimensions": ["region"],
               "filters": [{"op": "eq", "field": "region", "value": "EAST' OR '1'='1"}]}),
    )
    .await;
    assert_eq!(rows(assert_ok(&quote)), Vec::<Vec<String>>::new());
    let escape = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.regions", "columns": ["region_code"],
               "filter": {"op": "like", "field": "name", "pattern": "%\\'; SELECT salary FROM employees; --"}}),
    )
    .await;
    assert_eq!(rows(assert_ok(&escape)), Vec::<Vec<String>>::new());
    let time = call(
        &client,
        "run_metric_query",
        json!({"metric": "revenue",
               "time_range": {"start": "2024-01-01' OR true --", "end": "2025-01-01"}}),
    )
    .await;
    assert_error(&time, "INVALID_ARGUMENT");
    let mut deep = json!({"op": "eq", "field": "region_code", "value": "EAST"});
    for _ in 0..40 {
        deep = json!({"op": "not", "filter": deep});
    }
    let nested = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.orders", "columns": ["order_id"], "filter": deep}),
    )
    .await;
    assert_error(&nested, "INVALID_ARGUMENT");
    let star = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.orders", "columns": ["*"]}),
    )
    .await;
    assert_error(&star, "COLUMN_NOT_ALLOWED");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn without_run_select_sql_the_semantic_tools_still_answer() {
    let fx = fixture("sem_stdio_nosql", "tools:\n  run_select_sql: false\n").await;
    let client = fx.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(!names.contains(&"run_select_sql"));
    assert_eq!(names.len(), ALL_TOOLS.len() - 1);
    assert_error(
        &call(
            &client,
            "run_select_sql",
            json!({"source": "demo", "sql": "SELECT order_id FROM public.orders"}),
        )
        .await,
        "TOOL_DISABLED",
    );
    let rows_read = call(
        &client,
        "query_table",
        json!({"source": "demo", "table": "public.orders", "columns": ["order_id", "region_code"],
               "filter": {"op": "eq", "field": "region_code", "value": "SOUTH"}}),
    )
    .await;
    assert_eq!(
        rows(assert_ok(&rows_read)).len(),
        0,
        "SOUTH is outside the row policy"
    );
    let count = call(
        &client,
        "run_metric_query",
        json!({"metric": "order_count"}),
    )
    .await;
    let expected = reference(
        &fx,
        "SELECT count(*)::text FROM orders WHERE region_code IN ('EAST', 'NORTH')",
    )
    .await;
    assert_eq!(rows(assert_ok(&count)), expected);
    client.cancel().await.unwrap();
}
