//! A fresh PostgreSQL database per test, dropped afterwards.
//!
//! The server is the test process's own throwaway cluster
//! (`sqlwarden::local_pg::testing`: initdb into a temporary directory, a
//! free port of 127.0.0.1, user `postgres`, trust auth, stopped and deleted
//! when the process ends however it ends), or the server named by
//! `SQLWARDEN_TEST_PG_HOST` / `SQLWARDEN_TEST_PG_PORT`. Every test that
//! needs PostgreSQL goes through [`host`], [`port`] or [`connect`]; none
//! assumes a server of its own. Without PostgreSQL's server programs the
//! first test fails with what to install: nothing is skipped.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlwarden::local_pg::testing;
use tokio_postgres::{Client, NoTls};

/// Host of the test server.
pub fn host() -> String {
    testing::server().host.clone()
}

/// Port of the test server.
pub fn port() -> u16 {
    testing::server().port
}

/// The environment that points a child process (another test binary, a
/// script) at the same server.
pub fn child_env() -> [(&'static str, String); 2] {
    testing::child_env()
}

/// Connect as `postgres` to `dbname`, panicking with a clear message when
/// the server is not there.
pub async fn connect(dbname: &str) -> Client {
    let conn_str = testing::server().conninfo(dbname);
    let (client, connection) = tokio_postgres::connect(&conn_str, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the test PostgreSQL at {}:{} is not reachable ({e})",
                host(),
                port()
            )
        });
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database that exists for one test and is dropped when this is dropped.
pub struct TestDb {
    /// The database name.
    pub name: String,
}

impl TestDb {
    /// Create a fresh, empty database named after `label`.
    pub async fn create(label: &str) -> TestDb {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sqlwarden_t_{}_{}_{}",
            label
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let admin = connect("postgres").await;
        // CREATE DATABASE copies template1 and fails while another session
        // is copying it too (SQLSTATE 55006): tests create databases in
        // parallel, so retry that case for a while.
        let mut attempts = 0;
        loop {
            // Two messages: in one, the statements would form an implicit
            // transaction, which DROP / CREATE DATABASE refuse.
            let mut created = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await;
            if created.is_ok() {
                created = admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await;
            }
            match created {
                Ok(()) => break,
                Err(e)
                    if attempts < 100
                        && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
                {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot create test database {name}: {e:?}"),
            }
        }
        TestDb { name }
    }

    /// A client connected to this database as `postgres`.
    pub async fn client(&self) -> Client {
        connect(&self.name).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime, so use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = connect("postgres").await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}
