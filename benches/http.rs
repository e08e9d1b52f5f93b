//! Team mode against stdio: the same point call (`run_select_sql` of one
//! order by key, on the demo warehouse) over stdio (the binary, driven by
//! rmcp's client) and over streamable HTTP (keep-alive connections, one MCP
//! session each), one after another; then point calls per second with 32
//! concurrent HTTP clients, each with its own session.
//!
//! The HTTP server runs in this process with a bench authenticator that
//! knows one bearer token (so token checks cost nothing here), on its own
//! runtime threads; the clients share the machine with it, as stdio's do.
//! Prints medians and rates to stderr; not run in CI. Run with
//! `cargo bench --bench http`; `SQLWARDEN_BENCH_CALLS` (default 300) sets
//! the sequential calls per transport, `SQLWARDEN_BENCH_SECONDS` (default
//! 10) the length of the concurrent run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::{json, Value};
use sqlwarden::cli::demo::{config_files, write_files, DemoArgs, WAREHOUSE_SQL};
use sqlwarden::server::http::{self, AuthRefusal, Authenticate, Authenticated, RefusalKind};
use sqlwarden::tools::ConfiguredEngines;
use tokio_postgres::NoTls;

const TOKEN: &str = "bench-token";
const CONCURRENT: usize = 32;

fn point_call(order: u64) -> Value {
    json!({"source": "demo", "sql": format!("SELECT order_id, amount, status FROM orders WHERE order_id = {order}")})
}

struct OneToken(HashMap<&'static str, Authenticated>);

impl Authenticate for OneToken {
    fn authenticate<'a>(
        &'a self,
        header: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Authenticated, AuthRefusal>> {
        Box::pin(async move {
            header
                .and_then(|h| h.strip_prefix("Bearer "))
                .and_then(|t| self.0.get(t).cloned())
                .ok_or(AuthRefusal {
                    reason: "bad token".into(),
                    kind: RefusalKind::Unauthenticated,
                    www_authenticate: "Bearer".into(),
                    // The bench never sends a bad token; nothing to audit.
                    failure: None,
                    token_id: None,
                })
        })
    }

    fn protected_resource_metadata(&self) -> Option<Value> {
        None
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The JSON-RPC answer with an `id` in an SSE or JSON body.
fn answer(body: &str) -> Value {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(body))
        .filter_map(|t| serde_json::from_str::<Value>(t.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or(Value::Null)
}

/// One MCP session over HTTP.
struct HttpClient {
    http: reqwest::Client,
    url: String,
    session: String,
    next: u64,
}

impl HttpClient {
    async fn post(&self, session: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.url)
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("MCP-Protocol-Version", "2025-06-18")
            .body(body.to_string());
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send().await.unwrap()
    }

    async fn open(http: reqwest::Client, url: String) -> Self {
        let mut client = Self {
            http,
            url,
            session: String::new(),
            next: 1,
        };
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}});
        let response = client.post(None, &init).await;
        client.session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        response.text().await.unwrap();
        let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let session = client.session.clone();
        client
            .post(Some(&session), &ack)
            .await
            .text()
            .await
            .unwrap();
        client
    }

    async fn call(&mut self, arguments: Value) -> bool {
        self.next += 1;
        let message = json!({"jsonrpc": "2.0", "id": self.next, "method": "tools/call",
            "params": {"name": "run_select_sql", "arguments": arguments}});
        let session = self.session.clone();
        let body = self
            .post(Some(&session), &message)
            .await
            .text()
            .await
            .unwrap();
        answer(&body)["result"]["structuredContent"]["ok"] == true
    }
}

