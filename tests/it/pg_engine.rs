//! The PostgreSQL engine from outside the crate, against real servers:
//! catalog metadata, partitions, the write-capability probe, TLS per
//! `sslmode`, and the connection failures (`CREDENTIALS_MISSING`,
//! `BACKEND_UNAVAILABLE`).
//!
//! Query execution (caps, timeouts, cancellation, types) is tested inside
//! the crate (`src/engine/postgres/tests`), where a query can be built
//! without the gate. `CREDENTIALS_MISSING` needs a server that asks for a
//! password; the shared test server trusts every local login, so
//! [`PasswordServer`] starts a private cluster with `scram-sha-256`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlwarden::config::{PostgresConnection, SslMode};
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::{Engine, PageRequest};
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
    let engine = PostgresEngine::new("crm", &connection(&db.name), None);
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
    let engine = PostgresEngine::new("crm", &connection(&db.name), None);
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
    let engine = PostgresEngine::new("crm", &connection(&db.name), None);
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
    let report = PostgresEngine::new("crm", &conn, None).probe().await;
    conn.role = Some(writer.clone());
    let risky = PostgresEngine::new("crm", &conn, None).probe().await;
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
    let engine = PostgresEngine::new("crm", &conn, None);
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
    let engine = PostgresEngine::new("crm", &conn, Some(Secret::new("x")));
    let error = engine.probe().await.expect_err("no such host");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
}

#[tokio::test]
async fn unknown_login_is_credentials_missing() {
    let mut conn = connection("postgres");
    conn.user = "sqlwarden_no_such_login".into();
    let error = PostgresEngine::new("crm", &conn, None)
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

/// The TLS tests need the shared server to offer TLS (Debian's default,
/// with the snakeoil certificate for `localhost`).
async fn server_certificate() -> String {
    let admin = pg::connect("postgres").await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.expect("ssl").get(0);
    assert_eq!(
        ssl, "on",
        "the TLS tests need `ssl = on` on the test server"
    );
    admin
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .expect("ssl_cert_file")
        .get(0)
}

/// Probe over TLS in `db`; whether every sqlwarden session of that
/// database is encrypted.
async fn tls_probe(
    db: &TestDb,
    host: &str,
    sslmode: SslMode,
    root: Option<&str>,
) -> Result<bool, sqlwarden::error::ToolError> {
    let mut conn = connection(&db.name);
    conn.host = host.into();
    conn.sslmode = sslmode;
    conn.sslrootcert = root.map(str::to_owned);
    let engine = PostgresEngine::new("crm", &conn, None);
    // The probe leaves its connection idle in the pool, so it is still
    // listed while we look.
    engine.probe().await?;
    let row = pg::connect("postgres")
        .await
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'sqlwarden' AND a.datname = $1",
            &[&db.name],
        )
        .await
        .expect("pg_stat_ssl");
    let (all, encrypted): (i64, i64) = (row.get(0), row.get(1));
    Ok(all > 0 && all == encrypted)
}

#[tokio::test]
async fn tls_modes_encrypt_and_verify_as_libpq() {
    let cert = server_certificate().await;
    let db = TestDb::create("tls").await;
    assert!(tls_probe(&db, "127.0.0.1", SslMode::Require, None)
        .await
        .expect("require"));
    assert!(tls_probe(&db, "127.0.0.1", SslMode::Prefer, None)
        .await
        .expect("prefer"));

    // An unknown issuer fails verification.
    let error = tls_probe(&db, "127.0.0.1", SslMode::VerifyFull, None)
        .await
        .expect_err("snakeoil is not trusted");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.message.contains("TLS"), "{}", error.message);
    assert!(error.hint.contains("sslmode"), "{}", error.hint);

    // Trusting the certificate: verify-ca ignores the host name...
    assert!(tls_probe(&db, "127.0.0.1", SslMode::VerifyCa, Some(&cert))
        .await
        .expect("verify-ca"));
    // ...verify-full does not: the certificate names `localhost`.
    let error = tls_probe(&db, "127.0.0.1", SslMode::VerifyFull, Some(&cert))
        .await
        .expect_err("wrong host name");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(
        tls_probe(&db, "localhost", SslMode::VerifyFull, Some(&cert))
            .await
            .expect("verify-full")
    );

    let error = tls_probe(
        &db,
        "127.0.0.1",
        SslMode::VerifyCa,
        Some("/nonexistent/root.pem"),
    )
    .await
    .expect_err("missing root file");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.hint.contains("sslrootcert"), "{}", error.hint);
}

