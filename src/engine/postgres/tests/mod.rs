//! Engine tests against a real PostgreSQL: this test process's throwaway
//! cluster (`crate::local_pg::testing`), user `postgres`, or the server
//! named by `SQLWARDEN_TEST_PG_HOST` / `SQLWARDEN_TEST_PG_PORT`.
//!
//! They live inside the crate because [`CheckedQuery`] can only be made by
//! the gate, and these tests exercise the engine on its own
//! (`CheckedQuery::for_engine_tests`). Each test gets a fresh database,
//! dropped afterwards; a missing server fails the test loudly.

mod catalog;
mod flight;
mod hostile;
mod layers;
mod run;
mod types;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use super::PostgresEngine;
use crate::config::{PostgresConnection, SslMode};
use crate::engine::{Engine, QueryResult, RunContext, Safeguards};
use crate::error::ToolError;
use crate::guard::CheckedQuery;
use crate::local_pg::testing;

pub(super) fn host() -> String {
    testing::server().host.clone()
}

pub(super) fn port() -> u16 {
    testing::server().port
}

/// A client connected as `postgres` to `dbname`.
pub(super) async fn admin(dbname: &str) -> Client {
    let conn = testing::server().conninfo(dbname);
    let (client, connection) = tokio_postgres::connect(&conn, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {}:{} ({e}); these tests need it",
                host(),
                port()
            )
        });
    tokio::spawn(connection);
    client
}

/// A database for one test, dropped (with force) afterwards.
pub(super) struct Db {
    pub(super) name: String,
}

impl Db {
    pub(super) async fn create(label: &str) -> Db {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sqlwarden_u_{label}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin("postgres").await;
        // CREATE DATABASE fails while another test copies template1 too
        // (SQLSTATE 55006), so that case is retried.
        for attempt in 0.. {
            match admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
            {
                Ok(()) => break,
                Err(e) if attempt < 100 && e.code() == Some(&SqlState::OBJECT_IN_USE) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot create test database {name}: {e:?}"),
            }
        }
        Db { name }
    }

    pub(super) async fn client(&self) -> Client {
        admin(&self.name).await
    }

    pub(super) fn connection(&self) -> PostgresConnection {
        PostgresConnection {
            host: host(),
            port: port(),
            dbname: self.name.clone(),
            user: "postgres".into(),
            sslmode: SslMode::Disable,
            sslrootcert: None,
            role: None,
            default_schema: "public".into(),
            connect_timeout_seconds: 5,
            require_auth: None,
        }
    }

    pub(super) fn engine(&self) -> PostgresEngine {
        PostgresEngine::new("test", &self.connection(), None, trusting())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let _ = admin("postgres")
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

/// Safeguards that serve the `postgres` superuser: these tests exercise
/// the engine's mechanics (roles, timeouts, caps); the tests of the login
/// vetting and of the layers behind the gate use least-privilege logins.
pub(super) fn trusting() -> Safeguards {
    Safeguards {
        allow_privileged_login: true,
        ..Safeguards::default()
    }
}

/// A query with generous caps.
pub(super) fn query(sql: &str) -> CheckedQuery {
    CheckedQuery::for_engine_tests(sql, 1000, 1 << 20, 1 << 24, Duration::from_secs(30))
}

/// `sql`, returning one column that copies `table.column` as the gate
/// would have resolved it, with cells of at most `max_cell_bytes`.
pub(super) fn copying(sql: &str, table: &str, column: &str, max_cell_bytes: u64) -> CheckedQuery {
    copying_each(sql, table, &[column], max_cell_bytes)
}

/// [`copying`] for a query returning one column for each of `columns`,
/// each a copy of that column of `table`.
pub(super) fn copying_each(
    sql: &str,
    table: &str,
    columns: &[&str],
    max_cell_bytes: u64,
) -> CheckedQuery {
    let copies: Vec<[(&str, &str); 1]> = columns.iter().map(|column| [(table, *column)]).collect();
    let copies: Vec<&[(&str, &str)]> = copies.iter().map(|copy| copy.as_slice()).collect();
    CheckedQuery::for_engine_tests(sql, 10, max_cell_bytes, 1 << 20, Duration::from_secs(30))
        .with_tables_used(&[table])
        .with_output_copies(&copies)
}

/// Run `sql` through the engine with generous caps.
pub(super) async fn run(engine: &PostgresEngine, sql: &str) -> Result<QueryResult, ToolError> {
    engine.run(&query(sql), RunContext::default()).await
}

/// Assert that the server refused with a syntax error (SQLSTATE 42601).
pub(super) fn assert_syntax_error(error: &ToolError) {
    assert!(
        error
            .untrusted_detail
            .as_deref()
            .is_some_and(|d| d.contains("42601")),
        "{error:?}"
    );
}

/// Run `sql`, which returns `columns` columns as the gate would have
/// resolved them, so the engine sends it in one flight.
pub(super) async fn run_one_flight(
    engine: &PostgresEngine,
    sql: &str,
    columns: usize,
) -> Result<QueryResult, ToolError> {
    let checked = query(sql).with_output_columns(columns);
    engine.run(&checked, RunContext::default()).await
}