async fn pg(dbname: &str) -> tokio_postgres::Client {
    let server = sqlwarden::local_pg::testing::server();
    let conn = format!(
        "host={} port={} user=postgres dbname={dbname}",
        server.host, server.port
    );
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let calls = env_u64("SQLWARDEN_BENCH_CALLS", 300);
    let seconds = env_u64("SQLWARDEN_BENCH_SECONDS", 10);
    let dbname = format!("sqlwarden_bench_http_{}", std::process::id());
    pg("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();
    pg(&dbname)
        .await
        .batch_execute(WAREHOUSE_SQL)
        .await
        .unwrap();
    let server = sqlwarden::local_pg::testing::server();
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        force: false,
        pg_host: server.host.clone(),
        pg_port: server.port,
        pg_user: "postgres".into(),
        dbname: dbname.clone(),
    };
    write_files(dir.path(), &config_files(&args)).unwrap();
    std::fs::write(
        dir.path().join(http::SERVER_FILE),
        "auth: {}\nlimits: {max_calls_per_identity: 64, max_sessions_per_identity: 64}\n",
    )
    .unwrap();
    let audit_dir = dir.path().join("audit");

    // stdio: the binary, one call after another.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
    command
        .arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", dir.path())
        .env("SQLWARDEN_AUDIT_DIR", &audit_dir);
    let stdio = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let mut stdio_samples = Vec::new();
    for i in 0..calls + 20 {
        let mut params = CallToolRequestParams::new("run_select_sql");
        if let Value::Object(map) = point_call(1 + i % 50) {
            params = params.with_arguments(map);
        }
        let started = Instant::now();
        let result = stdio.call_tool(params).await.unwrap();
        assert_eq!(result.is_error, Some(false));
        if i >= 20 {
            stdio_samples.push(started.elapsed());
        }
    }
    stdio.cancel().await.unwrap();

    // HTTP: in this process.
    let settings = http::settings::load(dir.path()).unwrap().unwrap();
    let policy = sqlwarden::cli::session::load(dir.path()).unwrap();
    let audit = Arc::new(sqlwarden::audit::AuditLog::open(&audit_dir, 30).unwrap());
    let identity = serde_json::from_value(json!({"user_id": "bench", "roles": ["analyst", "region_manager"], "attributes": {"region_codes": ["EAST", "NORTH"]}})).unwrap();
    let auth = OneToken(HashMap::from([(
        TOKEN,
        Authenticated {
            identity,
            token_id: "bench".into(),
        },
    )]));
    let options = http::Options {
        settings: &settings,
        listen: "127.0.0.1:0".parse().unwrap(),
        config_dir: dir.path(),
    };
    let running = http::start(
        options,
        policy,
        Arc::new(ConfiguredEngines),
        audit,
        Arc::new(auth),
    )
    .await
    .unwrap();
    let url = format!("http://{}/mcp", running.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(running.serve(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let mut one = HttpClient::open(http.clone(), url.clone()).await;
    let mut http_samples = Vec::new();
    for i in 0..calls + 20 {
        let started = Instant::now();
        assert!(one.call(point_call(1 + i % 50)).await);
        if i >= 20 {
            http_samples.push(started.elapsed());
        }
    }

    // 32 concurrent clients for `seconds`.
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..CONCURRENT {
        let (http, url, done, failed) = (http.clone(), url.clone(), done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = HttpClient::open(http, url).await;
            let mut i = c as u64;
            while Instant::now() < deadline {
                i += 1;
                if client.call(point_call(1 + i % 50)).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let started = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    served.await.unwrap();

    let stdio_median = median(stdio_samples);
    let http_median = median(http_samples);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("http bench: point call median over {calls} sequential calls");
    eprintln!(
        "  stdio {stdio_median:?}  http {http_median:?}  ratio http/stdio {:.2}",
        http_median.as_secs_f64() / stdio_median.as_secs_f64()
    );
    eprintln!(
        "  {CONCURRENT} concurrent HTTP clients: {:.0} point calls/s ({} ok, {} failed in {elapsed:.1} s)",
        done.load(Ordering::Relaxed) as f64 / elapsed,
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    eprintln!("  load average at the end: {}", load.trim());
    pg("postgres")
        .await
        .batch_execute(&format!("DROP DATABASE {dbname} WITH (FORCE)"))
        .await
        .ok();
}
