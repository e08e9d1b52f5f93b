//! The real binary's memory stays bounded under abuse: thousands of
//! oversized bodies and request heads, slow-header connections up to the
//! connection cap, a flood of sessions up to the session caps and
//! thousands of bad tokens, after which a valid client is still served.
//! The bound is on the peak resident memory (`VmHWM`) over the whole run,
//! relative to the resident memory of the warmed-up server: a resource
//! bound, not a timing.

use futures_util::stream::{self, StreamExt};

use super::binary::{issuer_keys, serve, sqlwarden, stop, Served};
use super::*;

/// How much the peak may exceed the warm server's resident memory.
const BOUND_MIB: u64 = 64;

/// Requests of each kind thrown at the server.
const FLOOD: usize = 2000;

/// Requests in flight at once.
const CONCURRENCY: usize = 32;

const MAX_BODY: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 256;
const MAX_SESSIONS: usize = 120;
const PER_IDENTITY: usize = 40;

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Write `head` and `body` (ignoring a server that stops reading), then
/// read what comes back; status 0 when the connection was cut first.
async fn throw(addr: SocketAddr, head: String, body: Vec<u8>) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return 0;
    };
    let request = format!(
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_ok() {
        let _ = stream.write_all(&body).await;
    }
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw)).await;
    parse(&raw).status
}

/// Throw `FLOOD` requests made by `make`, `CONCURRENCY` at a time; the
/// statuses, counted.
async fn flood(
    addr: SocketAddr,
    make: impl Fn(usize) -> (String, Vec<u8>),
) -> std::collections::BTreeMap<u16, usize> {
    let statuses: Vec<u16> = stream::iter((0..FLOOD).map(|i| {
        let (head, body) = make(i);
        throw(addr, head, body)
    }))
    .buffer_unordered(CONCURRENCY)
    .collect()
    .await;
    let mut counted = std::collections::BTreeMap::new();
    for status in statuses {
        *counted.entry(status).or_insert(0) += 1;
    }
    counted
}

const MCP_HEAD: &str = "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18";

