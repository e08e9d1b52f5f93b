//! Overhead of the PostgreSQL engine: a 1-row query through
//! `PostgresEngine::run` (read-only transaction, `SET LOCAL` timeouts,
//! prepare, portal, rollback, JSON rendering) against the same query
//! through tokio-postgres directly, on the same server with the same
//! connection settings (127.0.0.1, no TLS, one reused connection each).
//! A third case adds the gate (prepare + check with cached table facts),
//! and a fourth is the whole `run_select_sql` tool call as an agent makes
//! it: argument parsing, policy, gate, engine, envelope, fence and the
//! audit record (written and flushed, synced in the background as by
//! default), everything but the JSON-RPC framing.
//!
//! A second group, `pg_typed_rows`, runs a TPC-H `lineitem` row by its key
//! and 10,000 of them through the whole tool call and through
//! tokio-postgres directly: a warehouse's `char(n)`, `varchar(n)` and
//! `numeric(p, s)` columns, whose modifiers bound their text, so the
//! engine sends them unmeasured.
//!
//! Criterion reports medians; the tail is what an agent waits on too, so
//! a plain timing loop afterwards runs the direct query and the whole tool
//! call alternately and prints the median, the p99 and their ratios (to
//! stderr, as `pg_one_row percentiles`).
//!
//! Runs on the server `SQLWARDEN_TEST_PG_HOST` / `_PORT` name (user
//! `postgres`), else on a throwaway cluster of its own, as the tests do
//! (`sqlwarden::local_pg::testing`). Measured here, never asserted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sqlwarden::config::{
    Config, Connection, ConnectionsFile, JoinsFile, PolicyFile, PostgresConnection, SslMode,
};
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::{Engine, RunContext};
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;
use sqlwarden::tools::{CallContext, ConfiguredEngines, Session};
use tokio_postgres::NoTls;

const SQL: &str = "SELECT id, name FROM items WHERE id = 1";

// The bench logs in as `postgres` to create its data; it measures speed,
// not logins, so policy serves the privileged login.
const POLICY: &str = "
security:
  allow_privileged_login: true
sources:
  bench:
    defaults:
      max_limit: 10000
      max_result_bytes: 268435456
    tables:
      public.items: {}
      public.lineitem: {}
";

