//! Large results through the whole `run_select_sql` tool call (arguments,
//! policy, gate, engine streaming, envelope, fence, audit record) against
//! the real PostgreSQL: 10,000 and 100,000 rows of a four-column table,
//! once with the caps above the result (everything comes back) and once
//! with them below it (default caps: the fetch stops at the cap).
//!
//! Criterion gives the time (and rows per second); the envelope's bytes
//! are printed to stderr (`large_result bytes`). Peak memory of a whole
//! process is measured by `benches/run.sh`, which runs `sqlwarden call`
//! on the same shapes.
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

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sqlwarden::config::{
    Config, Connection, ConnectionsFile, JoinsFile, PolicyFile, PostgresConnection, SslMode,
};
use sqlwarden::policy::Policy;
use sqlwarden::tools::{CallContext, ConfiguredEngines, Session};
use tokio_postgres::NoTls;

/// Source `above` has caps above 100,000 rows; `below` has the built-in
/// caps (at most 1,000 rows and 1 MiB of result).
const POLICY: &str = "
sources:
  above:
    defaults:
      default_limit: 100000
      max_limit: 100000
      max_result_bytes: 268435456
      query_timeout_seconds: 120
    tables:
      public.sales: {}
  below:
    tables:
      public.sales: {}
";

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

fn policy(dbname: &str) -> Policy {
    let mut connections = ConnectionsFile::default();
    for name in ["above", "below"] {
        connections.connections.insert(
            name.into(),
            Connection::Postgres(PostgresConnection {
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
            }),
        );
    }
    Policy::new(Config {
        dir: ".".into(),
        connections,
        policy: serde_saphyr::from_str::<PolicyFile>(POLICY).unwrap(),
        joins: JoinsFile::default(),
        ..Default::default()
    })
}

fn large_results(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dbname = format!("sqlwarden_bench_large_{}", std::process::id());
    runtime.block_on(async {
        let admin = client("postgres").await;
        admin
            .batch_execute(&format!("CREATE DATABASE {dbname}"))
            .await
            .unwrap();
        client(&dbname)
            .await
            .batch_execute(
                "CREATE TABLE sales (id int PRIMARY KEY, customer text NOT NULL, \
                   amount numeric(12,2) NOT NULL, sold_at timestamptz NOT NULL);
                 INSERT INTO sales SELECT i, 'customer ' || (i % 997), (i % 10000) / 100.0, \
                   timestamptz '2024-01-01' + i * interval '1 minute' \
                   FROM generate_series(1, 100000) i;
                 ANALYZE sales;",
            )
            .await
            .unwrap();
    });
    let audit_dir = tempfile::tempdir().unwrap();
    let audit = sqlwarden::audit::AuditLog::open(audit_dir.path(), 1).unwrap();
    let session = Session::new(
        policy(&dbname),
        Arc::new(ConfiguredEngines),
        Arc::new(audit),
    );

    let mut group = c.benchmark_group("large_result");
    group.sample_size(10);
    for rows in [10_000u64, 100_000] {
        for source in ["above", "below"] {
            let arguments = serde_json::json!({
                "source": source,
                "sql": format!("SELECT id, customer, amount, sold_at FROM sales WHERE id <= {rows}"),
                "limit": rows,
            });
            let call = || {
                session.call(
                    "run_select_sql",
                    Some(arguments.clone()),
                    CallContext::default(),
                )
            };
            let output = runtime.block_on(call());
            let envelope = &output.envelope();
            let returned = envelope["metadata"]["row_count"].as_u64().unwrap_or(0);
            eprintln!(
                "large_result bytes: {rows} rows, caps {source}: ok {}, {returned} rows returned, truncated {}, envelope {} bytes, text {} bytes",
                envelope["ok"],
                envelope["metadata"]["truncated"],
                envelope.to_string().len(),
                output.text().len(),
            );
            group.throughput(Throughput::Elements(rows));
            group.bench_function(format!("rows_{rows}_caps_{source}"), |b| {
                b.iter(|| runtime.block_on(call()))
            });
        }
    }
    group.finish();

    drop(session);
    runtime.block_on(async {
        let _ = client("postgres")
            .await
            .batch_execute(&format!("DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"))
            .await;
    });
}

criterion_group!(benches, large_results);
criterion_main!(benches);