#[tokio::test]
async fn abuse_leaves_the_binarys_memory_bounded_and_it_keeps_serving() {
    let fx = Fixture::new("http_memory", "").await;
    let dir = fx.dir.path().to_path_buf();
    issuer_keys(&dir);
    std::fs::write(
        dir.join(http::SERVER_FILE),
        format!(
            "auth:\n  static_tokens: {{}}\n  oauth:\n    issuer: https://issuer.sqlwarden.test\n    audience: https://sqlwarden.test/mcp\n    jwks_file: issuer-keys.json\nlimits:\n  max_body_bytes: {MAX_BODY}\n  header_timeout_seconds: 2\n  max_connections: {MAX_CONNECTIONS}\n  max_sessions: {MAX_SESSIONS}\n  max_sessions_per_identity: {PER_IDENTITY}\n"
        ),
    )
    .unwrap();
    let tokens: Vec<String> = ["EAST", "NORTH", "SOUTH", "WEST"]
        .iter()
        .enumerate()
        .map(|(i, region)| {
            let out = sqlwarden(
                &fx,
                &[
                    "token",
                    "create",
                    "--user",
                    &format!("user{i}"),
                    "--roles",
                    "analyst,region_manager",
                    "--attr",
                    &format!("region_codes={region}"),
                ],
            );
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    let alice = tokens[0].clone();
    let Served {
        mut server,
        url,
        addr,
        ..
    } = serve(&fx).await;
    let pid = server.id().unwrap();

    // Warm up: every identity opens a session and queries.
    let mut warm_sessions = Vec::new();
    for token in &tokens {
        let session = open_session(addr, token).await;
        for _ in 0..5 {
            regions(addr, token, &session).await;
        }
        warm_sessions.push(session);
    }
    let (warm_rss, warm_hwm) = memory(pid);

    // Oversized bodies, each from an authenticated caller: 413.
    let bodies = flood(addr, |_| {
        (
            format!("{MCP_HEAD}\r\nAuthorization: Bearer {alice}"),
            vec![b' '; MAX_BODY + MAX_BODY / 2],
        )
    })
    .await;
    assert!(
        bodies.keys().all(|s| *s == 413 || *s == 0) && bodies.contains_key(&413),
        "{bodies:?}"
    );
    // Oversized request heads: 431.
    let heads = flood(addr, |i| {
        (
            format!("GET /healthz HTTP/1.1\r\nX-Big-{i}: {}", "a".repeat(20_000)),
            Vec::new(),
        )
    })
    .await;
    assert_eq!(heads.keys().collect::<Vec<_>>(), [&431], "{heads:?}");
    // Bad tokens, every one different: unknown static tokens and forged
    // JWTs (with unknown key ids, too): 401.
    let forged = flood(addr, |i| {
        let token = if i % 2 == 0 {
            format!("sqlw_{}", uuid::Uuid::new_v4().simple())
        } else {
            let jwt_header = json!({"alg": "RS256", "kid": format!("k{i}")});
            use base64::Engine as _;
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.c2ln", b64(&jwt_header), b64(&json!({"sub": i})))
        };
        (
            format!("{MCP_HEAD}\r\nAuthorization: Bearer {token}"),
            initialize().to_string().into_bytes(),
        )
    })
    .await;
    assert_eq!(forged.keys().collect::<Vec<_>>(), [&401], "{forged:?}");

    // Slow headers on every connection the server allows: each is cut
    // after the header timeout, and the server is at its cap meanwhile.
    let slow: Vec<TcpStream> = stream::iter(0..MAX_CONNECTIONS)
        .then(|_| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await
                .unwrap();
            stream
        })
        .collect()
        .await;
    let (held_rss, _) = memory(pid);
    let cut = stream::iter(slow)
        .map(|mut stream| async move {
            let mut rest = Vec::new();
            loop {
                // A byte now and then, as slowloris does, until cut off.
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
                match tokio::time::timeout(
                    Duration::from_millis(500),
                    stream.read_to_end(&mut rest),
                )
                .await
                {
                    Ok(_) => break,
                    Err(_) => continue,
                }
            }
        })
        .buffer_unordered(MAX_CONNECTIONS);
    tokio::time::timeout(Duration::from_secs(120), cut.collect::<Vec<()>>())
        .await
        .expect("slow connections are cut off");

    // A flood of sessions from every identity: the caps hold.
    let hello = initialize();
    let mut opened: Vec<(String, String)> = Vec::new();
    let mut refused = 0;
    for token in &tokens {
        let replies: Vec<Reply> = stream::iter(0..PER_IDENTITY + 5)
            .map(|_| post(addr, Some(token), None, "", &hello))
            .buffer_unordered(8)
            .collect()
            .await;
        for reply in replies {
            match reply.status {
                200 => opened.push((
                    token.clone(),
                    reply.header("mcp-session-id").unwrap().to_string(),
                )),
                503 => {
                    assert_eq!(reply.error_code(), "TOO_MANY_SESSIONS");
                    refused += 1;
                }
                other => panic!("{other}: {reply:?}"),
            }
        }
    }
    assert_eq!(
        opened.len(),
        MAX_SESSIONS - warm_sessions.len(),
        "{refused} refused"
    );

    // Still serving: the warm sessions query, and once one flood session
    // is closed the official Python SDK gets in.
    assert_eq!(regions(addr, &alice, &warm_sessions[0]).await, ["EAST"]);
    let (token, session) = &opened[0];
    let closed = send(
        addr,
        &format!(
            "DELETE /mcp HTTP/1.1\r\nAuthorization: Bearer {token}\r\nMcp-Session-Id: {session}"
        ),
        b"",
    )
    .await;
    assert!(closed.status < 300, "{closed:?}");
    // The closed session's place is given back once rmcp has ended it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut sdk = Command::new(crate::support::clients::python());
    sdk.arg(repo().join("tests/clients/python_http_client.py"))
        .env("SQLWARDEN_URL", &url)
        .env("SQLWARDEN_TOKEN", token);
    let output = sdk.output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert!(
        report["regions"].as_array().is_some_and(|r| r.len() == 1),
        "{report}"
    );

    let (rss, hwm) = memory(pid);
    eprintln!(
        "team-mode memory (KiB): warm RSS {warm_rss}, warm HWM {warm_hwm}, RSS with {MAX_CONNECTIONS} slow connections {held_rss}, final RSS {rss}, peak (HWM) {hwm}; peak - warm RSS = {} KiB",
        hwm.saturating_sub(warm_rss)
    );
    assert!(
        hwm <= warm_rss + BOUND_MIB * 1024,
        "peak {hwm} KiB is more than {BOUND_MIB} MiB above the warm {warm_rss} KiB"
    );
    stop(&mut server).await;

    // The bad tokens left a bounded number of audit records that still
    // account for every one of them, and no token.
    let records = fx.audit_records();
    let refusals: Vec<&Value> = records
        .iter()
        .filter(|r| r["tool_name"] == "auth_refused")
        .collect();
    let stood_for: u64 = refusals
        .iter()
        .map(|r| 1 + r["suppressed"].as_u64().unwrap())
        .sum();
    assert_eq!(stood_for, FLOOD as u64);
    assert!(refusals.len() < FLOOD / 20, "{} records", refusals.len());
    let text = records.iter().map(Value::to_string).collect::<String>();
    assert!(!text.contains("sqlw_") && !text.contains(".c2ln"));
    assert!(sqlwarden::audit::verify(&fx.audit_dir())
        .unwrap()
        .first_break
        .is_none());
}
