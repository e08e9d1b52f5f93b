//! No false refusals: the 22 TPC-H queries pass the gate and return, through
//! the PostgreSQL engine, the same rows as when run directly.
//!
//! The data set (tests/fixtures/tpch/data.sql) is small and deterministic;
//! policy.yaml allows every table, and joins.yaml approves every join the
//! queries make, with `deny_unapproved_join` on. A refusal here is a gate
//! bug, so the test reports every failing query at once rather than
//! stopping at the first.

use std::path::PathBuf;

use serde_json::Value;
use sqlwarden::config::{
    Config, Connection, ConnectionsFile, JoinsFile, PolicyFile, PostgresConnection, SslMode,
};
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::{Engine, RunContext, Safeguards};
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::support::gate;
use crate::support::pg::{self, TestDb};

/// The source name used in the fixtures' policy and joins.
const SOURCE: &str = "tpch";
/// A limit larger than any query's result.
const LIMIT: u64 = 100_000;

const QUERIES: [(&str, &str); 22] = [
    ("q01", include_str!("../fixtures/tpch/q01.sql")),
    ("q02", include_str!("../fixtures/tpch/q02.sql")),
    ("q03", include_str!("../fixtures/tpch/q03.sql")),
    ("q04", include_str!("../fixtures/tpch/q04.sql")),
    ("q05", include_str!("../fixtures/tpch/q05.sql")),
    ("q06", include_str!("../fixtures/tpch/q06.sql")),
    ("q07", include_str!("../fixtures/tpch/q07.sql")),
    ("q08", include_str!("../fixtures/tpch/q08.sql")),
    ("q09", include_str!("../fixtures/tpch/q09.sql")),
    ("q10", include_str!("../fixtures/tpch/q10.sql")),
    ("q11", include_str!("../fixtures/tpch/q11.sql")),
    ("q12", include_str!("../fixtures/tpch/q12.sql")),
    ("q13", include_str!("../fixtures/tpch/q13.sql")),
    ("q14", include_str!("../fixtures/tpch/q14.sql")),
    ("q15", include_str!("../fixtures/tpch/q15.sql")),
    ("q16", include_str!("../fixtures/tpch/q16.sql")),
    ("q17", include_str!("../fixtures/tpch/q17.sql")),
    ("q18", include_str!("../fixtures/tpch/q18.sql")),
    ("q19", include_str!("../fixtures/tpch/q19.sql")),
    ("q20", include_str!("../fixtures/tpch/q20.sql")),
    ("q21", include_str!("../fixtures/tpch/q21.sql")),
    ("q22", include_str!("../fixtures/tpch/q22.sql")),
];

/// A row in PostgreSQL's text form (`None` for NULL).
type TextRow = Vec<Option<String>>;

/// A fresh database with the TPC-H schema and data loaded.
async fn load() -> (TestDb, Client) {
    let db = TestDb::create("tpch").await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/tpch/schema.sql"))
        .await
        .expect("load schema.sql");
    client
        .batch_execute(include_str!("../fixtures/tpch/data.sql"))
        .await
        .expect("load data.sql");
    (db, client)
}