/// TPC-H's `lineitem`, 60,000 rows of generated values.
const LINEITEM: &str = "CREATE TABLE lineitem (l_orderkey int8 NOT NULL, \
   l_linenumber int4 NOT NULL, l_partkey int8 NOT NULL, l_suppkey int8 NOT NULL, \
   l_quantity numeric(15, 2) NOT NULL, l_extendedprice numeric(15, 2) NOT NULL, \
   l_discount numeric(15, 2) NOT NULL, l_tax numeric(15, 2) NOT NULL, \
   l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL, \
   l_commitdate date NOT NULL, l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL, \
   l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL, \
   PRIMARY KEY (l_orderkey, l_linenumber));
 INSERT INTO lineitem SELECT i / 4 + 1, i % 4 + 1, i % 2000, i % 100, 1 + i % 50, \
   (1 + i % 50) * 901.25, (i % 11) / 100.0, (i % 9) / 100.0, \
   (ARRAY['A', 'N', 'R'])[1 + i % 3], (ARRAY['F', 'O'])[1 + i % 2], \
   date '1995-01-01' + i % 2000, date '1995-01-01' + i % 1900, date '1995-01-01' + i % 2100, \
   (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[1 + i % 4], \
   (ARRAY['TRUCK', 'MAIL', 'SHIP', 'AIR', 'RAIL'])[1 + i % 5], \
   'carefully regular requests ' || i \
   FROM generate_series(0, 59999) i;
 ANALYZE lineitem;";

fn host() -> String {
    sqlwarden::local_pg::testing::server().host.clone()
}

fn port() -> u16 {
    sqlwarden::local_pg::testing::server().port
}

async fn client(dbname: &str) -> tokio_postgres::Client {
    let conn = format!(
        "host={} port={} user=postgres dbname={dbname}",
        host(),
        port()
    );
    let (client, connection) = tokio_postgres::connect(&conn, NoTls)
        .await
        .expect("the benchmark's PostgreSQL server");
    tokio::spawn(connection);
    client
}

fn connection(dbname: &str) -> PostgresConnection {
    PostgresConnection {
        host: host(),
        port: port(),
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

fn policy(dbname: &str) -> Policy {
    let mut connections = ConnectionsFile::default();
    connections
        .connections
        .insert("bench".into(), Connection::Postgres(connection(dbname)));
    Policy::new(Config {
        dir: ".".into(),
        connections,
        policy: serde_saphyr::from_str::<PolicyFile>(POLICY).unwrap(),
        joins: JoinsFile::default(),
        ..Default::default()
    })
}

/// A new database `dbname` with `setup` run in it, and a client of it.
async fn database(dbname: &str, setup: &str) -> tokio_postgres::Client {
    client("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();
    let direct = client(dbname).await;
    direct.batch_execute(setup).await.unwrap();
    direct
}

async fn drop_database(dbname: &str) {
    let _ = client("postgres")
        .await
        .batch_execute(&format!("DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"))
        .await;
}

/// A tool session under `policy`, auditing into a temporary directory
/// (kept as long as the session runs).
fn session(policy: Policy) -> (Session, tempfile::TempDir) {
    let audit_dir = tempfile::tempdir().unwrap();
    let audit = sqlwarden::audit::AuditLog::open(audit_dir.path(), 1).unwrap();
    let session = Session::new(
        policy,
        std::sync::Arc::new(ConfiguredEngines),
        std::sync::Arc::new(audit),
    );
    (session, audit_dir)
}

fn one_row_query(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dbname = format!("sqlwarden_bench_pg_{}", std::process::id());
    let direct = runtime.block_on(database(
        &dbname,
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 1000) i;
         ANALYZE items;",
    ));
    let policy = policy(&dbname);
    let rules = policy.source("bench").unwrap();
    let engine = PostgresEngine::new("bench", &connection(&dbname), None, rules.safeguards());
    let gate = Gate::new(&rules);
    let mut facts = TableFacts::default();
    facts
        .columns
        .insert("public.items".into(), vec!["id".into(), "name".into()]);
    let checked = gate
        .check(gate.prepare(SQL).unwrap(), &facts, None)
        .unwrap();
    // Warm both connections (connect, type cache) outside the measurement.
    runtime.block_on(async {
        assert_eq!(direct.query(SQL, &[]).await.unwrap().len(), 1);
        let result = engine.run(&checked, RunContext::default()).await.unwrap();
        assert_eq!(result.rows.len(), 1);
    });

    let mut group = c.benchmark_group("pg_one_row");
    group.bench_function("tokio_postgres_direct", |b| {
        b.iter(|| runtime.block_on(direct.query(SQL, &[])).unwrap())
    });
    group.bench_function("engine_run", |b| {
        b.iter(|| {
            runtime
                .block_on(engine.run(&checked, RunContext::default()))
                .unwrap()
        })
    });
    group.bench_function("gate_and_engine_run", |b| {
        b.iter(|| {
            let checked = gate
                .check(gate.prepare(SQL).unwrap(), &facts, None)
                .unwrap();
            runtime
                .block_on(engine.run(&checked, RunContext::default()))
                .unwrap()
        })
    });
    let (session, _audit_dir) = session(policy.clone());
    let arguments = serde_json::json!({"source": "bench", "sql": SQL});
    let call = || {
        session.call(
            "run_select_sql",
            Some(arguments.clone()),
            CallContext::default(),
        )
    };
    let warm = runtime.block_on(call());
    assert!(!warm.is_error, "{}", warm.envelope());
    group.bench_function("whole_tool_call", |b| b.iter(|| runtime.block_on(call())));
    group.finish();

    // Under `cargo bench` the loop is long enough for a p99; under
    // `cargo test --benches` it only proves it runs.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        5000
    } else {
        20
    };
    let mut direct_times = Vec::with_capacity(rounds);
    let mut call_times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        runtime.block_on(direct.query(SQL, &[])).unwrap();
        direct_times.push(started.elapsed());
        let started = Instant::now();
        let output = runtime.block_on(call());
        call_times.push(started.elapsed());
        assert!(!output.is_error, "{}", output.envelope());
    }
    let (direct_median, direct_p99) = percentiles(&mut direct_times);
    let (call_median, call_p99) = percentiles(&mut call_times);
    eprintln!(
        "pg_one_row percentiles ({rounds} rounds): tokio_postgres_direct median {:.1} µs p99 {:.1} µs; \
         whole_tool_call median {:.1} µs p99 {:.1} µs; ratio median {:.2}x p99 {:.2}x",
        micros(direct_median),
        micros(direct_p99),
        micros(call_median),
        micros(call_p99),
        micros(call_median) / micros(direct_median),
        micros(call_p99) / micros(direct_p99),
    );

    drop(session);
    drop(engine);
    drop(direct);
    runtime.block_on(drop_database(&dbname));
}

/// Median and 99th percentile (nearest rank) of `times`.
fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort_unstable();
    let rank = |p: f64| {
        let index = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
        times[index]
    };
    (rank(0.5), rank(0.99))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A TPC-H row by its key, and 10,000 rows, through the whole tool call and
/// through tokio-postgres directly.
fn typed_rows(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dbname = format!("sqlwarden_bench_typed_{}", std::process::id());
    let direct = runtime.block_on(database(&dbname, LINEITEM));
    let (session, _audit_dir) = session(policy(&dbname));
    let mut group = c.benchmark_group("pg_typed_rows");
    for (name, sql, rows) in [
        (
            "point",
            "SELECT * FROM lineitem WHERE l_orderkey = 42 AND l_linenumber = 1",
            1,
        ),
        (
            "rows_10k",
            "SELECT * FROM lineitem WHERE l_orderkey <= 2500",
            10_000,
        ),
    ] {
        let arguments = serde_json::json!({"source": "bench", "sql": sql, "limit": rows});
        let call = || {
            session.call(
                "run_select_sql",
                Some(arguments.clone()),
                CallContext::default(),
            )
        };
        // The first call reads the table's facts; every call after it is
        // one flight.
        let warm = runtime.block_on(call());
        assert!(!warm.is_error, "{}", warm.envelope());
        let envelope = warm.envelope();
        assert_eq!(envelope["metadata"]["row_count"], rows, "{envelope}");
        assert_eq!(
            runtime.block_on(direct.query(sql, &[])).unwrap().len(),
            rows
        );
        group.bench_function(format!("{name}/tokio_postgres_direct"), |b| {
            b.iter(|| runtime.block_on(direct.query(sql, &[])).unwrap())
        });
        group.bench_function(format!("{name}/whole_tool_call"), |b| {
            b.iter(|| runtime.block_on(call()))
        });
    }
    group.finish();

    drop(session);
    drop(direct);
    runtime.block_on(drop_database(&dbname));
}

criterion_group!(benches, one_row_query, typed_rows);
criterion_main!(benches);
