//! The gate and the engine together: the gate's rendering (with its
//! `LIMIT applied + 1`) is what the engine runs, and the engine reports
//! truncation against the gate's applied limit.

use sqlwarden::config::{Config, Connection, ConnectionsFile, JoinsFile, PolicyFile};
use sqlwarden::engine::{Engine, RunContext, Truncation};
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;

use super::{connection, db_with, trusting, PostgresEngine};

const POLICY: &str = "
defaults:
  default_limit: 50
  max_limit: 100
  max_cell_bytes: 8
sources:
  crm:
    tables:
      public.items:
        allowed_columns: [id, name]
        max_limit: 5
";

fn policy(dbname: &str) -> Policy {
    let mut connections = ConnectionsFile::default();
    connections
        .connections
        .insert("crm".into(), Connection::Postgres(connection(dbname)));
    Policy::new(Config {
        dir: ".".into(),
        connections,
        policy: serde_saphyr::from_str::<PolicyFile>(POLICY).expect("policy"),
        joins: JoinsFile::default(),
        ..Default::default()
    })
}

#[tokio::test]
async fn row_limit_cell_cap_and_estimate_follow_the_policy() {
    let db = db_with(
        "gated",
        "CREATE TABLE items (id int PRIMARY KEY, name text, secret text);
         INSERT INTO items SELECT i, 'item number ' || i, 's' FROM generate_series(1, 100) i;",
    )
    .await;
    let policy = policy(&db.name);
    let rules = policy.source("crm").expect("source");
    let gate = Gate::new(&rules);
    let engine = PostgresEngine::new("crm", &connection(&db.name), None, trusting());
    let columns = engine
        .table_columns("public.items")
        .await
        .expect("columns")
        .expect("table");
    let mut facts = TableFacts::default();
    facts.columns.insert(
        "public.items".into(),
        columns.into_iter().map(|c| c.name).collect(),
    );

    let checked = gate
        .check(
            gate.prepare("SELECT id, name FROM items ORDER BY id")
                .expect("prepare"),
            &facts,
            Some(1000),
        )
        .expect("check");
    assert_eq!(checked.applied_limit(), 5);
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 5);
    assert_eq!(result.truncation, Some(Truncation::RowLimit));
    assert_eq!(result.rows.to_vec()[0][1], serde_json::json!("item num"));
    assert_eq!(result.cells_truncated, 5);

    let checked = gate
        .check(
            gate.prepare("SELECT id FROM items WHERE id <= 3")
                .expect("prepare"),
            &facts,
            None,
        )
        .expect("check");
    let result = engine
        .run(&checked, RunContext::default())
        .await
        .expect("run");
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.truncation, None);

    let estimate = engine.estimate(&checked).await.expect("estimate");
    assert!(estimate.cost.is_some());

    let preview = gate
        .preview("public.items", &facts, Some(2))
        .expect("preview");
    let result = engine
        .run(&preview, RunContext::default())
        .await
        .expect("run preview");
    let names: Vec<_> = result.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["id", "name"],
        "the denied column is not previewed"
    );
    assert_eq!(result.rows.len(), 2);
}