/// The query's rows as PostgreSQL prints them, run directly.
async fn direct(client: &Client, sql: &str) -> Vec<TextRow> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("direct run failed: {e}\n{sql}"));
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The engine's JSON cells in text form. For the types TPC-H returns
/// (integers, numerics, text, dates) sqlwarden's rendering is PostgreSQL's
/// text form, so the two results compare exactly.
fn as_text(row: &[Value]) -> TextRow {
    row.iter()
        .map(|cell| match cell {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
        .collect()
}

fn policy(dbname: &str) -> Policy {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tpch");
    let policy: PolicyFile =
        serde_saphyr::from_str(include_str!("../fixtures/tpch/policy.yaml")).expect("policy.yaml");
    let joins: JoinsFile =
        serde_saphyr::from_str(include_str!("../fixtures/tpch/joins.yaml")).expect("joins.yaml");
    let mut connections = ConnectionsFile::default();
    connections
        .connections
        .insert(SOURCE.into(), Connection::Postgres(connection(dbname)));
    Policy::new(Config {
        dir: fixtures,
        connections,
        policy,
        joins,
        ..Default::default()
    })
}

fn connection(dbname: &str) -> PostgresConnection {
    PostgresConnection {
        host: pg::host(),
        port: pg::port(),
        dbname: dbname.into(),
        user: "postgres".into(),
        sslmode: SslMode::Disable,
        sslrootcert: None,
        role: None,
        default_schema: "public".into(),
        connect_timeout_seconds: 10,
        require_auth: None,
    }
}

/// Gate, then engine; the rows in text form, or why it failed.
async fn through_gate(
    gate: &Gate<'_>,
    engine: &PostgresEngine,
    client: &Client,
    sql: &str,
) -> Result<Vec<TextRow>, String> {
    let prepared = gate.prepare(sql).map_err(|e| format!("prepare: {e:?}"))?;
    let mut facts = TableFacts::default();
    for table in prepared.tables() {
        let columns = engine
            .table_columns(table)
            .await
            .map_err(|e| format!("table_columns({table}): {e:?}"))?
            .ok_or_else(|| format!("table {table} not found"))?;
        facts
            .columns
            .insert(table.clone(), columns.into_iter().map(|c| c.name).collect());
    }
    let checked = gate
        .check(prepared, &facts, Some(LIMIT))
        .map_err(|e| format!("check: {e:?}"))?;
    gate::same_column_count(client, &checked).await?;
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .map_err(|e| format!("run: {e:?}\nSQL: {}", checked.sql()))?;
    if result.truncation.is_some() || result.cells_truncated > 0 {
        return Err(format!("result was truncated: {:?}", result.truncation));
    }
    Ok(result.rows.iter().map(|r| as_text(&r)).collect())
}

/// Rows compare in order when the query orders them, as a multiset when not.
fn same_rows(sql: &str, mut expected: Vec<TextRow>, mut got: Vec<TextRow>) -> bool {
    if !sql.to_uppercase().contains("ORDER BY") {
        expected.sort();
        got.sort();
    }
    expected == got
}

#[tokio::test]
async fn tpch_fixtures_return_rows_when_run_directly() {
    let (_db, client) = load().await;
    let lineitems: i64 = client
        .query_one("SELECT count(*) FROM lineitem", &[])
        .await
        .expect("count")
        .get(0);
    assert!(
        (50_000..70_000).contains(&lineitems),
        "{lineitems} line items"
    );
    for (name, sql) in QUERIES {
        let rows = direct(&client, sql).await;
        assert!(!rows.is_empty(), "{name} returned no rows");
        assert!(
            rows.iter().any(|r| r.iter().any(Option::is_some)),
            "{name} returned only NULLs"
        );
    }
}

#[tokio::test]
async fn tpch_queries_pass_the_gate_and_match_direct_results() {
    let (db, client) = load().await;
    let policy = policy(&db.name);
    let rules = policy.source(SOURCE).expect("source tpch");
    let gate = Gate::new(&rules);
    // The test logs in as the `postgres` superuser to load and compare
    // the data; what it proves is the gate's rendering, not the login.
    let safeguards = Safeguards {
        allow_privileged_login: true,
        ..rules.safeguards()
    };
    let engine = PostgresEngine::new(SOURCE, &connection(&db.name), None, safeguards);
    let mut failures = Vec::new();
    for (name, sql) in QUERIES {
        let expected = direct(&client, sql).await;
        match through_gate(&gate, &engine, &client, sql).await {
            Ok(got) if same_rows(sql, expected.clone(), got.clone()) => {}
            Ok(got) => failures.push(format!(
                "{name}: different rows\n  direct: {:?}\n  gated:  {:?}",
                &expected[..expected.len().min(3)],
                &got[..got.len().min(3)]
            )),
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 22 TPC-H queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
