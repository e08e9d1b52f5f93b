//! Faults underneath a running session, and that every later call is
//! answered correctly: PostgreSQL restarted mid-session (through a
//! `Session` and through the binary over stdio), the server down and back,
//! a query killed by its timeout, the connection dropped while a large
//! result streams, and the MaxCompute endpoint going away and coming back.
//!
//! Restarts and outages use a cluster of their own (`support::pg_cluster`):
//! the test server must stay up for every other test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use sqlwarden::audit::AuditLog;
use sqlwarden::policy::Policy;
use sqlwarden::tools::{CallContext, ConfiguredEngines, Session};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::support::maxcompute::{fixture, EmulatorHandle};
use crate::support::pg::{self, TestDb};
use crate::support::pg_cluster::{Auth, PgCluster};

/// Rows of `public.items` in every PostgreSQL fixture here.
const ITEMS: u64 = 1000;

const ITEMS_SQL: &str = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 1000) i;";

/// A config dir with source `crm` at `port`/`dbname` allowing
/// `public.items` (and `public.big` when it exists), with `defaults`.
/// The private clusters here have only the `postgres` superuser, and these
/// tests are about outages, not logins: policy allows the privileged login.
fn pg_config(port: u16, dbname: &str, defaults: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("connections.yaml"),
        format!(
            "connections:\n  crm:\n    engine: postgres\n    host: 127.0.0.1\n    port: {port}\n    dbname: {dbname}\n    user: postgres\n    sslmode: disable\n    connect_timeout_seconds: 3\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        format!(
            "identity:\n  user_id: alice\n  roles: [analyst]\nsecurity:\n  allow_privileged_login: true\ndefaults:\n{defaults}sources:\n  crm:\n    tables:\n      public.items: {{}}\n      public.big: {{}}\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("audit")).unwrap();
    dir
}

/// A session over the config in `dir`, as `sqlwarden serve` builds it.
fn session(dir: &Path) -> Session {
    let config = sqlwarden::config::load(dir).unwrap_or_else(|e| panic!("{e:?}"));
    let audit = AuditLog::open(&dir.join("audit"), 1).unwrap();
    Session::new(
        Policy::new(config),
        Arc::new(ConfiguredEngines),
        Arc::new(audit),
    )
}

async fn session_call(session: &Session, tool: &str, args: Value) -> Value {
    let envelope = session
        .call(tool, Some(args), CallContext::default())
        .await
        .envelope();
    crate::support::output::assert_valid(tool, &envelope).await;
    envelope
}

/// The count query every check below runs; its answer is known.
fn count_items() -> Value {
    json!({"sql": "SELECT count(*) AS n, max(name) AS top FROM items"})
}

fn assert_counts_items(envelope: &Value, when: &str) {
    assert_eq!(envelope["ok"], true, "{when}: {envelope:#}");
    assert_eq!(
        envelope["data"]["rows"],
        json!([[ITEMS, "item 999"]]),
        "{when}"
    );
}

fn assert_failed(envelope: &Value, code: &str, when: &str) {
    assert_eq!(envelope["ok"], false, "{when}: {envelope:#}");
    assert_eq!(envelope["error"]["code"], code, "{when}: {envelope:#}");
    assert!(
        envelope["error"]["hint"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{when}: a hint"
    );
    assert!(envelope["data"].is_null(), "{when}: no partial data");
}

/// Several calls at once, so the pool holds more than one idle connection
/// when the server goes away under it.
async fn fill_pool(session: &Arc<Session>) {
    let mut calls = JoinSet::new();
    for _ in 0..4 {
        let session = session.clone();
        calls.spawn(async move { session_call(&session, "run_select_sql", count_items()).await });
    }
    while let Some(envelope) = calls.join_next().await {
        assert_counts_items(&envelope.unwrap(), "before the restart");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_postgres_restarts_and_outages() {
    let cluster = PgCluster::start(Auth::Trust);
    cluster
        .client("postgres")
        .await
        .batch_execute(ITEMS_SQL)
        .await
        .unwrap();
    let dir = pg_config(cluster.port(), "postgres", "  default_limit: 10\n");
    let session = Arc::new(session(dir.path()));

    // Each restart kills every pooled connection; the next call must not
    // be the one that finds out.
    for round in 0..3 {
        fill_pool(&session).await;
        cluster.restart();
        let after = session_call(&session, "run_select_sql", count_items()).await;
        assert_counts_items(&after, &format!("first call after restart {round}"));
        let described =
            session_call(&session, "describe_table", json!({"table": "public.items"})).await;
        assert_eq!(described["ok"], true, "{described:#}");
    }

    // Down: a clear error naming where the server should be.
    fill_pool(&session).await;
    cluster.stop();
    for tool_args in [
        ("run_select_sql", count_items()),
        ("preview_table", json!({"table": "public.items"})),
    ] {
        let down = session_call(&session, tool_args.0, tool_args.1).await;
        assert_failed(&down, "BACKEND_UNAVAILABLE", "server stopped");
        let hint = down["error"]["hint"].as_str().unwrap();
        assert!(hint.contains(&format!("port {}", cluster.port())), "{hint}");
    }

    // Back: the same session answers again, no restart of sqlwarden.
    cluster.start_again();
    let back = session_call(&session, "run_select_sql", count_items()).await;
    assert_counts_items(&back, "server started again");
}

async fn stdio_client(dir: &Path) -> RunningService<RoleClient, ()> {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
    cmd.arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", dir)
        .env("SQLWARDEN_AUDIT_DIR", dir.join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .env_remove("PGPASSWORD")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .expect("initialize")
}

async fn stdio_call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> Value {
    let Value::Object(map) = args else {
        panic!("arguments are an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .expect("tools/call answered");
    let envelope = result.structured_content.expect("structuredContent");
    crate::support::output::assert_valid(tool, &envelope).await;
    assert_eq!(
        result.is_error,
        Some(envelope["ok"] == false),
        "isError matches ok"
    );
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_over_stdio_survives_a_postgres_restart_and_outage() {
    let cluster = PgCluster::start(Auth::Trust);
    cluster
        .client("postgres")
        .await
        .batch_execute(ITEMS_SQL)
        .await
        .unwrap();
    let dir = pg_config(cluster.port(), "postgres", "  default_limit: 10\n");
    let client = stdio_client(dir.path()).await;

    let before = stdio_call(&client, "run_select_sql", count_items()).await;
    assert_counts_items(&before, "before the restart");
    cluster.restart();
    let after = stdio_call(&client, "run_select_sql", count_items()).await;
    assert_counts_items(&after, "first call after the restart");

    cluster.stop();
    let down = stdio_call(&client, "run_select_sql", count_items()).await;
    assert_failed(&down, "BACKEND_UNAVAILABLE", "server stopped");
    cluster.start_again();
    let back = stdio_call(&client, "run_select_sql", count_items()).await;
    assert_counts_items(&back, "server started again");
    client.cancel().await.unwrap();
}

/// Whether a backend of sqlwarden's is still running `pattern` in `db`.
async fn sqlwarden_backend_running(admin: &tokio_postgres::Client, pattern: &str) -> bool {
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'sqlwarden' AND state = 'active' \
               AND datname = current_database() AND query LIKE $1",
            &[&format!("%{pattern}%")],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_killed_by_its_timeout_is_query_timeout_and_the_next_call_works() {
    let db = TestDb::create("faults_timeout").await;
    let admin = db.client().await;
    admin.batch_execute(ITEMS_SQL).await.unwrap();
    let dir = pg_config(pg::port(), &db.name, "  query_timeout_seconds: 1\n");
    let session = session(dir.path());

    // A legitimate, allowed query that runs far longer than a second: a
    // thousand items times a hundred million series rows.
    let slow =
        json!({"sql": "SELECT count(*) AS n FROM items i, generate_series(1, 100000000) AS g"});
    let started = Instant::now();
    let timed_out = session_call(&session, "run_select_sql", slow).await;
    assert_failed(&timed_out, "QUERY_TIMEOUT", "slow query");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The backend stopped too: nothing keeps burning the server.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sqlwarden_backend_running(&admin, "generate_series").await {
        assert!(Instant::now() < deadline, "the backend query was cancelled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let next = session_call(&session, "run_select_sql", count_items()).await;
    assert_counts_items(&next, "after the timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_stream_is_an_error_without_partial_rows() {
    let db = TestDb::create("faults_stream").await;
    let admin = db.client().await;
    admin.batch_execute(ITEMS_SQL).await.unwrap();
    // Wide rows, many of them: streaming this takes a while, in batches.
    admin
        .batch_execute(
            "CREATE TABLE big AS SELECT i AS id, repeat(md5(i::text), 8) AS payload \
             FROM generate_series(1, 200000) i",
        )
        .await
        .unwrap();
    let dir = pg_config(
        pg::port(),
        &db.name,
        "  default_limit: 200000\n  max_limit: 200000\n  max_result_bytes: 200000000\n  query_timeout_seconds: 60\n",
    );
    let session = Arc::new(session(dir.path()));
    let warm = session_call(&session, "run_select_sql", count_items()).await;
    assert_counts_items(&warm, "warm-up");

    let streaming = {
        let session = session.clone();
        tokio::spawn(async move {
            session_call(
                &session,
                "run_select_sql",
                json!({"sql": "SELECT id, payload FROM big ORDER BY id"}),
            )
            .await
        })
    };
    // Wait until sqlwarden's backend is on the query, then end it from
    // another connection, as an administrator or a failover would.
    let deadline = Instant::now() + Duration::from_secs(20);
    let terminated = loop {
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = 'sqlwarden' AND datname = current_database() \
                   AND query LIKE '%FROM public.big%'",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break true;
        }
        if streaming.is_finished() || Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(terminated, "caught sqlwarden's backend mid-query");
    let envelope = streaming.await.unwrap();
    assert_failed(&envelope, "BACKEND_UNAVAILABLE", "terminated mid-stream");

    let next = session_call(&session, "run_select_sql", count_items()).await;
    assert_counts_items(&next, "after the dropped connection");
}

/// A TCP forwarder on a fixed port in front of a real server. It can go
/// away (refusing connections, cutting the open ones) and come back on the
/// same port, or cut its open connections silently: they stay open on the
/// client's side until the client next speaks, and are then hung up, as
/// when a failover or a NAT dropped them. New connections are forwarded.
struct Forwarder {
    port: u16,
    target: std::net::SocketAddr,
    serving: Option<tokio::task::JoinHandle<()>>,
    severed: tokio::sync::watch::Sender<u64>,
    /// Links open now, and links that have cut their server side so far:
    /// `sever_silently` waits for every open link to act on the cut, so
    /// the client's next request cannot slip through before it.
    links: Arc<LinkCounts>,
}

#[derive(Default)]
struct LinkCounts {
    open: std::sync::atomic::AtomicU64,
    cut: std::sync::atomic::AtomicU64,
}

impl Forwarder {
    async fn new(target: std::net::SocketAddr) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut forwarder = Forwarder {
            port,
            target,
            serving: None,
            severed: tokio::sync::watch::channel(0).0,
            links: Arc::default(),
        };
        forwarder.serve(listener);
        forwarder
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target;
        let severed = self.severed.clone();
        let counts = self.links.clone();
        self.serving = Some(tokio::spawn(async move {
            // Dropping this set (when the task is aborted) cuts every
            // forwarded connection.
            let mut links = JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                links.spawn(link(inbound, target, severed.subscribe(), counts.clone()));
            }
        }));
    }

    /// Stop listening and cut every open connection.
    fn go_away(&mut self) {
        if let Some(task) = self.serving.take() {
            task.abort();
        }
    }

    /// Listen on the same port again.
    async fn come_back(&mut self) {
        // The aborted task's listener is closed once the abort lands.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebind port {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    /// Cut the open connections without telling their clients.
    async fn sever_silently(&self) {
        use std::sync::atomic::Ordering;
        let open = self.links.open.load(Ordering::SeqCst);
        let cut_before = self.links.cut.load(Ordering::SeqCst);
        self.severed.send_modify(|generation| *generation += 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.links.cut.load(Ordering::SeqCst) < cut_before + open {
            assert!(Instant::now() < deadline, "links did not act on the cut");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Forward one connection until either side ends it, or until it is
/// severed: then the server's side is closed at once and the client's
/// when the client next sends something.
async fn link(
    mut inbound: TcpStream,
    target: std::net::SocketAddr,
    mut severed: tokio::sync::watch::Receiver<u64>,
    counts: Arc<LinkCounts>,
) {
    use std::sync::atomic::Ordering;
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    counts.open.fetch_add(1, Ordering::SeqCst);
    let cut = tokio::select! {
        _ = severed.changed() => true,
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => false,
    };
    counts.open.fetch_sub(1, Ordering::SeqCst);
    if cut {
        drop(outbound);
        counts.cut.fetch_add(1, Ordering::SeqCst);
        let mut byte = [0u8; 1];
        let _ = tokio::io::AsyncReadExt::read(&mut inbound, &mut byte).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_that_died_silently_do_not_fail_the_next_call() {
    let db = TestDb::create("faults_silent").await;
    db.client().await.batch_execute(ITEMS_SQL).await.unwrap();
    let target = format!("{}:{}", pg::host(), pg::port()).parse().unwrap();
    let forwarder = Forwarder::new(target).await;
    let dir = pg_config(forwarder.port, &db.name, "  default_limit: 10\n");
    let session = Arc::new(session(dir.path()));

    for round in 0..3 {
        fill_pool(&session).await;
        forwarder.sever_silently().await;
        let after = session_call(&session, "run_select_sql", count_items()).await;
        assert_counts_items(&after, &format!("query after cut {round}"));
        fill_pool(&session).await;
        forwarder.sever_silently().await;
        // Catalog reads go through the same checkout.
        let preview =
            session_call(&session, "preview_table", json!({"table": "public.items"})).await;
        assert_eq!(
            preview["ok"], true,
            "preview after cut {round}: {preview:#}"
        );
    }
}

fn mc_config(dir: &Path, endpoint: &str) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  dw:\n    engine: maxcompute\n    endpoint: {endpoint}/api\n    tunnel_endpoint: {endpoint}\n    project: demo\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        "identity:\n  user_id: alice\n  roles: [analyst]\nsources:\n  dw:\n    defaults: {query_timeout_seconds: 5}\n    tables:\n      demo.customers:\n        denied_columns: [region_code]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("audit")).unwrap();
}

fn emulator_addr(emu: &EmulatorHandle) -> std::net::SocketAddr {
    let endpoint = emu.tunnel_endpoint();
    endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maxcompute_endpoint_going_away_and_coming_back() {
    let emu = fixture::start(fixture::config()).await;
    let mut outage = Forwarder::new(emulator_addr(&emu)).await;
    let dir = tempfile::tempdir().unwrap();
    mc_config(dir.path(), &format!("http://127.0.0.1:{}", outage.port));
    let client = stdio_client(dir.path()).await;
    let query = json!({"sql": "SELECT customer_id FROM demo.customers ORDER BY customer_id"});
    let healthy = |envelope: &Value, when: &str| {
        assert_eq!(envelope["ok"], true, "{when}: {envelope:#}");
        let rows = envelope["data"]["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{when}");
    };

    let first = stdio_call(&client, "run_select_sql", query.clone()).await;
    healthy(&first, "before the outage");
    let expected_rows = first["data"]["rows"].clone();

    // Throttled once: retried, and the caller sees only the answer.
    emu.faults().qps_exceeded("instances", 1);
    let throttled = stdio_call(&client, "run_select_sql", query.clone()).await;
    healthy(&throttled, "after QPSExceeded");
    emu.faults().clear();

    outage.go_away();
    for sql in [
        "SELECT customer_id FROM demo.customers ORDER BY customer_id",
        "SELECT count(*) AS n FROM demo.customers",
    ] {
        let started = Instant::now();
        let down = stdio_call(&client, "run_select_sql", json!({"sql": sql})).await;
        assert!(started.elapsed() < Duration::from_secs(30), "{sql}");
        assert_failed(&down, "BACKEND_UNAVAILABLE", sql);
    }

    outage.come_back().await;
    let back = stdio_call(&client, "run_select_sql", query.clone()).await;
    healthy(&back, "after the endpoint came back");
    assert_eq!(back["data"]["rows"], expected_rows);
    client.cancel().await.unwrap();
}
