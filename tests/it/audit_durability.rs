//! Audit durability with the real binary: a server killed (SIGKILL) at
//! random points while calls stream in, a full disk (the day's file a
//! symlink to /dev/full, and a `ulimit -f` file-size cap), and an audit
//! directory that stops being a directory.
//!
//! What must hold: `audit verify` explains every break as a torn write
//! (never an edit, a removal or garbage), the next process continues the
//! chain after a torn tail, a call made while the log cannot be written is
//! refused with INTERNAL_ERROR *before* it reaches the database (no
//! backend connection is ever opened), and the server recovers once the
//! log can be written again.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sqlwarden::audit::{verify, BreakKind};

use crate::stdio::Fixture;
use crate::stdio_abuse::{call, Raw};

/// Today's audit file name, as the log names it (UTC).
fn today_file(dir: &Path) -> PathBuf {
    dir.join(format!(
        "audit-{}.jsonl",
        chrono::Utc::now().date_naive().format("%Y-%m-%d")
    ))
}

/// Verify `dir`; every break must be a torn write. Each torn line is cut
/// out of a scratch copy and the rest verified again, so the records after
/// it are proven to chain correctly. Returns the number of torn writes.
fn verify_explained(dir: &Path) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, scratch.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut torn = 0;
    loop {
        let report = verify(scratch.path()).unwrap();
        let Some(broken) = report.first_break else {
            return torn;
        };
        assert_eq!(
            broken.kind,
            BreakKind::Torn,
            "a break that is not a torn write: {broken}"
        );
        torn += 1;
        let text = std::fs::read_to_string(&broken.file).unwrap();
        let kept: Vec<&str> = text
            .split_inclusive('\n')
            .enumerate()
            .filter(|(i, _)| i + 1 != broken.line)
            .map(|(_, l)| l)
            .collect();
        std::fs::write(&broken.file, kept.concat()).unwrap();
    }
}

/// A small deterministic generator; the seed is printed so a failure can be
/// replayed.
struct Random(u64);

impl Random {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[tokio::test]
async fn sigkill_at_random_points_leaves_only_explainable_torn_writes() {
    let fx = Fixture::new("durability_kill", "").await;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut random = Random(seed);
    for run in 0..25 {
        let mut raw = Raw::spawn(&fx);
        raw.handshake().await;
        let mut batch = String::new();
        for id in 1..=200 {
            // Long SQL makes records span several pages, where a kill can
            // land inside one write.
            let padding = "x".repeat(random.next(20_000) as usize);
            let line = match id % 3 {
                0 => call(id, "list_sources", json!({})),
                1 => call(
                    id,
                    "run_select_sql",
                    json!({"source": "demo", "sql": format!("SELECT order_id FROM public.orders WHERE status <> '{padding}'"), "limit": 2}),
                ),
                _ => call(
                    id,
                    "describe_table",
                    json!({"source": "demo", "table": format!("public.{padding}")}),
                ),
            };
            batch.push_str(&line);
            batch.push('\n');
        }
        raw.send(batch.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(random.next(400))).await;
        raw.kill().await;
        verify_explained(&fx.audit_dir());
        if run % 5 == 4 {
            // A crash inside a write: cut the last record in half.
            let file = today_file(&fx.audit_dir());
            let text = std::fs::read_to_string(&file).unwrap();
            let last_start = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
            let cut = last_start + (text.len() - last_start) / 2;
            std::fs::write(&file, &text.as_bytes()[..cut]).unwrap();
            let report = verify(&fx.audit_dir()).unwrap();
            assert_eq!(report.first_break.unwrap().kind, BreakKind::Torn);
        }
    }
    // One more process after all that: its records continue the chain.
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.line(&call(1, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1)]).await;
    raw.finish().await;
    let torn = verify_explained(&fx.audit_dir());
    assert!(torn >= 5, "the cut records are reported as torn ({torn})");
    let last = std::fs::read_to_string(today_file(&fx.audit_dir())).unwrap();
    let last: Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(last["tool_name"], "list_sources");
}

/// Backends the server opened on the fixture database.
async fn server_backends(fx: &Fixture) -> i64 {
    fx.admin()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'sqlwarden'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

fn query_call(id: i64) -> String {
    call(
        id,
        "run_select_sql",
        json!({"source": "demo", "sql": "SELECT order_id FROM public.orders", "limit": 1}),
    )
}

/// The envelope of a refused call: INTERNAL_ERROR, the audit log named.
fn assert_audit_refusal(response: &Value) {
    let envelope = &response["result"]["structuredContent"];
    assert_eq!(envelope["ok"], false, "{response:#}");
    assert_eq!(envelope["error"]["code"], "INTERNAL_ERROR");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not write the audit log"),
        "{envelope:#}"
    );
    let hint = envelope["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("writable") && hint.contains("free space"),
        "{hint}"
    );
    assert_eq!(envelope["data"], Value::Null);
}

