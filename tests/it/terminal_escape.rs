//! Terminal injection: an agent's SQL carrying `ESC[1G ESC[2K` and a forged
//! `ok` line, written to the audit log by real calls, is printed escaped by
//! `audit tail`, `search`, `stats` and `verify` in human form, and `query`
//! and `call` print result cells and envelopes escaped too. No output byte
//! is a terminal control (newlines and tabs aside), and `--json` stays
//! valid JSON.
#![allow(clippy::unwrap_used)]

use crate::stdio::Fixture;

/// Erase the line, then a fake record in its place.
const FORGED: &str =
    "\u{1b}[1G\u{1b}[2K2026-01-09 10:00:00  ok      run_select_sql  source=demo  | SELECT 1\u{9b}2K";

fn sqlwarden(fx: &Fixture, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(fx.dir.path())
        .args(args)
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .env_remove("PGPASSWORD")
        .output()
        .unwrap()
}

/// Every control character in `bytes` other than newline and tab.
fn controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect()
}

fn assert_clean(what: &str, out: &std::process::Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = controls(bytes);
        assert!(
            found.is_empty(),
            "{what} {stream} carries {found:?}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[tokio::test]
async fn agent_sql_cannot_forge_lines_in_the_audit_cli_or_query_output() {
    let fx = Fixture::new("term_escape", "").await;
    // A refused call (an unlisted table) and an accepted one whose result
    // cell holds the sequence: both SQL texts land in the audit log.
    let refused = sqlwarden(
        &fx,
        &[
            "call",
            "run_select_sql",
            &serde_json::json!({"source": "demo", "sql": format!("SELECT x FROM secret_{FORGED}")})
                .to_string(),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert_clean("call (refused)", &refused);

    let sql = format!("SELECT order_id, '{FORGED}' AS note FROM public.orders ORDER BY order_id");
    let query = sqlwarden(&fx, &["query", "--source", "demo", "--limit", "2", &sql]);
    assert_eq!(
        query.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&query.stderr)
    );
    assert_clean("query", &query);
    let shown = String::from_utf8_lossy(&query.stdout);
    assert!(shown.contains("\\u001b[2K"), "{shown}");

    let call = sqlwarden(
        &fx,
        &[
            "call",
            "run_select_sql",
            &serde_json::json!({"source": "demo", "sql": sql, "limit": 1}).to_string(),
        ],
    );
    assert_eq!(call.status.code(), Some(0));
    assert_clean("call", &call);

    for args in [
        &["audit", "tail"][..],
        &["audit", "search", "SELECT"],
        &["audit", "stats"],
        &["audit", "verify"],
    ] {
        let out = sqlwarden(&fx, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_clean(&args.join(" "), &out);
    }
    let tail = String::from_utf8_lossy(&sqlwarden(&fx, &["audit", "tail"]).stdout).into_owned();
    assert_eq!(tail.lines().count(), 3, "one line per record:\n{tail}");
    assert!(tail.contains("\\u001b[1G\\u001b[2K2026-01-09"), "{tail}");

    // JSON output stays valid JSON and keeps the text exactly.
    let json = sqlwarden(&fx, &["audit", "tail", "--json"]);
    assert_clean("audit tail --json", &json);
    let sqls: Vec<String> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).unwrap();
            record["request_params"]["sql"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(sqls.iter().any(|s| s.contains(FORGED)), "{sqls:?}");
}
