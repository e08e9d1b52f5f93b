//! The PostgreSQL engine from outside the crate, against real servers:
//! catalog metadata, partitions, the write-capability probe, TLS per
//! `sslmode`, and the connection failures (`CREDENTIALS_MISSING`,
//! `BACKEND_UNAVAILABLE`).
//!
//! Query execution (caps, timeouts, cancellation, types) is tested inside
//! the crate (`src/engine/postgres/tests`), where a query can be built
//! without the gate. Submodules: `tls` (every `sslmode` against the shared
//! server's certificate), `credentials` (a private cluster that asks for
//! passwords, since the shared server trusts every local login) and
//! `through_the_gate` (the gate's rendering run by the engine).

mod credentials;
mod through_the_gate;
mod tls;

use std::net::TcpListener;

use sqlwarden::config::{PostgresConnection, SslMode};
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::{Engine, PageRequest, Safeguards};
use sqlwarden::error::ErrorCode;
use sqlwarden::secrets::Secret;

use crate::support::pg::{self, TestDb};

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
        connect_timeout_seconds: 5,
        require_auth: None,
    }
}

/// Safeguards that serve the `postgres` superuser these tests log in as:
/// they exercise the engine's mechanics; the layers behind the gate are
/// tested with least-privilege logins (`behind_the_gate.rs`).
fn trusting() -> Safeguards {
    Safeguards {
        allow_privileged_login: true,
        ..Safeguards::default()
    }
}

async fn db_with(label: &str, setup: &str) -> TestDb {
    let db = TestDb::create(label).await;
    db.client().await.batch_execute(setup).await.expect("setup");
    db
}

#[tokio::test]
async fn table_columns_reads_types_keys_comments_and_partition_keys() {
    let db = db_with(
        "columns",
        "CREATE SCHEMA sales;
         CREATE TABLE sales.orders (
             order_id bigint, line int, amount numeric(12,2) NOT NULL,
             note varchar(40), created date NOT NULL,
             PRIMARY KEY (order_id, line, created)
         ) PARTITION BY RANGE (created);
         COMMENT ON COLUMN sales.orders.amount IS 'Order total, tax included';
         ALTER TABLE sales.orders DROP COLUMN note;
         CREATE TABLE plain (id int);",
    )
    .await;
    let engine = PostgresEngine::new("crm", &connection(&db.name), None, trusting());
    let columns = engine
        .table_columns("sales.orders")
        .await
        .expect("columns")
        .expect("table exists");
    let summary: Vec<_> = columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.type_name.as_str(),
                c.nullable,
                c.primary_key,
                c.partition_key,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("order_id", "bigint", false, true, false),
            ("line", "integer", false, true, false),
            ("amount", "numeric(12,2)", false, false, false),
            ("created", "date", false, true, true),
        ]
    );
    assert_eq!(
        columns[2].comment.as_deref(),
        Some("Order total, tax included")
    );
    // Unqualified keys use the default schema.
    assert_eq!(
        engine
            .table_columns("plain")
            .await
            .expect("columns")
            .map(|c| c.len()),
        Some(1)
    );
    assert!(engine
        .table_columns("sales.missing")
        .await
        .expect("lookup")
        .is_none());
}

/// Hostile table keys are bound as parameters: they find nothing and
/// change nothing.
#[tokio::test]
async fn table_keys_are_bound_not_spliced() {
    let db = db_with("bound", "CREATE TABLE t (id int)").await;
    let engine = PostgresEngine::new("crm", &connection(&db.name), None, trusting());
    for key in [
        "public.t'; DROP TABLE t; --",
        "public.t\" ; DROP TABLE t; --",
        "public.t OR 1=1",
        "pg_catalog.pg_class') OR ('1'='1",
    ] {
        assert!(
            engine.table_columns(key).await.expect(key).is_none(),
            "{key}"
        );
        assert!(
            engine.max_partition(key, "id").await.expect(key).is_none(),
            "{key}"
        );
    }
    assert!(engine
        .max_partition("public.t", "id) FROM t; --")
        .await
        .expect("col")
        .is_none());
    db.client()
        .await
        .query("SELECT id FROM t", &[])
        .await
        .expect("t still exists");
}