/// A private PostgreSQL cluster that requires `scram-sha-256` passwords,
/// stopped and removed on drop.
struct PasswordServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

const SERVER_PASSWORD: &str = "correct horse battery staple";

impl PasswordServer {
    fn start() -> PasswordServer {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, SERVER_PASSWORD).expect("pwfile");
        as_server_owner(dir.path());
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        run_as_owner(
            &bin.join("initdb"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "-N".as_ref(),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        run_as_owner(
            &bin.join("pg_ctl"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                // With a log file the server does not hold our output pipe
                // open, so waiting for pg_ctl ends.
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        PasswordServer { dir, bin, port }
    }

    fn engine(&self, password: Option<&str>) -> PostgresEngine {
        let mut conn = connection("postgres");
        conn.host = "127.0.0.1".into();
        conn.port = self.port;
        PostgresEngine::new("pwdb", &conn, password.map(Secret::new))
    }
}

impl Drop for PasswordServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = owner_command(&self.bin.join("pg_ctl"))
            .args([
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ])
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`, from `pg_config` or Debian's
/// layout; panics with the reason when there is none.
fn postgres_bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .filter(|dir| dir.join("initdb").exists())
        .expect("this test needs the PostgreSQL server binaries (initdb, pg_ctl)")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// initdb refuses to run as root, so as root the cluster belongs to the
/// `postgres` system user.
fn owner_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn as_server_owner(dir: &Path) {
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {dir:?} failed");
    }
}

fn run_as_owner(program: &Path, args: &[&std::ffi::OsStr]) {
    let out = owner_command(program).args(args).output().expect("spawn");
    assert!(
        out.status.success(),
        "{program:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn password_prompt_without_a_stored_password_is_credentials_missing() {
    let server = PasswordServer::start();

    let error = server.engine(None).probe().await.expect_err("no password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing, "{error:?}");
    assert!(
        error.message.contains("none is stored"),
        "{}",
        error.message
    );
    assert!(
        error.hint.contains("sqlwarden auth set pwdb"),
        "{}",
        error.hint
    );
    assert!(
        error.hint.contains("SQLWARDEN_PWDB_PASSWORD"),
        "{}",
        error.hint
    );
    assert!(error.hint.contains("PGPASSWORD"), "{}", error.hint);

    let error = server
        .engine(Some("wrong"))
        .probe()
        .await
        .expect_err("wrong password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(
        error.message.contains("refused the stored password"),
        "{}",
        error.message
    );
    assert!(
        !format!("{error:?}").contains("wrong\""),
        "the secret never appears"
    );

    let report = server
        .engine(Some(SERVER_PASSWORD))
        .probe()
        .await
        .expect("right password");
    assert_eq!(report.login, "postgres");
}

/// The gate and the engine together: the gate's rendering (with its
/// `LIMIT applied + 1`) is what the engine runs, and the engine reports
/// truncation against the gate's applied limit.
mod through_the_gate {
    use sqlwarden::config::{Config, Connection, ConnectionsFile, JoinsFile, PolicyFile};
    use sqlwarden::engine::{Engine, RunContext, Truncation};
    use sqlwarden::guard::{Gate, TableFacts};
    use sqlwarden::policy::Policy;

    use super::{connection, db_with, PostgresEngine};

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
            policy_sha256: String::new(),
            managed_policy: None,
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
        let engine = PostgresEngine::new("crm", &connection(&db.name), None);
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
        assert_eq!(result.rows[0][1], serde_json::json!("item num"));
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
}
