//! Protocol abuse over a raw stdio pipe: malformed JSON, binary garbage, a
//! line of tens of megabytes, unknown methods, requests before
//! `initialize`, notifications that carry ids, duplicate ids, thousands of
//! pipelined requests, and stdin closed mid-request or at odd moments.
//!
//! Every test holds the same line: nothing panics (stderr never says
//! "panicked"), every stdout line is a JSON-RPC 2.0 message, every request
//! is answered (the exceptions are named where they occur), and the
//! process exits 0 when stdin closes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::task::JoinHandle;

use crate::stdio::Fixture;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"abuse-test","version":"0.0.1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The server on raw pipes, with every stdout line parsed as it arrives.
pub(crate) struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    seen: Arc<Mutex<Vec<Value>>>,
    reader: JoinHandle<()>,
    stderr: JoinHandle<String>,
}

impl Raw {
    pub(crate) fn spawn(fx: &Fixture) -> Raw {
        Raw::start(fx.command())
    }

    /// The server from `command` (the binary, or a wrapper that execs it).
    pub(crate) fn start(mut command: tokio::process::Command) -> Raw {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sqlwarden");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let reader = tokio::spawn(async move {
            while let Some(line) = lines.next_line().await.expect("stdout is UTF-8 text") {
                let message: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:.200}"));
                assert_eq!(message["jsonrpc"], "2.0", "not JSON-RPC 2.0: {line:.200}");
                assert!(
                    message.get("result").is_some()
                        || message.get("error").is_some()
                        || message.get("method").is_some(),
                    "neither a response nor a request/notification: {line:.200}"
                );
                sink.lock().unwrap().push(message);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text).await;
            text
        });
        Raw {
            child,
            stdin,
            seen,
            reader,
            stderr,
        }
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).await.unwrap();
        stdin.flush().await.unwrap();
    }

    pub(crate) async fn line(&mut self, text: &str) {
        self.send(format!("{text}\n").as_bytes()).await;
    }

    pub(crate) async fn handshake(&mut self) {
        self.line(INITIALIZE).await;
        self.wait_for(&[json!("init")]).await;
        self.line(INITIALIZED).await;
    }

    /// Responses seen so far, by id (as JSON text), counting duplicates.
    pub(crate) fn responses(&self) -> BTreeMap<String, Vec<Value>> {
        let mut by_id: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for message in self.seen.lock().unwrap().iter() {
            if message.get("method").is_none() {
                by_id
                    .entry(message["id"].to_string())
                    .or_default()
                    .push(message.clone());
            }
        }
        by_id
    }

    /// Wait until every id in `ids` has a response.
    pub(crate) async fn wait_for(&self, ids: &[Value]) {
        let wanted: Vec<String> = ids.iter().map(Value::to_string).collect();
        let done = tokio::time::timeout(Duration::from_secs(300), async {
            loop {
                let responses = self.responses();
                if wanted.iter().all(|id| responses.contains_key(id)) {
                    return;
                }
                if self.reader.is_finished() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let responses = self.responses();
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|id| !responses.contains_key(*id))
            .collect();
        assert!(
            done.is_ok() && missing.is_empty(),
            "no response for {} ids, the first {:?}",
            missing.len(),
            &missing[..missing.len().min(20)]
        );
    }

    pub(crate) fn response(&self, id: Value) -> Value {
        self.responses()
            .remove(&id.to_string())
            .and_then(|mut all| all.pop())
            .unwrap_or_else(|| panic!("no response for id {id}"))
    }

    /// Close stdin and require a clean exit, pure stdout and no panic;
    /// returns stderr.
    pub(crate) async fn finish(mut self) -> String {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the server exits after stdin closes")
            .unwrap();
        self.reader.await.expect("every stdout line is JSON-RPC");
        let stderr = self.stderr.await.unwrap();
        assert!(
            !stderr.contains("panicked"),
            "the server panicked:\n{stderr}"
        );
        assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
        stderr
    }

    /// SIGKILL the server and reap it.
    pub(crate) async fn kill(mut self) {
        self.child.kill().await.unwrap();
        drop(self.stdin.take());
        let _ = self.reader.await;
    }

    /// Call `tool` with `arguments` as request `id` and return the
    /// structured content of its answer.
    pub(crate) async fn call_tool(&mut self, id: i64, tool: &str, arguments: Value) -> Value {
        self.line(&call(id, tool, arguments)).await;
        self.wait_for(&[json!(id)]).await;
        let envelope = self.response(json!(id))["result"]["structuredContent"].clone();
        crate::support::output::assert_valid(tool, &envelope).await;
        envelope
    }

    /// Peak resident memory of the server (VmHWM), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

pub(crate) fn call(id: i64, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
    .to_string()
}

#[tokio::test]
async fn malformed_binary_and_unknown_input_is_answered_or_dropped_never_fatal() {
    let fx = Fixture::new("abuse_malformed", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    // Not JSON, not UTF-8, not an object, not JSON-RPC: dropped by the
    // transport (a message without a usable id cannot be answered).
    raw.line("{this is not json").await;
    raw.send(&[0xff, 0xfe, 0x00, 0x9f, 0x92, 0x96, 0xc3, 0x28, b'\n'])
        .await;
    raw.send(&(0u8..=255).filter(|b| *b != b'\n').collect::<Vec<u8>>())
        .await;
    raw.send(b"\n\n\r\n").await;
    for junk in [
        "[]",
        "null",
        "42",
        "\"text\"",
        "{}",
        r#"{"jsonrpc":"1.0","id":9}"#,
    ] {
        raw.line(junk).await;
    }
    raw.line(r#"{"jsonrpc":"2.0","id":10}"#).await;
    // Unknown methods are answered with a JSON-RPC error.
    raw.line(r#"{"jsonrpc":"2.0","id":2,"method":"no/such/method"}"#)
        .await;
    raw.line(r#"{"jsonrpc":"2.0","id":3,"method":"tools/nope","params":{}}"#)
        .await;
    // A notification method sent with an id is a request for an unknown
    // method, answered as such.
    raw.line(r#"{"jsonrpc":"2.0","id":4,"method":"notifications/initialized"}"#)
        .await;
    // Wrong parameter shapes on a known method: params that are not an
    // object are an invalid request (answered by the intake), a wrong type
    // inside the object is answered with an error.
    raw.line(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":"list_sources"}"#)
        .await;
    raw.line(r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":42}}"#)
        .await;
    // A second initialize after the handshake.
    raw.line(&INITIALIZE.replace("\"init\"", "7")).await;
    // Duplicate ids.
    raw.line(&call(8, "list_sources", json!({}))).await;
    raw.line(&call(8, "list_allowed_tables", json!({"source": "demo"})))
        .await;
    // And the server still works.
    raw.line(&call(11, "list_sources", json!({}))).await;
    raw.wait_for(&[2, 3, 4, 5, 6, 7, 8, 11].map(|i| json!(i)))
        .await;

    for id in [2, 3, 4, 5, 6] {
        let response = raw.response(json!(id));
        assert!(
            response["error"]["code"].is_i64(),
            "id {id} should be a JSON-RPC error: {response:#}"
        );
    }
    let again = raw.response(json!(7));
    assert!(again.get("error").is_some() || again.get("result").is_some());
    // Two requests with one id: rmcp keys in-flight requests by id, so the
    // client gets one answer (a client that reuses ids cannot tell the
    // answers apart anyway); never more than one per request.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let duplicates = raw.responses()[&json!(8).to_string()].len();
    assert!((1..=2).contains(&duplicates), "{duplicates} answers");
    assert_eq!(
        raw.response(json!(11))["result"]["structuredContent"]["ok"],
        true
    );
    // Nothing was answered that was not asked (ids 9 and 10 had no method).
    for id in [9, 10] {
        assert!(!raw.responses().contains_key(&json!(id).to_string()));
    }
    raw.finish().await;
}

#[tokio::test]
async fn requests_before_initialize_do_not_crash_the_server() {
    let fx = Fixture::new("abuse_preinit", "").await;
    // A tools/call before initialize: the server may refuse the session,
    // but it must not panic, must keep stdout pure and must exit 0.
    let mut raw = Raw::spawn(&fx);
    raw.line(&call(1, "list_sources", json!({}))).await;
    raw.line(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .await;
    raw.line(INITIALIZE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stderr = raw.finish().await;
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Garbage before initialize, then a proper handshake: served.
    let mut raw = Raw::spawn(&fx);
    raw.line("{garbage").await;
    raw.send(&[0xc3, 0x28, b'\n']).await;
    raw.handshake().await;
    raw.line(&call(3, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(3)]).await;
    assert_eq!(
        raw.response(json!(3))["result"]["structuredContent"]["ok"],
        true
    );
    raw.finish().await;
}

/// rmcp ends the whole session when a notification or a response comes
/// before a session is open; the intake keeps them from it, so a client
/// that sends `notifications/initialized` too early, or after its
/// `initialize` failed, still gets its server.
#[tokio::test]
async fn notifications_and_responses_before_initialize_do_not_end_the_session() {
    let fx = Fixture::new("abuse_prenotify", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.line(INITIALIZED).await;
    raw.line(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#)
        .await;
    raw.line(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#).await;
    // An `initialize` whose params do not read (rmcp answers it as an
    // error and keeps waiting), and the notification a client sends next.
    raw.line(
        r#"{"jsonrpc":"2.0","id":"bad","method":"initialize","params":{"protocolVersion":5}}"#,
    )
    .await;
    raw.line(INITIALIZED).await;
    raw.handshake().await;
    raw.line(&call(4, "list_sources", json!({}))).await;
    raw.wait_for(&[json!("bad"), json!(4)]).await;
    assert!(raw.response(json!("bad")).get("error").is_some());
    assert_eq!(
        raw.response(json!(4))["result"]["structuredContent"]["ok"],
        true
    );
    let stderr = raw.finish().await;
    assert!(stderr.contains("before `initialize` dropped"), "{stderr}");
}

/// The gate's time grows with the SQL's length, and over stdio the runtime
/// has one worker thread: a query of megabytes is gated with that thread
/// handed to the other requests, so a ping sent after it is answered
/// first, not seconds later.
#[tokio::test]
async fn a_long_query_does_not_hold_up_the_requests_after_it() {
    let fx = Fixture::new("abuse_longsql", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    // The table's facts first, so the long call's gate runs through
    // without waiting on the database between its steps (where a ping
    // would slip in anyway).
    raw.line(&call(
        9,
        "run_select_sql",
        json!({"source": "demo", "sql": "SELECT customer_id FROM public.customers"}),
    ))
    .await;
    raw.wait_for(&[json!(9)]).await;
    // An IN list of 400,000 values (2.7 MB), refused only at its end, by a
    // denied column: seconds of gate in a debug build, all of it before
    // the answer.
    let values: Vec<String> = (0..400_000).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT customer_id FROM public.customers WHERE customer_id IN ({}) AND phone = 'x'",
        values.join(",")
    );
    raw.line(&call(
        1,
        "run_select_sql",
        json!({"source": "demo", "sql": sql}),
    ))
    .await;
    // Long enough for the call to be read and its gate under way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    raw.line(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .await;
    raw.wait_for(&[json!(1), json!(2)]).await;
    let order: Vec<Value> = raw
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("id").cloned())
        .filter(|id| id == &json!(1) || id == &json!(2))
        .collect();
    assert_eq!(
        order,
        vec![json!(2), json!(1)],
        "the ping waited for the gate"
    );
    let refused = &raw.response(json!(1))["result"]["structuredContent"];
    assert_eq!(
        refused["error"]["code"], "COLUMN_NOT_ALLOWED",
        "{refused:.300}"
    );
    raw.finish().await;
}

/// A known method whose params do not read is invalid params, with what
/// is wrong; an unknown method is not found, its name cut.
#[tokio::test]
async fn known_methods_with_bad_params_are_invalid_params_not_missing_methods() {
    let fx = Fixture::new("abuse_badparams", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.line(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{}}"#)
        .await;
    raw.line(
        r#"{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"verbose"}}"#,
    )
    .await;
    raw.line(r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{}}"#)
        .await;
    let long = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"x{}"}}"#,
        "y".repeat(100_000)
    );
    raw.line(&long).await;
    raw.line(&call(5, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1), json!(2), json!(3), json!(4), json!(5)])
        .await;
    for (id, mentions) in [(1, "uri"), (2, "verbose"), (3, "name")] {
        let error = &raw.response(json!(id))["error"];
        assert_eq!(error["code"], -32602, "{error}");
        assert!(
            error["message"].as_str().unwrap().contains(mentions),
            "{error}"
        );
    }
    let error = &raw.response(json!(4))["error"];
    assert_eq!(error["code"], -32601, "{error}");
    assert!(error["message"].as_str().unwrap().len() < 1000, "{error}");
    assert_eq!(
        raw.response(json!(5))["result"]["structuredContent"]["ok"],
        true
    );
    raw.finish().await;
}

#[tokio::test]
async fn a_line_of_tens_of_megabytes_is_dropped_with_bounded_memory() {
    let fx = Fixture::new("abuse_huge", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.line(&call(1, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1)]).await;
    let before = raw.peak_rss_kib();

    // 48 MiB of SQL in one valid JSON-RPC line, then an ordinary request.
    const HUGE: usize = 48 * 1024 * 1024;
    let sql = format!("SELECT '{}' FROM public.orders", "x".repeat(HUGE));
    let huge = call(2, "run_select_sql", json!({"source": "demo", "sql": sql}));
    drop(sql);
    raw.line(&huge).await;
    drop(huge);
    raw.line(&call(3, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(2), json!(3)]).await;
    let after = raw.peak_rss_kib();

    // The line is over the transport's 16 MiB cap: it is discarded as it
    // streams in, never buffered whole, and the connection stays usable.
    let growth_mib = after.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 40,
        "peak memory grew by {growth_mib} MiB on a 48 MiB line ({before} -> {after} KiB)"
    );
    assert_eq!(
        raw.response(json!(3))["result"]["structuredContent"]["ok"],
        true
    );
    // The oversized request is answered from the id at its start.
    assert_eq!(raw.response(json!(2))["error"]["code"], -32600);
    raw.finish().await;
}

#[tokio::test]
async fn two_thousand_pipelined_requests_are_all_answered() {
    let fx = Fixture::new("abuse_pipeline", "").await;
    // Two hundred queries, sixteen at a time: on a machine loaded by
    // parallel builds one of them once took longer than the demo's 30 s.
    // This test is about every request being answered, not about
    // timeouts, so queries get room.
    let policy = fx.audit_dir().with_file_name("policy.yaml");
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("query_timeout_seconds: 30\n"), "{text}");
    std::fs::write(
        &policy,
        text.replace(
            "query_timeout_seconds: 30\n",
            "query_timeout_seconds: 300\n",
        ),
    )
    .unwrap();
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    const REQUESTS: i64 = 2_000;
    let mut batch = String::new();
    for id in 1..=REQUESTS {
        // One in ten reaches PostgreSQL; the rest exercise the protocol,
        // the gate and the audit log.
        let line = match id % 10 {
            0 | 5 => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string(),
            1 => call(
                id,
                "run_select_sql",
                json!({"source": "demo", "sql": "SELECT order_id FROM public.orders", "limit": 1}),
            ),
            3 | 8 => call(
                id,
                "run_select_sql",
                json!({"source": "demo", "sql": "SELECT * FROM pg_shadow"}),
            ),
            _ => call(id, "list_sources", json!({})),
        };
        batch.push_str(&line);
        batch.push('\n');
    }
    // One write of every request; the reader task drains stdout meanwhile.
    raw.send(batch.as_bytes()).await;
    let ids: Vec<Value> = (1..=REQUESTS).map(|i| json!(i)).collect();
    raw.wait_for(&ids).await;

    let responses = raw.responses();
    for id in 1..=REQUESTS {
        let answers = &responses[&json!(id).to_string()];
        assert_eq!(answers.len(), 1, "id {id} answered {} times", answers.len());
        let answer = &answers[0];
        match id % 10 {
            0 | 5 => assert!(answer["result"]["tools"].is_array(), "{answer:#}"),
            3 | 8 => assert_eq!(
                answer["result"]["structuredContent"]["error"]["code"],
                "SYSTEM_SCHEMA_NOT_ALLOWED"
            ),
            _ => assert_eq!(
                answer["result"]["structuredContent"]["ok"], true,
                "id {id}: {answer:#}"
            ),
        }
    }
    raw.finish().await;
    // Every tools/call was audited.
    assert_eq!(fx.audit_records().len() as i64, REQUESTS - REQUESTS / 5);
}

#[tokio::test]
async fn stdin_closed_mid_request_or_at_odd_moments_exits_cleanly() {
    let fx = Fixture::new("abuse_eof", "").await;

    // EOF before anything at all.
    Raw::spawn(&fx).finish().await;

    // EOF in the middle of the initialize line.
    let mut raw = Raw::spawn(&fx);
    raw.send(&INITIALIZE.as_bytes()[..40]).await;
    raw.finish().await;

    // EOF right after the handshake.
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.finish().await;

    // EOF in the middle of a request line: the half line is dropped.
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    let half = call(1, "list_sources", json!({}));
    raw.send(&half.as_bytes()[..half.len() / 2]).await;
    raw.finish().await;

    // EOF right after whole requests: the calls already read finish (or
    // are cancelled) and are audited before the process exits.
    let audited_before = fx.audit_records().len();
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    for id in 1..=20 {
        raw.line(&call(
            id,
            "run_select_sql",
            json!({"source": "demo", "sql": "SELECT order_id FROM public.orders"}),
        ))
        .await;
    }
    raw.finish().await;
    let records = fx.audit_records();
    let new: Vec<&Value> = records[audited_before..]
        .iter()
        .filter(|r| r["tool_name"] == "run_select_sql")
        .collect();
    assert!(
        new.len() <= 20,
        "more audit records than calls: {}",
        new.len()
    );
    for record in &new {
        assert!(
            record["outcome"] == "ok" || record["error_code"].is_string(),
            "{record:#}"
        );
    }
}