#[tokio::test]
async fn max_partition_and_list_partitions_newest_first() {
    let db = db_with(
        "partitions",
        "CREATE TABLE events (id int, pt date NOT NULL) PARTITION BY RANGE (pt);
         CREATE TABLE events_2024_01 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
         CREATE TABLE events_2024_03 PARTITION OF events FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
         CREATE TABLE events_2024_02 PARTITION OF events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
         CREATE TABLE events_other PARTITION OF events DEFAULT;
         INSERT INTO events VALUES (1, '2024-01-05'), (2, '2024-02-17');
         CREATE TABLE \"Odd Name\" (\"Day\" int); INSERT INTO \"Odd Name\" VALUES (3), (9);",
    )
    .await;
    let engine = PostgresEngine::new("crm", &connection(&db.name), None, trusting());
    assert_eq!(
        engine
            .max_partition("public.events", "pt")
            .await
            .expect("max"),
        Some("2024-02-17".into())
    );
    assert_eq!(
        engine
            .max_partition("public.Odd Name", "Day")
            .await
            .expect("max"),
        Some("9".into())
    );
    let first = engine
        .list_partitions(
            "public.events",
            PageRequest {
                marker: None,
                limit: 2,
            },
        )
        .await
        .expect("page 1");
    assert_eq!(
        first.partitions,
        vec![
            "public.events_2024_03 FOR VALUES FROM ('2024-03-01') TO ('2024-04-01')",
            "public.events_2024_02 FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')",
        ]
    );
    let second = engine
        .list_partitions(
            "public.events",
            PageRequest {
                marker: first.next_marker.clone(),
                limit: 2,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(
        second.partitions,
        vec![
            "public.events_2024_01 FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')",
            "public.events_other DEFAULT",
        ]
    );
    assert_eq!(second.next_marker, None);
    let error = engine
        .list_partitions(
            "public.nope",
            PageRequest {
                marker: None,
                limit: 10,
            },
        )
        .await
        .expect_err("missing table");
    assert_eq!(error.code, ErrorCode::BackendError);
}

#[tokio::test]
async fn probe_names_every_write_path_of_login_and_role() {
    let db = TestDb::create("probe").await;
    let client = db.client().await;
    let reader = format!("{}_reader", db.name);
    let writer = format!("{}_writer", db.name);
    client
        .batch_execute(&format!(
            "CREATE TABLE t (id int);
             CREATE ROLE {reader} NOLOGIN;
             GRANT SELECT ON t TO {reader};
             CREATE ROLE {writer} NOLOGIN BYPASSRLS;
             GRANT INSERT ON t TO {writer};
             GRANT pg_read_server_files TO {writer};
             GRANT CREATE ON SCHEMA public TO {writer};"
        ))
        .await
        .expect("roles");

    let mut conn = connection(&db.name);
    conn.role = Some(reader.clone());
    let report = PostgresEngine::new("crm", &conn, None, trusting())
        .probe()
        .await;
    conn.role = Some(writer.clone());
    let risky = PostgresEngine::new("crm", &conn, None, trusting())
        .probe()
        .await;
    // Roles are cluster-wide: drop them before asserting.
    drop(client);
    let admin = pg::connect("postgres").await;
    for sql in [
        format!("DROP DATABASE {} WITH (FORCE)", db.name),
        format!("DROP ROLE {reader}"),
        format!("DROP ROLE {writer}"),
    ] {
        admin.batch_execute(&sql).await.expect("cleanup");
    }

    let report = report.expect("probe");
    assert!(report.server_version.starts_with("PostgreSQL"));
    assert_eq!(report.login, "postgres");
    let login: Vec<_> = report
        .write_capabilities
        .iter()
        .filter(|f| f.starts_with("login"))
        .collect();
    assert!(login.iter().any(|f| f.contains("superuser")), "{login:?}");
    assert!(
        !report
            .write_capabilities
            .iter()
            .any(|f| f.starts_with("role")),
        "a read-only role has no findings: {:?}",
        report.write_capabilities
    );
    let risky: Vec<String> = risky
        .expect("probe")
        .write_capabilities
        .into_iter()
        .filter(|f| f.starts_with("role"))
        .collect();
    for expected in [
        "BYPASSRLS",
        "pg_read_server_files",
        "public.t",
        "schema(s): public",
    ] {
        assert!(
            risky.iter().any(|f| f.contains(expected)),
            "{expected} missing from {risky:?}"
        );
    }
}

#[tokio::test]
async fn closed_port_is_backend_unavailable_with_host_and_port() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut conn = connection("postgres");
    conn.host = "127.0.0.1".into();
    conn.port = port;
    let engine = PostgresEngine::new("crm", &conn, None, trusting());
    let error = engine.probe().await.expect_err("closed port");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(
        error.hint.contains(&format!("`127.0.0.1` port {port}")),
        "{}",
        error.hint
    );
}

#[tokio::test]
async fn building_an_engine_never_touches_the_network() {
    let mut conn = connection("postgres");
    conn.host = "sqlwarden-unresolvable.invalid".into();
    let engine = PostgresEngine::new("crm", &conn, Some(Secret::new("x")), trusting());
    let error = engine.probe().await.expect_err("no such host");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
}

#[tokio::test]
async fn unknown_login_is_credentials_missing() {
    let mut conn = connection("postgres");
    conn.user = "sqlwarden_no_such_login".into();
    let error = PostgresEngine::new("crm", &conn, None, trusting())
        .probe()
        .await
        .expect_err("unknown login");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(
        error
            .message
            .contains("refused login `sqlwarden_no_such_login`"),
        "{}",
        error.message
    );
    assert!(error.hint.contains("pg_hba.conf"), "{}", error.hint);
    assert!(
        error.hint.contains("sqlwarden auth set crm"),
        "{}",
        error.hint
    );
    assert!(error
        .untrusted_detail
        .as_deref()
        .is_some_and(|d| d.contains("28000")));
}
