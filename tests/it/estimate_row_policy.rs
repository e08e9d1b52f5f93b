//! `estimate_query_cost` over a table under a row policy: PostgreSQL's
//! EXPLAIN estimates rows from statistics over the whole table, hidden rows
//! included, and its plan spells out the policy predicate. Through the real
//! stdio server: rows, cost and plan are withheld for `public.orders`
//! (the demo's `region_manager` policy), and kept for `public.products`
//! (no row policy).
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::stdio::{assert_ok, call, Fixture};

#[tokio::test]
async fn row_estimates_are_withheld_for_tables_under_a_row_policy() {
    let fx = Fixture::new("estimate_rowpol", "").await;
    // Rows the policy hides (a region outside the caller's
    // region_codes), so the whole-table statistics count more than the
    // caller may see.
    let admin = fx.admin().await;
    admin
        .batch_execute(
            "INSERT INTO public.orders
             SELECT 100000 + g, o.customer_id, o.product_id, o.region_code, o.quantity,
                    o.amount, o.status, o.created_at
             FROM (SELECT * FROM public.orders WHERE region_code NOT IN ('EAST', 'NORTH') LIMIT 1) o,
                  generate_series(1, 5000) g;
             ANALYZE public.orders;",
        )
        .await
        .unwrap();
    let client = fx.client().await;

    let policed = call(
        &client,
        "estimate_query_cost",
        json!({"source": "demo", "sql": "SELECT order_id FROM public.orders"}),
    )
    .await;
    let data = assert_ok(&policed);
    let estimate = &data["estimate"];
    assert!(estimate["estimated_rows"].is_null(), "{data:#}");
    assert!(estimate["cost"].is_null(), "{data:#}");
    assert!(estimate["plan"].is_null(), "{data:#}");
    assert!(
        estimate["withheld"]
            .as_str()
            .unwrap()
            .contains("public.orders"),
        "{data:#}"
    );
    let text: String = policed
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    assert!(!text.contains("rows="), "{text}");
    assert!(
        !text.contains("EAST"),
        "the policy predicate leaked: {text}"
    );
    assert!(text.contains("withheld"), "{text}");

    let open = call(
        &client,
        "estimate_query_cost",
        json!({"source": "demo", "sql": "SELECT product_id FROM public.products"}),
    )
    .await;
    let data = assert_ok(&open);
    assert!(
        data["estimate"]["estimated_rows"].as_f64().is_some(),
        "{data:#}"
    );
    assert!(
        data["estimate"]["plan"].as_str().unwrap().contains("rows="),
        "{data:#}"
    );
    client.cancel().await.unwrap();
}
