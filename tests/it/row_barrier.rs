//! A row policy is a barrier: the agent's predicates never run on rows the
//! policy hides, whatever the planner's cost order, and a point query on an
//! indexed column still uses the index.
//!
//! The error oracle: a predicate that divides by zero only on a hidden
//! region. The policy here lists many values, which makes its filter more
//! expensive than the agent's, so a flattened plan evaluates the agent's
//! predicate first; the test shows that (the control: the same text
//! without the fence fails) and that the gate's rendering never does.
#![allow(clippy::unwrap_used)]

use sqlwarden::guard::Gate;
use sqlwarden::policy::Policy;

use crate::support::gate::{fixture_db, fixture_facts, policy_from};

/// The gate fixture's tables; the caller sees EAST and NORTH among twenty
/// region codes, through a policy filter that costs the planner more than
/// a division does.
fn wide_policy() -> Policy {
    let codes: Vec<String> = ["EAST", "NORTH"]
        .into_iter()
        .map(str::to_string)
        .chain((0..18).map(|i| format!("R{i:02}")))
        .collect();
    let policy = format!(
        r#"
identity: {{user_id: alice, roles: [region_manager], attributes: {{region_codes: [{}]}}}}
security: {{deny_unapproved_join: false}}
sources:
  shop:
    tables:
      public.orders:
        row_policies:
          - role: region_manager
            predicate: "upper(lower(upper(lower(region_code)))) IN (${{user.region_codes}})"
"#,
        codes.join(", ")
    );
    policy_from(&policy, "joins: []")
}

/// Order 5 is in WEST, which the caller cannot see.
const ORACLE: &str = "SELECT order_id, region_code FROM orders WHERE 100 / (order_id - 5) > 0";

#[tokio::test]
async fn predicates_never_see_hidden_rows() {
    let policy = wide_policy();
    let (_db, client) = fixture_db("row_barrier").await;
    let facts = fixture_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);

    let oracles = [
        ORACLE.to_string(),
        "SELECT order_id FROM orders WHERE 1 / (CASE WHEN region_code = 'WEST' THEN 0 ELSE 1 END) = 1".into(),
        "SELECT o.order_id FROM orders o WHERE o.amount / (CASE WHEN o.region_code = 'SOUTH' THEN 0 ELSE 1 END) > 0".into(),
        "SELECT count(*) FROM orders WHERE (CASE WHEN region_code = 'WEST' THEN 'x' ELSE '1' END)::int = 1".into(),
        "SELECT y FROM (SELECT order_id / (CASE WHEN region_code = 'WEST' THEN 0 ELSE 1 END) AS y FROM orders) s WHERE y > 0".into(),
        "WITH s AS (SELECT region_code FROM orders) SELECT count(*) FROM s WHERE 1 / (CASE WHEN region_code = 'WEST' THEN 0 ELSE 1 END) = 1".into(),
    ];
    for sql in &oracles {
        let checked = gate
            .prepare(sql)
            .and_then(|p| gate.check(p, &facts, Some(1000)))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        client.batch_execute("BEGIN READ ONLY").await.unwrap();
        let rows = client.query(checked.sql(), &[]).await;
        client.batch_execute("ROLLBACK").await.unwrap();
        let rows = rows.unwrap_or_else(|e| {
            panic!("{sql}\nran as {}\nand saw a hidden row: {e}", checked.sql())
        });
        assert!(!rows.is_empty(), "{sql}");
    }

    // The control: without the fence, PostgreSQL's cost order runs the
    // oracle on hidden rows, so the fence is what holds.
    let checked = gate
        .prepare(ORACLE)
        .and_then(|p| gate.check(p, &facts, None))
        .unwrap();
    assert!(checked.sql().contains(" OFFSET 0)"), "{}", checked.sql());
    let unfenced = checked.sql().replace(" OFFSET 0)", ")");
    client.batch_execute("BEGIN READ ONLY").await.unwrap();
    let leaked = client.query(&unfenced, &[]).await;
    client.batch_execute("ROLLBACK").await.unwrap();
    let Err(error) = leaked else {
        panic!("the unfenced control should hit a hidden row: {unfenced}");
    };
    assert_eq!(
        error.as_db_error().map(|d| d.code().code()),
        Some("22012"),
        "{error}"
    );
}

/// The timing oracle, made deterministic with a statement timeout rather
/// than a measured delay: a predicate that is slow only on hidden rows
/// (hashing a large string for each WEST order) finishes at once behind
/// the fence, while the unfenced control runs it on the hidden rows and is
/// cancelled by the timeout.
#[tokio::test]
async fn slow_predicates_never_run_on_hidden_rows() {
    let policy = wide_policy();
    let (_db, client) = fixture_db("row_barrier_timing").await;
    let facts = fixture_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let sql = "SELECT order_id FROM orders WHERE \
               (CASE WHEN region_code = 'WEST' THEN md5(repeat(region_code, 20000000)) ELSE 'x' END) = 'x'";
    let checked = gate
        .prepare(sql)
        .and_then(|p| gate.check(p, &facts, Some(1000)))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert!(checked.sql().contains(" OFFSET 0)"), "{}", checked.sql());
    let unfenced = checked.sql().replace(" OFFSET 0)", ")");
    let mut outcomes = Vec::new();
    for text in [checked.sql(), unfenced.as_str()] {
        client
            .batch_execute("BEGIN READ ONLY; SET LOCAL statement_timeout = '4s'")
            .await
            .unwrap();
        let rows = client.query(text, &[]).await;
        client.batch_execute("ROLLBACK").await.unwrap();
        outcomes.push(rows.map(|r| r.len()).map_err(|e| {
            e.as_db_error()
                .map(|d| d.code().code().to_string())
                .unwrap_or_default()
        }));
    }
    assert!(
        matches!(outcomes[0], Ok(n) if n > 0),
        "the fenced query ran the slow predicate on hidden rows: {:?}",
        outcomes[0]
    );
    assert_eq!(
        outcomes[1],
        Err("57014".to_string()),
        "the unfenced control should be slowed by the hidden rows"
    );
}

#[tokio::test]
async fn point_queries_keep_the_index() {
    let policy = wide_policy();
    let (_db, client) = fixture_db("row_barrier_index").await;
    let facts = fixture_facts(&client, &policy).await;
    let rules = policy.source("shop").unwrap();
    let gate = Gate::new(&rules);
    let checked = gate
        .prepare("SELECT order_id, amount FROM orders WHERE order_id = 42")
        .and_then(|p| gate.check(p, &facts, None))
        .unwrap();
    assert!(!checked.sql().contains("OFFSET"), "{}", checked.sql());
    client
        .batch_execute("BEGIN READ ONLY; SET LOCAL enable_seqscan = off")
        .await
        .unwrap();
    let plan = client
        .query(&format!("EXPLAIN {}", checked.sql()), &[])
        .await
        .unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    let plan: Vec<String> = plan.iter().map(|r| r.get(0)).collect();
    let plan = plan.join("\n");
    assert!(
        plan.contains("Index Cond: (order_id = 42)"),
        "the point query lost its index:\n{plan}"
    );
}
