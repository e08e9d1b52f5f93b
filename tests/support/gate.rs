//! The gate fixture (`tests/fixtures/gate/`): the test policy over the
//! shop (PostgreSQL) and dw (MaxCompute) sources, the shop's tables and rows
//! in a fresh database, and the checks the gate tests share on what ran.
#![allow(clippy::unwrap_used)]

use sqlwarden::config::{Config, ConnectionsFile, JoinsFile, PolicyFile};
use sqlwarden::guard::{CheckedQuery, TableFacts};
use sqlwarden::policy::Policy;
use tokio_postgres::Client;

use super::pg::TestDb;

/// `tests/fixtures/gate/connections.yaml`.
pub const CONNECTIONS: &str = include_str!("../fixtures/gate/connections.yaml");
/// `tests/fixtures/gate/policy.yaml`.
pub const POLICY: &str = include_str!("../fixtures/gate/policy.yaml");
/// `tests/fixtures/gate/joins.yaml`.
pub const JOINS: &str = include_str!("../fixtures/gate/joins.yaml");

/// The test policy from `tests/fixtures/gate/`.
pub fn fixture_policy() -> Policy {
    fixture_policy_with(|_| {})
}

/// The fixture policy, changed by `edit` before it is built.
pub fn fixture_policy_with(edit: impl FnOnce(&mut PolicyFile)) -> Policy {
    let mut policy: PolicyFile = serde_saphyr::from_str(POLICY).unwrap();
    edit(&mut policy);
    build(policy, serde_saphyr::from_str(JOINS).unwrap())
}

/// A policy over the fixture's connections with `policy` and `joins` (the
/// YAML of `policy.yaml` and `catalog/joins.yaml`) instead of the
/// fixture's own.
pub fn policy_from(policy: &str, joins: &str) -> Policy {
    build(
        serde_saphyr::from_str(policy).unwrap(),
        serde_saphyr::from_str(joins).unwrap(),
    )
}

fn build(policy: PolicyFile, joins: JoinsFile) -> Policy {
    Policy::new(Config {
        dir: "tests/fixtures/gate".into(),
        connections: serde_saphyr::from_str::<ConnectionsFile>(CONNECTIONS).unwrap(),
        policy,
        joins,
        ..Default::default()
    })
}

/// A fresh database with the fixture schema and data.
pub async fn fixture_db(label: &str) -> (TestDb, Client) {
    let db = TestDb::create(label).await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/gate/schema.sql"))
        .await
        .expect("load gate fixture schema");
    (db, client)
}

/// Column facts as the tools gather them: every real column, in order.
pub async fn fixture_facts(client: &Client, policy: &Policy) -> TableFacts {
    let rules = policy.source("shop").unwrap();
    let mut facts = TableFacts::default();
    for (key, _) in rules.tables() {
        let (schema, table) = key.split_once('.').unwrap();
        let rows = client
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[&schema, &table],
            )
            .await
            .unwrap();
        facts
            .columns
            .insert(key.to_string(), rows.iter().map(|r| r.get(0)).collect());
    }
    facts
}

/// The rendering parses back to itself (so what ran is what was checked).
pub fn assert_stable_rendering(sql: &str) {
    let reparsed =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .unwrap_or_else(|e| panic!("rendered SQL does not parse: {e}\n{sql}"));
    assert_eq!(reparsed.len(), 1, "{sql}");
    assert_eq!(reparsed[0].to_string(), sql);
}

/// Run rendered SQL the way the engine does: read-only, rolled back.
pub async fn run_read_only(
    client: &Client,
    sql: &str,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    client.batch_execute("BEGIN READ ONLY").await?;
    let rows = client.query(sql, &[]).await;
    client.batch_execute("ROLLBACK").await?;
    rows
}

/// Whether the gate resolved the result columns of `checked` as the server
/// describes them: as many columns, and each column the gate says copies
/// base columns all of one type has that type. The PostgreSQL engine sends
/// a query in one flight on the gate's count, sends such a column without
/// measuring it when its type is short, and runs the query again in two
/// flights when the server disagrees.
pub async fn same_column_count(client: &Client, checked: &CheckedQuery) -> Result<(), String> {
    let statement = client
        .prepare(checked.sql())
        .await
        .map_err(|e| format!("prepare: {e}"))?;
    let described = statement.columns();
    match checked.output_columns() {
        Some(resolved) if resolved == described.len() => {}
        resolved => {
            return Err(format!(
                "the gate resolved {resolved:?} columns, the server describes {}",
                described.len()
            ))
        }
    }
    for (i, (copies, column)) in checked.output_copies().iter().zip(described).enumerate() {
        let mut types = Vec::new();
        for copy in copies {
            let row = client
                .query_one(
                    "SELECT a.atttypid FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2",
                    &[&copy.table, &copy.column],
                )
                .await
                .map_err(|e| format!("column {i}: {copy:?} is no column: {e}"))?;
            types.push(row.get::<_, u32>(0));
        }
        let one_type = types.windows(2).all(|pair| pair[0] == pair[1]);
        if let (Some(&copied), true) = (types.first(), one_type) {
            if copied != column.type_().oid() {
                return Err(format!(
                    "column {i} ({}) copies {copies:?} of type oid {copied}, the server describes {}",
                    column.name(),
                    column.type_()
                ));
            }
        }
    }
    Ok(())
}

/// Row counts and content hashes of every table, the table list and the
/// sequence state.
pub async fn fingerprint(client: &Client) -> Vec<String> {
    let tables: Vec<String> = client
        .query(
            "SELECT schemaname || '.' || tablename FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = vec![tables.join(",")];
    for table in &tables {
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap();
        out.push(format!("{table}={}", row.get::<_, String>(0)));
    }
    let seq = client
        .query_one(
            "SELECT last_value::text || is_called::text FROM attack_seq",
            &[],
        )
        .await
        .unwrap();
    out.push(format!("attack_seq={}", seq.get::<_, String>(0)));
    out
}
