//! Gate throughput: prepare + check of a typical three-table query (with a
//! row policy and column rules to rewrite), and of TPC-H Q8 (eight table
//! references, a derived table, CASE and EXTRACT).
//!
//! The target is under 100 µs for the typical query; this is measured here,
//! never asserted in tests.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlwarden::config::{Config, ConnectionsFile, JoinsFile, PolicyFile};
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;

const TYPICAL: &str = "SELECT c.name, p.category, sum(o.amount) AS total \
    FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
    JOIN products p ON p.product_id = o.product_id \
    WHERE o.created_at >= date '2024-01-01' AND o.status IN ('paid', 'shipped') \
    GROUP BY c.name, p.category ORDER BY total DESC LIMIT 20";

fn policy(connections: &str, policy: &str, joins: &str) -> Policy {
    Policy::new(Config {
        dir: "tests/fixtures".into(),
        connections: serde_saphyr::from_str::<ConnectionsFile>(connections).unwrap(),
        policy: serde_saphyr::from_str::<PolicyFile>(policy).unwrap(),
        joins: serde_saphyr::from_str::<JoinsFile>(joins).unwrap(),
        policy_sha256: String::new(),
        managed_policy: None,
    })
}

/// Column facts from a file of CREATE TABLE statements (in `public`).
fn facts(schema_sql: &str) -> TableFacts {
    let mut facts = TableFacts::default();
    for statement in Parser::parse_sql(&PostgreSqlDialect {}, schema_sql).unwrap() {
        if let Statement::CreateTable(table) = statement {
            let name = table.name.to_string();
            let columns = table.columns.iter().map(|c| c.name.value.clone()).collect();
            facts.columns.insert(format!("public.{name}"), columns);
        }
    }
    facts
}

/// The TPC-H fixtures' source, as their policy and joins name it.
const TPCH_CONNECTIONS: &str =
    "connections: {tpch: {engine: postgres, host: 127.0.0.1, dbname: tpch, user: postgres}}";

fn bench_gate(c: &mut Criterion) {
    let shop = policy(
        include_str!("../tests/fixtures/gate/connections.yaml"),
        include_str!("../tests/fixtures/gate/policy.yaml"),
        include_str!("../tests/fixtures/gate/joins.yaml"),
    );
    let shop_schema = include_str!("../tests/fixtures/gate/schema.sql");
    // The fixture schema also inserts data; the facts need only the tables.
    let ddl: String = shop_schema
        .split(';')
        .filter(|s| {
            s.trim_start()
                .lines()
                .any(|l| l.starts_with("CREATE TABLE"))
        })
        .map(|s| format!("{s};"))
        .collect();
    let shop_facts = facts(&ddl);
    let rules = shop.source("shop").unwrap();
    let gate = Gate::new(&rules);
    gate.check(gate.prepare(TYPICAL).unwrap(), &shop_facts, None)
        .unwrap();
    c.bench_function("gate/typical_3_tables", |b| {
        b.iter(|| {
            let prepared = gate.prepare(std::hint::black_box(TYPICAL)).unwrap();
            gate.check(prepared, &shop_facts, None).unwrap()
        })
    });

    let tpch = policy(
        TPCH_CONNECTIONS,
        include_str!("../tests/fixtures/tpch/policy.yaml"),
        include_str!("../tests/fixtures/tpch/joins.yaml"),
    );
    let tpch_facts = facts(include_str!("../tests/fixtures/tpch/schema.sql"));
    let rules = tpch.source("tpch").unwrap();
    let gate = Gate::new(&rules);
    let q8 = include_str!("../tests/fixtures/tpch/q08.sql").to_string();
    gate.check(gate.prepare(&q8).unwrap(), &tpch_facts, None)
        .unwrap();
    c.bench_function("gate/tpch_q8", |b| {
        b.iter(|| {
            let prepared = gate.prepare(std::hint::black_box(&q8)).unwrap();
            gate.check(prepared, &tpch_facts, None).unwrap()
        })
    });
}

criterion_group!(benches, bench_gate);
criterion_main!(benches);