#[tokio::test]
async fn a_full_disk_refuses_calls_before_they_run_and_recovers() {
    let fx = Fixture::new("durability_full", "").await;
    let day = today_file(&fx.audit_dir());
    std::os::unix::fs::symlink("/dev/full", &day).unwrap();

    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    // The first append hits ENOSPC: that call fails.
    raw.line(&call(1, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1)]).await;
    assert_audit_refusal(&raw.response(json!(1)));
    // From then on, queries are refused before they reach the database.
    for id in 2..=4 {
        raw.line(&query_call(id)).await;
    }
    raw.wait_for(&[json!(2), json!(3), json!(4)]).await;
    for id in 2..=4 {
        assert_audit_refusal(&raw.response(json!(id)));
    }
    assert_eq!(server_backends(&fx).await, 0, "a query reached PostgreSQL");

    // Space again: the next call's own refusal record goes through and
    // clears the failure; the call after it runs.
    std::fs::remove_file(&day).unwrap();
    raw.line(&query_call(5)).await;
    raw.wait_for(&[json!(5)]).await;
    assert_audit_refusal(&raw.response(json!(5)));
    raw.line(&query_call(6)).await;
    raw.wait_for(&[json!(6)]).await;
    let ok = raw.response(json!(6));
    assert_eq!(ok["result"]["structuredContent"]["ok"], true, "{ok:#}");
    assert_eq!(server_backends(&fx).await, 1);
    raw.finish().await;

    let records = fx.audit_records();
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0]["error_code"], "INTERNAL_ERROR");
    assert!(records[0]["error_detail"]
        .as_str()
        .unwrap()
        .contains("the last append failed"));
    assert_eq!(records[1]["outcome"], "ok");
    assert_eq!(verify_explained(&fx.audit_dir()), 0);
}

#[tokio::test]
async fn a_file_size_cap_tears_a_record_refuses_queries_and_verify_explains_it() {
    let fx = Fixture::new("durability_fsize", "").await;
    // `ulimit -f` counts 512-byte blocks in POSIX sh; SIGXFSZ ignored makes
    // writes past the cap fail with EFBIG, like a disk that filled up.
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 12; exec \"$0\" serve")
        .arg(env!("CARGO_BIN_EXE_sqlwarden"))
        .env("SQLWARDEN_CONFIG_DIR", fx.dir.path())
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .env_remove("PGPASSWORD");
    let mut raw = Raw::start(command);
    raw.handshake().await;
    let mut refused_at = None;
    for id in 1..=40 {
        raw.line(&call(id, "list_sources", json!({}))).await;
        raw.wait_for(&[json!(id)]).await;
        if raw.response(json!(id))["result"]["structuredContent"]["ok"] == false {
            assert_audit_refusal(&raw.response(json!(id)));
            refused_at = Some(id);
            break;
        }
    }
    assert!(refused_at.is_some(), "the 6 KiB cap was never reached");
    raw.line(&query_call(100)).await;
    raw.wait_for(&[json!(100)]).await;
    assert_audit_refusal(&raw.response(json!(100)));
    assert_eq!(server_backends(&fx).await, 0, "a query reached PostgreSQL");
    raw.finish().await;

    // The write that crossed the cap was cut short: a torn tail, explained.
    let torn = verify_explained(&fx.audit_dir());
    assert!(torn <= 1, "{torn}");
    let report = verify(&fx.audit_dir()).unwrap();
    if let Some(broken) = report.first_break {
        assert_eq!(broken.kind, BreakKind::Torn);
    }

    // The next process, without the cap, continues after the torn tail.
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.line(&query_call(1)).await;
    raw.wait_for(&[json!(1)]).await;
    assert_eq!(
        raw.response(json!(1))["result"]["structuredContent"]["ok"],
        true
    );
    raw.finish().await;
    assert_eq!(verify_explained(&fx.audit_dir()), torn);
}

#[tokio::test]
async fn an_audit_directory_that_stops_being_one_refuses_calls_and_recovers() {
    let fx = Fixture::new("durability_dir", "").await;
    let mut raw = Raw::spawn(&fx);
    raw.handshake().await;
    raw.line(&call(1, "list_sources", json!({}))).await;
    raw.wait_for(&[json!(1)]).await;

    // The directory is moved away and a regular file put in its place: no
    // file can be created under it (as root, permissions would not stop us).
    let moved = fx.dir.path().join("audit-moved");
    std::fs::rename(fx.audit_dir(), &moved).unwrap();
    std::fs::write(fx.audit_dir(), "not a directory").unwrap();
    raw.line(&query_call(2)).await;
    raw.wait_for(&[json!(2)]).await;
    assert_audit_refusal(&raw.response(json!(2)));
    assert_eq!(server_backends(&fx).await, 0, "a query reached PostgreSQL");

    // Put the directory back: the next call's refusal record clears the
    // failure, and the call after it is served.
    std::fs::remove_file(fx.audit_dir()).unwrap();
    std::fs::rename(&moved, fx.audit_dir()).unwrap();
    raw.line(&query_call(3)).await;
    raw.wait_for(&[json!(3)]).await;
    assert_audit_refusal(&raw.response(json!(3)));
    raw.line(&query_call(4)).await;
    raw.wait_for(&[json!(4)]).await;
    let answer = raw.response(json!(4));
    assert_eq!(
        answer["result"]["structuredContent"]["ok"], true,
        "{answer:#}"
    );
    raw.finish().await;
    assert_eq!(verify_explained(&fx.audit_dir()), 0);
}

#[tokio::test]
async fn an_audit_directory_under_a_file_fails_at_start_with_a_clear_error() {
    let fx = Fixture::new("durability_start", "").await;
    let file = fx.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let output = fx
        .command()
        .env("SQLWARDEN_AUDIT_DIR", file.join("audit"))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "stdout carries only JSON-RPC");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("Could not open the audit log"), "{stderr}");
}
