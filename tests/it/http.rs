//! Team mode over real HTTP: the server runs in this process (so the test
//! owns its authenticator: a static token map, standing in for the
//! authentication half of issue 16) on a real socket, against the demo
//! warehouse on a throwaway PostgreSQL, and is driven by the official
//! Python and TypeScript SDKs' streamable HTTP clients and by a raw HTTP
//! client that can misbehave.
//!
//! Two identities share one policy whose row policy narrows `orders` to
//! `${user.region_codes}`: alice sees EAST, bob NORTH. The binary itself is
//! run only for the refusals at start.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::Command;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use sqlwarden::audit::AuditLog;
use sqlwarden::server::http::{self, AuthRefusal, Authenticate, Authenticated, RefusalKind};
use sqlwarden::tools::ConfiguredEngines;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::stdio::Fixture;

mod abuse;
mod binary;

const ALICE: &str = "tok-alice-0123456789";
const BOB: &str = "tok-bob-0123456789";
const CHALLENGE: &str = r#"Bearer realm="sqlwarden", resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource""#;

/// The test's authenticator: bearer tokens mapped to identities.
struct StaticTokens(HashMap<&'static str, Authenticated>);

fn identity(user: &str, region: &str) -> sqlwarden::config::Identity {
    serde_json::from_value(json!({
        "user_id": user,
        "roles": ["analyst", "region_manager"],
        "attributes": {"region_codes": [region]},
    }))
    .unwrap()
}

impl StaticTokens {
    fn new() -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(
            ALICE,
            Authenticated {
                identity: identity("alice", "EAST"),
                token_id: "tid-alice".into(),
            },
        );
        tokens.insert(
            BOB,
            Authenticated {
                identity: identity("bob", "NORTH"),
                token_id: "tid-bob".into(),
            },
        );
        Self(tokens)
    }
}

impl Authenticate for StaticTokens {
    fn authenticate<'a>(
        &'a self,
        header: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Authenticated, AuthRefusal>> {
        Box::pin(async move {
            let refuse = |reason: &str, failure: Option<&str>| AuthRefusal {
                reason: reason.into(),
                kind: RefusalKind::Unauthenticated,
                www_authenticate: CHALLENGE.into(),
                failure: failure.map(str::to_owned),
                token_id: None,
            };
            let token = header
                .and_then(|h| h.strip_prefix("Bearer "))
                .ok_or_else(|| refuse("no bearer token", None))?;
            self.0
                .get(token)
                .cloned()
                .ok_or_else(|| refuse("unknown token", Some("unknown_token")))
        })
    }

    fn protected_resource_metadata(&self) -> Option<Value> {
        Some(
            json!({"resource": "http://127.0.0.1/mcp", "authorization_servers": ["https://issuer.example"]}),
        )
    }
}

/// A team-mode server in this process on the demo fixture.
struct Team {
    fx: Fixture,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

impl Team {
    async fn start(label: &str, server_yaml: &str) -> Team {
        let fx = Fixture::new(label, "").await;
        Self::on(fx, server_yaml).await
    }

