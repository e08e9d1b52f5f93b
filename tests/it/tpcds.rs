//! No false refusals on TPC-DS: the benchmark's subset
//! (`benches/fixtures/tpcds/queries.sql`) and the report queries that
//! combine one-row aggregates (`tests/fixtures/tpcds/one_row.sql`: q09,
//! q28, q61, q88, q90) pass the gate with `deny_unapproved_join` on and
//! the subset's approved joins, and the rendered SQL runs on a real
//! PostgreSQL database with the subset's schema.
#![allow(clippy::unwrap_used)]

use sqlwarden::config::{Config, ConnectionsFile, JoinsFile, PolicyFile};
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;
use tokio_postgres::Client;

use crate::support::gate::{run_read_only, same_column_count};
use crate::support::pg::TestDb;

/// Queries as (name, SQL): each starts with a `-- qNN` line and ends with
/// a line holding only `;`.
fn queries(text: &str) -> Vec<(String, String)> {
    text.split("\n;\n")
        .filter_map(|chunk| {
            let start = chunk.find("-- q")?;
            let (name, sql) = chunk[start + 3..].split_once('\n')?;
            Some((name.trim().to_owned(), sql.trim().to_owned()))
        })
        .collect()
}

fn subset() -> Vec<(String, String)> {
    queries(include_str!("../../benches/fixtures/tpcds/queries.sql"))
}

fn one_row() -> Vec<(String, String)> {
    queries(include_str!("../fixtures/tpcds/one_row.sql"))
}

/// The subset's policy, with the approved joins `keep` lets through.
fn policy(keep: impl Fn(&str) -> bool) -> Policy {
    let mut joins: JoinsFile =
        serde_saphyr::from_str(include_str!("../../benches/fixtures/tpcds/joins.yaml")).unwrap();
    joins.joins.retain(|j| keep(&j.id));
    Policy::new(Config {
        dir: "benches/fixtures/tpcds".into(),
        connections: serde_saphyr::from_str::<ConnectionsFile>(
            "connections: {tpcds: {engine: postgres, host: 127.0.0.1, dbname: tpcds, user: postgres}}",
        )
        .unwrap(),
        policy: serde_saphyr::from_str::<PolicyFile>(include_str!(
            "../../benches/fixtures/tpcds/policy.yaml"
        ))
        .unwrap(),
        joins,
        ..Default::default()
    })
}

/// A database with the subset's (empty) tables, and their column facts.
async fn load() -> (TestDb, Client, TableFacts) {
    let db = TestDb::create("tpcds").await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../../benches/fixtures/tpcds/schema.sql"))
        .await
        .expect("load the TPC-DS subset schema");
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .unwrap();
    let mut facts = TableFacts::default();
    for row in rows {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        facts
            .columns
            .entry(format!("public.{table}"))
            .or_default()
            .push(column);
    }
    (db, client, facts)
}

/// Every query through the gate and, rendered, on the server; returns the
/// failures.
async fn run_all(
    gate: &Gate<'_>,
    facts: &TableFacts,
    client: &Client,
    corpus: &[(String, String)],
) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, sql) in corpus {
        match gate.prepare(sql).and_then(|p| gate.check(p, facts, None)) {
            Ok(checked) => {
                if let Err(e) = run_read_only(client, checked.sql()).await {
                    failures.push(format!(
                        "{name}: rendered SQL failed: {e:?}\n{}",
                        checked.sql()
                    ));
                } else if let Err(e) = same_column_count(client, &checked).await {
                    failures.push(format!("{name}: {e}"));
                }
            }
            Err(e) => failures.push(format!("{name}: refused {} {}", e.code, e.message)),
        }
    }
    failures
}

#[tokio::test]
async fn tpcds_queries_pass_the_gate_and_run() {
    let (_db, client, facts) = load().await;
    let mut corpus = subset();
    let combined = one_row();
    assert!(corpus.len() >= 17, "{} subset queries", corpus.len());
    let names: Vec<&str> = combined.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["q28", "q88", "q61", "q90", "q09"]);
    corpus.extend(combined);
    let policy = policy(|_| true);
    let rules = policy.source("tpcds").unwrap();
    let gate = Gate::new(&rules);
    let failures = run_all(&gate, &facts, &client, &corpus).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// q06 compares a day's month with a scalar subquery's one value: that is
/// no join, so it passes without the `date_same_month` self-join the
/// subset once approved only for it.
#[tokio::test]
async fn a_scalar_subquery_needs_no_self_join() {
    let (_db, client, facts) = load().await;
    let policy = policy(|id| id != "date_same_month");
    let rules = policy.source("tpcds").unwrap();
    let gate = Gate::new(&rules);
    let q06: Vec<(String, String)> = subset().into_iter().filter(|(n, _)| n == "q06").collect();
    assert_eq!(q06.len(), 1);
    let failures = run_all(&gate, &facts, &client, &q06).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same shape with grouped pieces combines many rows without a join
/// condition: refused, naming the derived tables.
#[tokio::test]
async fn grouped_pieces_without_a_join_are_refused() {
    let policy = policy(|_| true);
    let rules = policy.source("tpcds").unwrap();
    let gate = Gate::new(&rules);
    let (_db, _client, facts) = load().await;
    let sql = "SELECT b1.n, b2.n FROM \
               (SELECT ss_store_sk, count(*) AS n FROM store_sales GROUP BY ss_store_sk) b1, \
               (SELECT ss_item_sk, count(*) AS n FROM store_sales GROUP BY ss_item_sk) b2";
    let e = gate
        .prepare(sql)
        .and_then(|p| gate.check(p, &facts, None))
        .unwrap_err();
    assert_eq!(e.code.as_str(), "JOIN_NOT_APPROVED");
    assert!(
        e.message
            .contains("Derived table `b2` (reading `public.store_sales`)")
            && e.message.contains("derived table `b1`"),
        "{}",
        e.message
    );
}
