//! Row policies against real PostgreSQL: whatever shape the query takes
//! (joins, subqueries, CTEs, UNION, aliases, self-references, LATERAL), no
//! row outside the caller's regions comes back.
//!
//! The fixture (`tests/fixtures/gate/`) has 300 orders spread evenly over
//! four regions; the caller (role `region_manager`) may see EAST and NORTH,
//! so 150 orders.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use sqlwarden::guard::Gate;
use sqlwarden::policy::Policy;
use tokio_postgres::Client;

use crate::support::gate::{fixture_db, fixture_facts, fixture_policy, run_read_only};

const VISIBLE_ORDERS: i64 = 150;

async fn gated(client: &Client, policy: &Policy, sql: &str) -> Vec<tokio_postgres::Row> {
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let facts = fixture_facts(client, policy).await;
    let checked = gate
        .prepare(sql)
        .and_then(|p| gate.check(p, &facts, Some(1000)))
        .unwrap_or_else(|e| panic!("{sql}: refused {} {}", e.code, e.message));
    run_read_only(client, checked.sql())
        .await
        .unwrap_or_else(|e| panic!("{sql}: rendered {} failed: {e}", checked.sql()))
}

/// The regions of the given orders, read directly (not through the gate).
async fn regions_of(client: &Client, order_ids: &[i32]) -> BTreeSet<String> {
    client
        .query(
            "SELECT DISTINCT region_code FROM orders WHERE order_id = ANY($1)",
            &[&order_ids],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn allowed() -> BTreeSet<String> {
    ["EAST", "NORTH"].into_iter().map(String::from).collect()
}

#[tokio::test]
async fn order_ids_stay_in_policy_under_every_query_shape() {
    let (_db, client) = fixture_db("row_policies_shapes").await;
    let policy = fixture_policy();
    for sql in [
        "SELECT order_id FROM orders",
        "SELECT x.order_id FROM orders AS x",
        "SELECT order_id FROM PUBLIC.ORDERS",
        "SELECT order_id FROM \"public\".\"orders\"",
        "SELECT order_id FROM orders WHERE true OR region_code = 'WEST'",
        "SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id",
        "SELECT o.order_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE o.order_id IS NOT NULL",
        "SELECT order_id FROM (SELECT order_id FROM orders) s",
        "SELECT order_id FROM (SELECT * FROM (SELECT order_id, region_code FROM orders) a) b",
        "WITH w AS (SELECT order_id FROM orders) SELECT order_id FROM w",
        "WITH orders AS (SELECT order_id FROM public.orders) SELECT order_id FROM orders",
        "SELECT order_id FROM orders WHERE region_code = 'SOUTH' UNION ALL SELECT order_id FROM orders",
        "SELECT order_id FROM orders EXCEPT SELECT order_id FROM orders WHERE region_code = 'WEST'",
        "SELECT o.order_id FROM products p JOIN orders o ON o.product_id = p.product_id",
        "SELECT order_id FROM orders WHERE customer_id IN (SELECT customer_id FROM customers)",
    ] {
        let ids: Vec<i32> = gated(&client, &policy, sql).await.iter().map(|r| r.get(0)).collect();
        assert_eq!(ids.len() as i64, VISIBLE_ORDERS, "{sql}");
        assert_eq!(regions_of(&client, &ids).await, allowed(), "{sql}");
    }
}

#[tokio::test]
async fn out_of_policy_rows_never_appear() {
    let (_db, client) = fixture_db("row_policies_hidden").await;
    let policy = fixture_policy();
    for sql in [
        "SELECT order_id FROM orders WHERE region_code = 'WEST'",
        "SELECT order_id FROM orders WHERE region_code IN ('WEST', 'SOUTH')",
        "WITH w AS (SELECT order_id, region_code FROM orders) SELECT order_id FROM w WHERE region_code = 'SOUTH'",
        "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.customer_id WHERE o.region_code = 'WEST'",
        "SELECT order_id FROM orders o WHERE o.region_code NOT IN ('EAST', 'NORTH')",
    ] {
        assert!(gated(&client, &policy, sql).await.is_empty(), "{sql}");
    }
}

#[tokio::test]
async fn aggregates_and_correlated_references_see_only_policy_rows() {
    let (_db, client) = fixture_db("row_policies_aggregates").await;
    let policy = fixture_policy();
    let regions: BTreeSet<String> = gated(
        &client,
        &policy,
        "SELECT region_code, count(*) FROM orders GROUP BY region_code",
    )
    .await
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(regions, allowed());
    // A scalar subquery over the same table (a self-reference).
    let rows = gated(
        &client,
        &policy,
        "SELECT order_id, (SELECT count(*) FROM orders) AS total FROM orders",
    )
    .await;
    assert!(rows.iter().all(|r| r.get::<_, i64>(1) == VISIBLE_ORDERS));
    // LATERAL, correlated to the outer customer.
    let rows = gated(
        &client,
        &policy,
        "SELECT c.customer_id, l.n FROM customers c, LATERAL (SELECT count(*) AS n FROM orders o WHERE o.customer_id = c.customer_id) l",
    )
    .await;
    assert_eq!(
        rows.iter().map(|r| r.get::<_, i64>(1)).sum::<i64>(),
        VISIBLE_ORDERS
    );
    let total: i64 = gated(&client, &policy, "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id)")
        .await[0]
        .get(0);
    assert_eq!(total, VISIBLE_ORDERS);
}

#[tokio::test]
async fn policies_follow_the_callers_roles() {
    let (_db, client) = fixture_db("row_policies_roles").await;
    let mut config = fixture_policy().config().clone();
    let identity = config.policy.identity.as_mut().unwrap();
    identity.roles = vec!["analyst".into()];
    let unrestricted = Policy::new(config.clone());
    let all: i64 = gated(&client, &unrestricted, "SELECT count(*) FROM orders").await[0].get(0);
    assert_eq!(all, 300);
    // Several applying policies hold at once: `auditor` adds `false`.
    config.policy.identity.as_mut().unwrap().roles =
        vec!["region_manager".into(), "auditor".into()];
    let both = Policy::new(config);
    let none: i64 = gated(&client, &both, "SELECT count(*) FROM orders").await[0].get(0);
    assert_eq!(none, 0);
}