    async fn on(fx: Fixture, server_yaml: &str) -> Team {
        let dir = fx.dir.path().to_path_buf();
        std::fs::write(dir.join(http::SERVER_FILE), server_yaml).unwrap();
        let settings = http::settings::load(&dir).unwrap().unwrap();
        let policy = sqlwarden::cli::session::load(&dir).unwrap();
        let audit = Arc::new(AuditLog::open(&fx.audit_dir(), 30).unwrap());
        let options = http::Options {
            settings: &settings,
            listen: "127.0.0.1:0".parse().unwrap(),
            config_dir: &dir,
        };
        let running = http::start(
            options,
            policy,
            Arc::new(ConfiguredEngines),
            audit,
            Arc::new(StaticTokens::new()),
        )
        .await
        .unwrap();
        let addr = running.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(running.serve(async {
            let _ = stopped.await;
        }));
        Team {
            fx,
            addr,
            stop: Some(stop),
            served,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Signal shutdown and wait for the server to finish.
    async fn shut_down(mut self) -> Fixture {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), &mut self.served)
            .await
            .expect("shutdown finishes")
            .unwrap();
        self.fx
    }
}

/// One HTTP response, read to its end.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC message with an `id` in the body (SSE or JSON).
    fn rpc(&self) -> Value {
        let texts: Vec<&str> = if self.body.trim_start().starts_with('{') {
            vec![self.body.trim()]
        } else {
            self.body
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .collect()
        };
        texts
            .iter()
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .find(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC answer in {self:?}"))
    }

    fn error_code(&self) -> String {
        let body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Send `head` (without the final blank line) and `body`, with
/// `Connection: close`, and read the whole answer.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    send_on(TcpStream::connect(addr).await.unwrap(), head, body).await
}

/// [`send`] on an open stream (TLS or not).
async fn send_on<S>(mut stream: S, head: &str, body: &[u8]) -> Reply
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = format!(
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            body.push_str(&after[..after.len().min(size)]);
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// POST one JSON-RPC message to `/mcp`.
async fn post(
    addr: SocketAddr,
    token: Option<&str>,
    session: Option<&str>,
    extra: &str,
    message: &Value,
) -> Reply {
    let mut head = String::from(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18",
    );
    if let Some(token) = token {
        head.push_str(&format!("\r\nAuthorization: Bearer {token}"));
    }
    if let Some(session) = session {
        head.push_str(&format!("\r\nMcp-Session-Id: {session}"));
    }
    if !extra.is_empty() {
        head.push_str("\r\n");
        head.push_str(extra);
    }
    send(addr, &head, message.to_string().as_bytes()).await
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw-http-test", "version": "1.0"}}})
}

/// Open an MCP session as `token`; its id.
async fn open_session(addr: SocketAddr, token: &str) -> String {
    let reply = post(addr, Some(token), None, "", &initialize()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let id = reply
        .header("mcp-session-id")
        .expect("session id")
        .to_string();
    let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = post(addr, Some(token), Some(&id), "", &ack).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    id
}

fn tool_call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

/// `tools/call` in `session` as `token`; the envelope. Each call has its
/// own JSON-RPC id: ids must be unique within a session.
async fn call(addr: SocketAddr, token: &str, session: &str, tool: &str, arguments: Value) -> Value {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let reply = post(
        addr,
        Some(token),
        Some(session),
        "",
        &tool_call(id, tool, arguments),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let answer = reply.rpc();
    answer["result"]["structuredContent"].clone()
}

const REGIONS: &str = "SELECT DISTINCT region_code FROM orders ORDER BY region_code";

async fn regions(addr: SocketAddr, token: &str, session: &str) -> Vec<String> {
    let envelope = call(
        addr,
        token,
        session,
        "run_select_sql",
        json!({"source": "demo", "sql": REGIONS}),
    )
    .await;
    assert_eq!(envelope["ok"], true, "{envelope:#}");
    envelope["data"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect()
}

const BASIC: &str = "auth: {}\n";

#[tokio::test]
async fn two_identities_see_their_own_rows_and_cannot_use_each_others_sessions() {
    let team = Team::start("http_identities", BASIC).await;
    let addr = team.addr;
    let alice = open_session(addr, ALICE).await;
    let bob = open_session(addr, BOB).await;
    assert_eq!(regions(addr, ALICE, &alice).await, ["EAST"]);
    assert_eq!(regions(addr, BOB, &bob).await, ["NORTH"]);

    // Bob's token on alice's session: refused before anything runs.
    let before = team.fx.audit_records().len();
    let reply = post(
        addr,
        Some(BOB),
        Some(&alice),
        "",
        &tool_call(
            9,
            "run_select_sql",
            json!({"source": "demo", "sql": REGIONS}),
        ),
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(reply.error_code(), "SESSION_OF_ANOTHER_CALLER");
    let delete = send(
        addr,
        &format!("DELETE /mcp HTTP/1.1\r\nAuthorization: Bearer {BOB}\r\nMcp-Session-Id: {alice}"),
        b"",
    )
    .await;
    assert_eq!(delete.status, 403, "{delete:?}");
    assert_eq!(team.fx.audit_records().len(), before, "nothing ran for bob");
    // Alice's session still works, still as alice.
    assert_eq!(regions(addr, ALICE, &alice).await, ["EAST"]);

    // The audit log names each caller and token id, never the token, and
    // the chain verifies.
    let fx = team.shut_down().await;
    let records = fx.audit_records();
    let users: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["user_id"].as_str().unwrap(),
                r["token_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        users,
        [
            ("alice", "tid-alice"),
            ("bob", "tid-bob"),
            ("alice", "tid-alice")
        ]
    );
    assert_eq!(records[0]["session_id"], alice.as_str());
    assert_eq!(records[0]["client_name"], "raw-http-test");
    let text = std::fs::read_to_string(
        std::fs::read_dir(fx.audit_dir())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(
        !text.contains(ALICE) && !text.contains(BOB),
        "a token leaked into the audit log"
    );
    let report = sqlwarden::audit::verify(&fx.audit_dir()).unwrap();
    assert_eq!(report.records, 3);
    assert!(report.first_break.is_none());
}

#[tokio::test]
async fn missing_or_bad_credentials_get_401_with_a_challenge_and_nothing_runs() {
    let team = Team::start("http_unauthenticated", BASIC).await;
    let addr = team.addr;
    let message = tool_call(
        1,
        "run_select_sql",
        json!({"source": "demo", "sql": REGIONS}),
    );
    for token in [None, Some("nope"), Some(""), Some("tok-alice-0123456789x")] {
        let reply = post(addr, token, None, "", &message).await;
        assert_eq!(reply.status, 401, "{token:?}: {reply:?}");
        assert_eq!(reply.header("www-authenticate"), Some(CHALLENGE));
        assert_eq!(reply.error_code(), "UNAUTHENTICATED");
    }
    // A non-bearer scheme and a header that is not text.
    let reply = post(
        addr,
        None,
        None,
        "Authorization: Basic YWxpY2U6eA==",
        &message,
    )
    .await;
    assert_eq!(reply.status, 401);
    let mut head = "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "
        .as_bytes()
        .to_vec();
    head.extend_from_slice(&[0xff, 0xfe]);
    let raw = format!(
        "\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{message}",
        message.to_string().len()
    );
    head.extend_from_slice(raw.as_bytes());
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&head).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert_eq!(parse(&answer).status, 401);
    // The metadata document and health need no token.
    let meta = send(
        addr,
        "GET /.well-known/oauth-protected-resource HTTP/1.1",
        b"",
    )
    .await;
    assert_eq!(meta.status, 200);
    assert!(meta.body.contains("authorization_servers"));
    assert_eq!(send(addr, "GET /healthz HTTP/1.1", b"").await.status, 200);
    assert_eq!(send(addr, "GET /readyz HTTP/1.1", b"").await.status, 200);
    assert_eq!(send(addr, "GET /elsewhere HTTP/1.1", b"").await.status, 404);
    // Nothing ran. Each bearer token presented and refused left an
    // `auth_refused` record naming the reason and the address; no
    // credential, another scheme or a header that is not text left none.
    let records = team.fx.audit_records();
    let refused: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["tool_name"].as_str().unwrap(),
                r["auth_failure"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [("auth_refused", "unknown_token"); 2],
        "{records:#?}"
    );
    for record in &records {
        assert!(record["remote_addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")));
        assert!(record["token_id"].is_null() && record["user_id"].is_null());
        let text = record.to_string();
        assert!(
            !text.contains("nope") && !text.contains("0123456789x"),
            "{text}"
        );
    }
    // And the server still serves a valid caller.
    let alice = open_session(addr, ALICE).await;
    assert_eq!(regions(addr, ALICE, &alice).await, ["EAST"]);
    team.shut_down().await;
}

/// A flood of bad tokens from one address leaves a bounded number of
/// `auth_refused` records, which still account for every refusal.
#[tokio::test]
async fn a_flood_of_bad_tokens_is_audited_within_the_rate_limit() {
    const PER_MINUTE: u64 = 3;
    const FLOOD: u64 = 200;
    let team = Team::start(
        "http_refusal_flood",
        &format!("auth: {{}}\nlimits: {{refused_auth_records_per_minute: {PER_MINUTE}}}\n"),
    )
    .await;
    let started = Instant::now();
    for i in 0..FLOOD {
        let reply = post(
            team.addr,
            Some(&format!("forged-{i}")),
            None,
            "",
            &initialize(),
        )
        .await;
        assert_eq!(reply.status, 401, "{reply:?}");
    }
    let minutes = started.elapsed().as_secs() / 60 + 1;
    let alice = open_session(team.addr, ALICE).await;
    assert_eq!(regions(team.addr, ALICE, &alice).await, ["EAST"]);
    // Shutdown writes the counts still pending.
    let fx = team.shut_down().await;
    let records = fx.audit_records();
    let (refusals, calls): (Vec<&Value>, Vec<&Value>) = records
        .iter()
        .partition(|r| r["tool_name"] == "auth_refused");
    assert_eq!(calls.len(), 1, "only alice's call ran");
    // Per minute: the limit, plus one record of the counted rest.
    assert!(
        refusals.len() as u64 <= (PER_MINUTE + 1) * minutes,
        "{} records for {FLOOD} refusals in {minutes} minute(s)",
        refusals.len()
    );
    let stood_for: u64 = refusals
        .iter()
        .map(|r| 1 + r["suppressed"].as_u64().unwrap())
        .sum();
    assert_eq!(stood_for, FLOOD, "{refusals:#?}");
    assert!(!records.iter().any(|r| r.to_string().contains("forged-")));
    assert!(sqlwarden::audit::verify(&fx.audit_dir())
        .unwrap()
        .first_break
        .is_none());

    // `audit stats` counts the refusals apart from the calls: one call, no
    // denial, and every refusal the records stand for, by reason.
    let stats = binary::sqlwarden(&fx, &["audit", "stats", "--json"]);
    assert!(stats.status.success(), "{stats:?}");
    let days: Vec<Value> = String::from_utf8(stats.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total = |key: &str| days.iter().map(|d| d[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (total("calls"), total("ok"), total("denied")),
        (1, 1, 0),
        "{days:#?}"
    );
    assert_eq!(total("refused_credentials"), FLOOD, "{days:#?}");
    let unknown: u64 = days
        .iter()
        .map(|d| d["by_auth_failure"]["unknown_token"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(unknown, FLOOD, "{days:#?}");
    let text = binary::sqlwarden(&fx, &["audit", "stats"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with("auth_refused"),
        "{text}"
    );
    assert!(text.contains("  auth_refused unknown_token: "), "{text}");
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_authentication() {
    let team = Team::start(
        "http_origin",
        "allowed_origins: [\"https://app.example.com\"]\nauth: {}\n",
    )
    .await;
    let addr = team.addr;
    let reply = post(
        addr,
        Some(ALICE),
        None,
        "Origin: https://evil.example",
        &initialize(),
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(reply.error_code(), "ORIGIN_NOT_ALLOWED");
    // Refused before credentials are looked at: no challenge either.
    let reply = post(
        addr,
        None,
        None,
        "Origin: http://rebind.attacker.example:8080",
        &initialize(),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(reply.header("www-authenticate").is_none());
    let reply = post(addr, Some(ALICE), None, "Origin: null", &initialize()).await;
    assert_eq!(reply.status, 403);
    // The allowed origin, a loopback page (the server is on loopback) and
    // no Origin at all are served.
    for origin in [
        "Origin: https://app.example.com",
        "Origin: http://localhost:5173",
        "",
    ] {
        let reply = post(addr, Some(ALICE), None, origin, &initialize()).await;
        assert_eq!(reply.status, 200, "{origin}: {reply:?}");
    }
    team.shut_down().await;
}

#[tokio::test]
async fn abuse_is_refused_early_and_the_server_keeps_serving() {
    let limits = "auth: {}\nlimits:\n  max_body_bytes: 4096\n  header_timeout_seconds: 1\n  max_sessions: 5\n  max_sessions_per_identity: 4\n";
    let team = Team::start("http_abuse", limits).await;
    let addr = team.addr;
    let alice = open_session(addr, ALICE).await;

    // An oversized body: 413, whatever it claims to be.
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_sources", "arguments": {"pad": "x".repeat(10_000)}}});
    let reply = post(addr, Some(ALICE), Some(&alice), "", &big).await;
    assert_eq!(reply.status, 413, "{reply:?}");

    // An oversized request head: 431 (the default bound is 16 KiB).
    let huge = format!("GET /healthz HTTP/1.1\r\nX-Big: {}", "a".repeat(20_000));
    assert_eq!(send(addr, &huge, b"").await.status, 431);

    // Slow headers: a client that dribbles its request line is cut off
    // after the header timeout, while others are served meanwhile.
    let dribbler = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for byte in b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        started.elapsed()
    });
    assert_eq!(regions(addr, ALICE, &alice).await, ["EAST"]);
    let held = dribbler.await.unwrap();
    assert!(
        held < Duration::from_secs(8),
        "a slow client held its connection {held:?}"
    );

    // A flood of sessions: alice is capped at 4 of her own, the process
    // at 5; bob still gets in until the global cap.
    let mut codes = Vec::new();
    for _ in 0..6 {
        let reply = post(addr, Some(ALICE), None, "", &initialize()).await;
        codes.push((reply.status, reply.error_code()));
    }
    assert_eq!(
        codes.iter().filter(|(s, _)| *s == 200).count(),
        3,
        "{codes:?}"
    );
    assert!(codes
        .iter()
        .filter(|(s, _)| *s == 503)
        .all(|(_, c)| c == "TOO_MANY_SESSIONS"));
    let bob = open_session(addr, BOB).await;
    let reply = post(addr, Some(BOB), None, "", &initialize()).await;
    assert_eq!(reply.status, 503, "the process cap: {reply:?}");
    assert!(reply.body.contains("most allowed"));
    // Closing a session makes room again.
    let closed = send(
        addr,
        &format!("DELETE /mcp HTTP/1.1\r\nAuthorization: Bearer {BOB}\r\nMcp-Session-Id: {bob}"),
        b"",
    )
    .await;
    assert!(closed.status < 300, "{closed:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bob = open_session(addr, BOB).await;
    assert_eq!(regions(addr, BOB, &bob).await, ["NORTH"]);
    assert_eq!(regions(addr, ALICE, &alice).await, ["EAST"]);
    team.shut_down().await;
}

#[tokio::test]
async fn calls_per_identity_are_capped_and_shutdown_finishes_running_calls() {
    let team = Team::start(
        "http_shutdown",
        "auth: {}\nlimits: {max_calls_per_identity: 1}\n",
    )
    .await;
    let addr = team.addr;
    let alice = open_session(addr, ALICE).await;
    let bob = open_session(addr, BOB).await;
    let slow = json!({"source": "demo", "sql": "SELECT count(order_id) AS n FROM orders, generate_series(1, 60000) AS g"});
    let running = {
        let alice = alice.clone();
        tokio::spawn(async move { call(addr, ALICE, &alice, "run_select_sql", slow).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Alice's second call at once is refused; bob's is not.
    let second = call(addr, ALICE, &alice, "list_sources", json!({})).await;
    assert_eq!(second["error"]["code"], "RATE_LIMIT_EXCEEDED", "{second:#}");
    let other = call(addr, BOB, &bob, "list_sources", json!({})).await;
    assert_eq!(other["ok"], true, "{other:#}");

    // Shutdown now: readiness drops, the running call still finishes and
    // its answer arrives, audited.
    let mut team = team;
    let _ = team.stop.take().unwrap().send(());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let finished = running.await.unwrap();
    assert_eq!(finished["ok"], true, "{finished:#}");
    tokio::time::timeout(Duration::from_secs(30), &mut team.served)
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
    let records = team.fx.audit_records();
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(records
        .iter()
        .any(|r| r["tool_name"] == "run_select_sql" && r["outcome"] == "ok"));
}

/// Run a client script with `program`, pointed at `team` as `token`; its
/// JSON report.
async fn client(team: &Team, mut command: Command, token: &str, what: &str) -> Value {
    let output = command
        .env("SQLWARDEN_URL", team.url())
        .env("SQLWARDEN_TOKEN", token)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what} did not start ({e}); run tests/clients/setup.sh"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{what} printed no report ({e}):\n{stdout}"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn the_official_sdks_over_http_each_see_their_callers_rows() {
    let team = Team::start("http_sdks", BASIC).await;
    let python = repo().join("target/clients/venv/bin/python");
    let mut command = Command::new(python);
    command.arg(repo().join("tests/clients/python_http_client.py"));
    let py = client(&team, command, ALICE, "the Python SDK").await;
    assert_eq!(py["regions"], json!(["EAST"]), "{py}");
    assert_eq!(py["refusal"], "COLUMN_NOT_ALLOWED");

    let node_dir = repo().join("target/clients/node");
    let script = node_dir.join("ts_http_client.mjs");
    std::fs::copy(repo().join("tests/clients/ts_http_client.mjs"), &script).unwrap();
    let mut command = Command::new("node");
    command.arg(&script);
    let ts = client(&team, command, BOB, "the TypeScript SDK").await;
    assert_eq!(ts["regions"], json!(["NORTH"]), "{ts}");
    assert_eq!(ts["refusal"], "COLUMN_NOT_ALLOWED");
    assert!(
        ts["session"].as_str().is_some_and(|s| !s.is_empty()),
        "{ts}"
    );

    // A forged token: the SDK's `initialize` is answered 401, which it
    // reports as an error response, and the client exits non-zero; the
    // audit log below shows nothing ran for it.
    let mut command = Command::new(repo().join("target/clients/venv/bin/python"));
    command
        .arg(repo().join("tests/clients/python_http_client.py"))
        .env("SQLWARDEN_URL", team.url())
        .env("SQLWARDEN_TOKEN", "forged");
    let output = command.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("Server returned an error response"),
        "{stderr}"
    );

    let fx = team.shut_down().await;
    let users: Vec<String> = fx
        .audit_records()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["user_id"]
                    .as_str()
                    .unwrap_or(r["tool_name"].as_str().unwrap()),
                r["token_id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        users,
        [
            "alice/tid-alice",
            "alice/tid-alice",
            "bob/tid-bob",
            "bob/tid-bob",
            "auth_refused/"
        ]
    );
}

/// The binary refuses to start team mode without a server.yaml, without
/// authentication, or in plain text on a network address.
#[tokio::test]
async fn the_binary_refuses_unsafe_starts() {
    let fx = Fixture::new("http_refusals", "").await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
            .env("SQLWARDEN_CONFIG_DIR", fx.dir.path())
            .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
            .args(args)
            .output()
            .unwrap();
        if args[0] == "serve" {
            assert!(output.stdout.is_empty(), "stdout must stay clean");
        }
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), text)
    };
    let (code, stderr) = run(&["serve", "--http", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("server.yaml") && stderr.contains("hint:"),
        "{stderr}"
    );

    let server = fx.dir.path().join(http::SERVER_FILE);
    std::fs::write(&server, "listen: 127.0.0.1:0\n").unwrap();
    let (code, stderr) = run(&["serve", "--http"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("needs authentication"), "{stderr}");
    let (_, check) = run(&["check"]);
    assert!(check.contains("no `auth:` section"), "{check}");

    std::fs::write(&server, "auth: {}\n").unwrap();
    let (code, stderr) = run(&["serve", "--http", "0.0.0.0:0"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("plain HTTP on the non-loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure-no-tls"), "{stderr}");

    std::fs::write(&server, "auth: {}\nlimts: {}\n").unwrap();
    let (code, stderr) = run(&["serve", "--http"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.yaml:2"), "{stderr}");

    // An `auth:` that names no way to authenticate lets nobody in, so
    // the binary does not serve; `check` says so too.
    std::fs::write(&server, "auth: {}\n").unwrap();
    let (code, stderr) = run(&["serve", "--http", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("Authentication could not be set up") && stderr.contains("hint:"),
        "{stderr}"
    );
    let (_, check) = run(&["check"]);
    assert!(check.contains("`auth:`"), "{check}");
}

#[tokio::test]
async fn tls_from_configured_files_serves_and_plain_text_gets_nothing() {
    let fx = Fixture::new("http_tls", "").await;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::create_dir_all(fx.dir.path().join("tls")).unwrap();
    std::fs::write(fx.dir.path().join("tls/server.crt"), certified.cert.pem()).unwrap();
    std::fs::write(
        fx.dir.path().join("tls/server.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let team = Team::on(
        fx,
        "tls: {cert: tls/server.crt, key: tls/server.key}\nauth: {}\n",
    )
    .await;
    let addr = team.addr;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = |connector: tokio_rustls::TlsConnector| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.unwrap()
    };
    let head = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nAuthorization: Bearer {ALICE}"
    );
    let reply = send_on(
        tls(connector.clone()).await,
        &head,
        initialize().to_string().as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let session = reply.header("mcp-session-id").unwrap().to_string();
    let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = send_on(
        tls(connector.clone()).await,
        &format!("{head}\r\nMcp-Session-Id: {session}"),
        ack.to_string().as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 202);
    let query = tool_call(
        3,
        "run_select_sql",
        json!({"source": "demo", "sql": REGIONS}),
    );
    let reply = send_on(
        tls(connector.clone()).await,
        &format!("{head}\r\nMcp-Session-Id: {session}"),
        query.to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        reply.rpc()["result"]["structuredContent"]["data"]["rows"],
        json!([["EAST"]])
    );

    // Plain HTTP to the TLS port: no HTTP answer, and the server goes on.
    let plain = send(addr, "GET /healthz HTTP/1.1", b"").await;
    assert_eq!(plain.status, 0, "{plain:?}");
    let health = send_on(tls(connector).await, "GET /healthz HTTP/1.1", b"").await;
    assert_eq!(health.status, 200);
    team.shut_down().await;
}

#[tokio::test]
async fn stateless_mode_serves_the_python_sdk_without_sessions() {
    let team = Team::start("http_stateless", "sessions: stateless\nauth: {}\n").await;
    // A legacy initialize gets no session id: every request stands alone.
    let reply = post(team.addr, Some(ALICE), None, "", &initialize()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.header("mcp-session-id").is_none(), "{reply:?}");
    let mut command = Command::new(repo().join("target/clients/venv/bin/python"));
    command.arg(repo().join("tests/clients/python_http_client.py"));
    let py = client(&team, command, BOB, "the Python SDK").await;
    assert_eq!(py["regions"], json!(["NORTH"]), "{py}");
    let fx = team.shut_down().await;
    let records = fx.audit_records();
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r["user_id"] == "bob" && r["token_id"] == "tid-bob"));
}
