//! Tests: the audit log on real files: a clean chain across days, every kind
//! of tampering `verify` must name (edited, removed, reordered, torn,
//! invalid JSON), concurrent writers (threads with their own handles, and
//! separate processes), retention, permissions, and a failing append.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use sqlwarden::audit::{self, AuditLog, AuditRecord, BreakKind, PolicyDecision};
use sqlwarden::config::AuditSync;
use sqlwarden::error::{ErrorCode, ToolError};

use crate::support::child;

/// Carries the audit directory to a child writer.
const DIR_VAR: &str = "SQLWARDEN_TEST_AUDIT_DIR";

fn record(i: usize) -> AuditRecord {
    let mut record = AuditRecord::new("run_select_sql", &format!("req-{i}"), "session-1", "abc123");
    record.source = Some("crm".into());
    record.request_params =
        serde_json::json!({"source": "crm", "sql": format!("SELECT id FROM orders -- {i}")});
    record.rewritten_sql = Some("SELECT id FROM public.orders LIMIT 101".into());
    record.tables_used = vec!["public.orders".into()];
    record.columns_used = vec!["id".into()];
    record.policy_decision = PolicyDecision::Allow;
    record.row_count = Some(i as u64);
    record.truncated = Some(false);
    record.latency_ms = 1.25 + i as f64 / 7.0;
    record
}

fn write_records(log: &AuditLog, range: std::ops::Range<usize>) {
    for i in range {
        log.append(&mut record(i)).unwrap();
    }
}

fn today_file(dir: &Path) -> std::path::PathBuf {
    dir.join(format!(
        "audit-{}.jsonl",
        chrono::Utc::now().format("%Y-%m-%d")
    ))
}

/// A log with `n` records in today's file.
fn log_with(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&log, 0..n);
    let file = today_file(dir.path());
    (dir, file)
}

fn rewrite_lines(file: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines);
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
}

fn first_break(dir: &Path) -> (usize, BreakKind) {
    let report = audit::verify(dir).unwrap();
    let brk = report.first_break.expect("the chain should be broken");
    (brk.line, brk.kind)
}

#[test]
fn a_clean_log_across_two_days_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let first = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&first, 0..60);
    drop(first);
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let yesterday_file = dir
        .path()
        .join(format!("audit-{}.jsonl", yesterday.format("%Y-%m-%d")));
    std::fs::rename(today_file(dir.path()), &yesterday_file).unwrap();

    let second = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&second, 60..130);
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 130);
    assert_eq!(
        report.files,
        vec![yesterday_file.clone(), today_file(dir.path())]
    );
    assert!(report.starts_at_genesis);

    // The new day's first record links to the previous day's last.
    let last_of_yesterday: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&yesterday_file)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let first_of_today: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(today_file(dir.path()))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first_of_today["prev_hash"], last_of_yesterday["hash"]);
}

#[test]
fn records_carry_every_design_field_and_files_are_private() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("audit");
    write_records(&AuditLog::open(&dir, 30).unwrap(), 0..1);
    let file = today_file(&dir);
    let line = std::fs::read_to_string(&file).unwrap();
    let value: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "audit_id",
        "request_id",
        "timestamp",
        "session_id",
        "os_user",
        "client_name",
        "client_version",
        "user_id",
        "roles",
        "tool_name",
        "source",
        "outcome",
        "policy_decision",
        "deny_reason",
        "error_code",
        "error_detail",
        "latency_ms",
        "request_params",
        "rewritten_sql",
        "tables_used",
        "columns_used",
        "row_count",
        "truncated",
        "result_bytes",
        "policy_sha256",
        "prev_hash",
        "hash",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(value["request_params"]["sql"], "SELECT id FROM orders -- 0");
    assert_eq!(value["hash"].as_str().unwrap().len(), 64);
    assert_eq!(line.matches('\n').count(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
}

#[test]
fn a_denied_call_is_recorded_as_denied() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    let mut denied = record(0);
    denied.fail(&ToolError::new(
        ErrorCode::ColumnNotAllowed,
        "column `phone` is not allowed",
        "use allowed columns",
    ));
    log.append(&mut denied).unwrap();
    let value: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(today_file(dir.path()))
            .unwrap()
            .trim_end(),
    )
    .unwrap();
    assert_eq!(value["outcome"], "denied");
    assert_eq!(value["policy_decision"], "deny");
    assert_eq!(value["error_code"], "COLUMN_NOT_ALLOWED");
    assert_eq!(value["deny_reason"], "column `phone` is not allowed");
    assert!(audit::verify(dir.path()).unwrap().is_intact());
}

#[test]
fn an_edited_record_is_found() {
    let (dir, file) = log_with(6);
    rewrite_lines(&file, |lines| {
        lines[2] = lines[2].replace("\"row_count\":2", "\"row_count\":2000");
    });
    assert_eq!(first_break(dir.path()), (3, BreakKind::Edited));
}

#[test]
fn a_removed_record_is_found() {
    let (dir, file) = log_with(6);
    rewrite_lines(&file, |lines| {
        lines.remove(2);
    });
    assert_eq!(first_break(dir.path()), (3, BreakKind::Removed));
}

#[test]
fn reordered_records_are_found() {
    let (dir, file) = log_with(6);
    rewrite_lines(&file, |lines| lines.swap(2, 3));
    assert_eq!(first_break(dir.path()), (3, BreakKind::Reordered));
}

#[test]
fn a_torn_last_line_is_found_and_the_next_append_starts_a_fresh_line() {
    let (dir, file) = log_with(4);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &text[..text.len() - 20]).unwrap();
    assert_eq!(first_break(dir.path()), (4, BreakKind::Torn));

    let log = AuditLog::open(dir.path(), 30).unwrap();
    let mut next = record(99);
    log.append(&mut next).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 5);
    let third: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(next.prev_hash, third["hash"].as_str().unwrap());
    let (line, kind) = first_break(dir.path());
    // The torn line is now followed by a record that continues the chain
    // from the record before it: still a torn write, not an edit.
    assert_eq!((line, kind), (4, BreakKind::Torn));
}

#[test]
fn invalid_json_is_found() {
    let (dir, file) = log_with(5);
    rewrite_lines(&file, |lines| lines[1] = "{not json".into());
    let report = audit::verify(dir.path()).unwrap();
    let brk = report.first_break.unwrap();
    assert_eq!(brk.line, 2);
    assert!(matches!(brk.kind, BreakKind::InvalidJson(_)));
    assert_eq!(report.records, 1);
    let shown = brk.to_string();
    assert!(shown.contains(":2: the line is not valid JSON"), "{shown}");
}

#[test]
fn a_removed_day_file_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&log, 0..3);
    drop(log);
    let day = |n: u64| chrono::Utc::now().date_naive() - chrono::Days::new(n);
    let name = |n: u64| {
        dir.path()
            .join(format!("audit-{}.jsonl", day(n).format("%Y-%m-%d")))
    };
    std::fs::rename(today_file(dir.path()), name(2)).unwrap();
    write_records(&AuditLog::open(dir.path(), 30).unwrap(), 3..6);
    std::fs::rename(today_file(dir.path()), name(1)).unwrap();
    write_records(&AuditLog::open(dir.path(), 30).unwrap(), 6..9);
    assert!(audit::verify(dir.path()).unwrap().is_intact());
    std::fs::remove_file(name(1)).unwrap();
    let brk = audit::verify(dir.path()).unwrap().first_break.unwrap();
    assert_eq!(
        (brk.file, brk.line, brk.kind),
        (today_file(dir.path()), 1, BreakKind::Removed)
    );
}

#[test]
fn threads_with_separate_handles_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let log = AuditLog::open(&path, 30).unwrap();
                write_records(&log, t * 1000..t * 1000 + 40);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 160);
}

#[test]
fn processes_sharing_a_directory_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().unwrap().to_string();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let dir_str = dir_str.clone();
            std::thread::spawn(move || {
                child::run_test("audit::writer_child", &[(DIR_VAR, &dir_str)], &[], &[]);
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 200);
}

#[test]
#[ignore = "run by processes_sharing_a_directory_keep_one_chain in child processes"]
fn writer_child() {
    if !child::is_child() {
        return;
    }
    let dir = std::env::var(DIR_VAR).unwrap();
    let log = AuditLog::open(Path::new(&dir), 30).unwrap();
    write_records(&log, 0..100);
}

/// This process keeps the chain's last hash in memory while the file is
/// unchanged; a record another process appends in between changes the
/// file, so the next record here chains to that one, not to the hash kept.
#[test]
fn a_record_another_process_appends_in_between_is_chained_to() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&log, 0..3);
    let dir_str = dir.path().to_str().unwrap();
    let out = child::run_test("audit::one_record_child", &[(DIR_VAR, dir_str)], &[], &[]);
    assert!(out.status.success(), "{out:?}");
    let mut mine = record(10);
    log.append(&mut mine).unwrap();

    let text = std::fs::read_to_string(today_file(dir.path())).unwrap();
    let hashes: Vec<String> = text
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["hash"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(hashes.len(), 5, "{text}");
    assert_eq!(
        mine.prev_hash, hashes[3],
        "not chained to the other process's record"
    );
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 5);
}

#[test]
#[ignore = "run by a_record_another_process_appends_in_between_is_chained_to in a child process"]
fn one_record_child() {
    if !child::is_child() {
        return;
    }
    let dir = std::env::var(DIR_VAR).unwrap();
    let log = AuditLog::open(Path::new(&dir), 30).unwrap();
    write_records(&log, 100..101);
}

#[test]
fn retention_prunes_old_days_only() {
    let dir = tempfile::tempdir().unwrap();
    let day = |n: u64| chrono::Utc::now().date_naive() - chrono::Days::new(n);
    let name = |n: u64| {
        dir.path()
            .join(format!("audit-{}.jsonl", day(n).format("%Y-%m-%d")))
    };
    for n in [0, 6, 7, 30] {
        std::fs::write(name(n), "").unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    AuditLog::open(dir.path(), 7).unwrap();
    assert!(name(0).exists() && name(6).exists());
    assert!(!name(7).exists() && !name(30).exists());
    assert!(dir.path().join("notes.txt").exists());
    AuditLog::open(dir.path(), 0).unwrap();
    assert!(name(6).exists());
}

#[test]
fn an_append_that_cannot_write_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    std::fs::create_dir(today_file(dir.path())).unwrap();
    let err = log.append(&mut record(0)).unwrap_err();
    assert!(err.to_string().contains("audit-"), "{err}");
    assert!(err
        .hint()
        .contains("refuses to run queries it cannot audit"));
}

#[test]
fn a_missing_directory_is_an_empty_intact_log() {
    let dir = tempfile::tempdir().unwrap();
    let report = audit::verify(&dir.path().join("never-created")).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.records, 0);
}

#[test]
fn the_audit_dir_follows_the_environment() {
    child::run_test(
        "audit::default_dir_child",
        &[
            (audit::AUDIT_DIR_ENV, "/tmp/sqlwarden-audit-here"),
            ("HOME", "/home/someone"),
        ],
        &[],
        &[],
    );
    child::run_test(
        "audit::default_dir_child",
        &[("HOME", "/home/someone")],
        &[audit::AUDIT_DIR_ENV, "XDG_DATA_HOME"],
        &[],
    );
}

#[test]
#[ignore = "run by the_audit_dir_follows_the_environment in child processes"]
fn default_dir_child() {
    if !child::is_child() {
        return;
    }
    let dir = audit::default_dir().unwrap();
    match std::env::var_os(audit::AUDIT_DIR_ENV) {
        Some(set) => assert_eq!(dir, Path::new(&set)),
        None if cfg!(target_os = "linux") => {
            assert_eq!(dir, Path::new("/home/someone/.local/share/sqlwarden/audit"));
        }
        None => {}
    }
}

#[test]
fn a_moved_day_file_is_not_written_through_a_stale_handle() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&log, 0..3);
    let moved = dir.path().join("moved-aside.jsonl");
    std::fs::rename(today_file(dir.path()), &moved).unwrap();
    write_records(&log, 3..5);
    assert_eq!(std::fs::read_to_string(&moved).unwrap().lines().count(), 3);
    assert_eq!(
        std::fs::read_to_string(today_file(dir.path()))
            .unwrap()
            .lines()
            .count(),
        2
    );
    // The new file chains to the moved records, so the log no longer
    // verifies as complete from its first record.
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact());
    assert!(!report.starts_at_genesis);
}

#[test]
fn records_cut_from_under_a_running_writer_stay_visible() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 30).unwrap();
    write_records(&log, 0..4);
    rewrite_lines(&today_file(dir.path()), |lines| lines.truncate(2));
    write_records(&log, 4..5);
    assert_eq!(first_break(dir.path()), (3, BreakKind::Removed));
}

#[test]
fn both_sync_modes_have_every_record_on_file_when_append_returns() {
    for sync in [AuditSync::Background, AuditSync::EveryRecord] {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open_with_sync(dir.path(), 30, sync).unwrap();
        for i in 0..20 {
            log.append(&mut record(i)).unwrap();
            // Readable by another handle before the background flush ran.
            let text = std::fs::read_to_string(today_file(dir.path())).unwrap();
            assert_eq!(text.lines().count(), i + 1, "{sync:?}");
        }
        drop(log);
        let report = audit::verify(dir.path()).unwrap();
        assert!(report.first_break.is_none(), "{sync:?}: {report:?}");
        assert_eq!(report.records, 20, "{sync:?}");
    }
}

/// The account comes from the OS user database, so a record names who ran
/// sqlwarden even when the client launches it with no `USER` at all.
#[test]
fn os_user_is_named_without_the_environment() {
    child::run_test(
        "audit::os_user_child",
        &[],
        &["USER", "LOGNAME", "USERNAME"],
        &[],
    );
}

#[test]
#[ignore = "run by os_user_is_named_without_the_environment in a child process"]
fn os_user_child() {
    if !child::is_child() {
        return;
    }
    assert!(std::env::var_os("USER").is_none());
    let name = audit::os_user().expect("an account name");
    assert!(!name.is_empty());
    let record = AuditRecord::new("list_sources", "r", "s", "h");
    assert_eq!(record.os_user.as_deref(), Some(name.as_str()));
}

/// The built binary with `fx`'s config and audit directory.
fn sqlwarden(fx: &crate::stdio::Fixture, args: &[&str]) -> std::process::Output {
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

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ORDERS_SQL: &str = "SELECT region_code, count(order_id) AS orders FROM public.orders GROUP BY region_code ORDER BY region_code";

/// Three real calls: a query that returns rows, a refused column, a bad
/// argument.
fn three_calls(fx: &crate::stdio::Fixture) {
    let ok = sqlwarden(fx, &["query", "--source", "demo", ORDERS_SQL]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let denied = sqlwarden(
        fx,
        &[
            "query",
            "--source",
            "demo",
            "SELECT phone FROM public.customers",
        ],
    );
    assert_eq!(denied.status.code(), Some(1));
    let bad = sqlwarden(fx, &["call", "run_select_sql", r#"{"source": "demo"}"#]);
    assert_eq!(bad.status.code(), Some(1));
}

#[tokio::test]
async fn tail_search_and_stats_read_records_of_real_calls() {
    let fx = crate::stdio::Fixture::new("audit_cli", "").await;
    three_calls(&fx);

    let tail = sqlwarden(&fx, &["audit", "tail", "-n", "2"]);
    assert_eq!(tail.status.code(), Some(0));
    let lines: Vec<String> = text(&tail).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("DENIED") && lines[0].contains("COLUMN_NOT_ALLOWED"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("ERROR") && lines[1].contains("INVALID_ARGUMENT"),
        "{lines:?}"
    );

    let json = sqlwarden(&fx, &["audit", "tail", "--json"]);
    let records: Vec<serde_json::Value> = text(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["outcome"], "ok");
    assert!(
        records[0]["result_bytes"].as_u64().unwrap() > 0,
        "{}",
        records[0]
    );
    assert!(records[1]["result_bytes"].is_null());

    let by_outcome = sqlwarden(&fx, &["audit", "search", "--outcome", "denied", "--json"]);
    assert_eq!(text(&by_outcome).lines().count(), 1);
    let by_code = sqlwarden(
        &fx,
        &["audit", "search", "--code", "invalid_argument", "--json"],
    );
    assert_eq!(text(&by_code).lines().count(), 1);
    let by_table = sqlwarden(&fx, &["audit", "search", "--table", "public.orders"]);
    assert_eq!(text(&by_table).lines().count(), 1, "{}", text(&by_table));
    let by_text = sqlwarden(&fx, &["audit", "search", "PHONE"]);
    assert_eq!(text(&by_text).lines().count(), 1);
    let by_tool = sqlwarden(&fx, &["audit", "search", "--tool", "list_sources"]);
    assert_eq!(text(&by_tool).lines().count(), 0);
    let future = sqlwarden(&fx, &["audit", "search", "--since", "2999-01-01"]);
    assert_eq!(text(&future).lines().count(), 0);
    let recent = sqlwarden(
        &fx,
        &[
            "audit",
            "search",
            "--since",
            "1h",
            "--until",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!(text(&recent).lines().count(), 3);
    let bad_time = sqlwarden(&fx, &["audit", "search", "--since", "yesterday"]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("hint:"));

    let stats = sqlwarden(&fx, &["audit", "stats", "--json"]);
    let days: Vec<serde_json::Value> = text(&stats)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(days.len(), 1);
    let day = &days[0];
    assert_eq!(
        (
            day["calls"].as_u64(),
            day["ok"].as_u64(),
            day["denied"].as_u64(),
            day["errors"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert_eq!(day["by_code"]["COLUMN_NOT_ALLOWED"], 1);
    assert_eq!(day["by_code"]["INVALID_ARGUMENT"], 1);
    assert_eq!(day["bytes"], records[0]["result_bytes"]);
    assert_eq!(day["rows"], records[0]["row_count"]);
    let readable = text(&sqlwarden(&fx, &["audit", "stats", "--source", "demo"]));
    assert!(readable.starts_with("day "), "{readable}");
    assert!(readable.contains("  COLUMN_NOT_ALLOWED: 1"), "{readable}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_follow_prints_a_record_another_process_appends() {
    let fx = crate::stdio::Fixture::new("audit_follow", "").await;
    three_calls(&fx);
    let mut follower = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .arg("--config-dir")
        .arg(fx.dir.path())
        .args([
            "audit",
            "tail",
            "-f",
            "-n",
            "0",
            "--json",
            "--outcome",
            "ok",
        ])
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    // Give the follower time to position itself at the end of the file.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let fx_ref = &fx;
    tokio::task::block_in_place(|| {
        three_calls(fx_ref);
    });
    let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
        .await
        .expect("the follower printed the new record")
        .unwrap()
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["outcome"], "ok");
    assert_eq!(record["request_params"]["sql"], ORDERS_SQL);
    // Only the one ok record of the second batch, not the filtered ones.
    let more = tokio::time::timeout(std::time::Duration::from_millis(800), lines.next_line()).await;
    assert!(more.is_err(), "{more:?}");
    // Ctrl-C ends it cleanly.
    let pid = follower.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), follower.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn verify_json_and_prune_through_the_cli() {
    let fx = crate::stdio::Fixture::new("audit_verify_cli", "audit:\n  retention_days: 5\n").await;
    three_calls(&fx);
    let verify = sqlwarden(&fx, &["audit", "verify", "--json"]);
    assert_eq!(verify.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_str(&text(&verify)).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["records"], 3);
    assert!(report["first_break"].is_null());

    let file = today_file(&fx.audit_dir());
    rewrite_lines(&file, |lines| lines.swap(1, 2));
    let verify = sqlwarden(&fx, &["audit", "verify", "--json"]);
    assert_eq!(verify.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&text(&verify)).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_break"]["line"], 2);
    assert_eq!(report["first_break"]["kind"], "reordered");

    let day = |n: u64| chrono::Utc::now().date_naive() - chrono::Days::new(n);
    let old = fx.audit_dir().join(sqlwarden::audit::file_name(day(5)));
    let kept = fx.audit_dir().join(sqlwarden::audit::file_name(day(4)));
    std::fs::write(&old, "").unwrap();
    std::fs::write(&kept, "").unwrap();
    let prune = sqlwarden(&fx, &["audit", "prune"]);
    assert_eq!(prune.status.code(), Some(0));
    let said = text(&prune);
    assert!(
        said.contains(&format!("removed {}", old.display())),
        "{said}"
    );
    assert!(
        said.contains("1 file(s) older than 5 day(s) removed"),
        "{said}"
    );
    assert!(!old.exists() && kept.exists() && file.exists());
    let again = text(&sqlwarden(&fx, &["audit", "prune", "--days", "1"]));
    assert!(
        again.contains("1 file(s) older than 1 day(s) removed"),
        "{again}"
    );
    assert!(!kept.exists() && file.exists());
}

#[test]
fn records_without_result_bytes_still_verify_and_read() {
    use sha2::Digest;
    let (dir, file) = log_with(3);
    // Rewrite the log as an older sqlwarden wrote it: no `result_bytes`
    // member at all, each line sealed as the chain seals it (hash over the
    // previous hash, a line feed, and the sorted compact JSON).
    let mut prev = "0".repeat(64);
    let mut lines = Vec::new();
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        let map = value.as_object_mut().unwrap();
        assert!(map.remove("result_bytes").is_some());
        map.remove("hash");
        map.insert("prev_hash".into(), prev.clone().into());
        let mut sorted: Vec<(String, serde_json::Value)> =
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let body = serde_json::to_string(&serde_json::Map::from_iter(sorted)).unwrap();
        let mut hasher = sha2::Sha256::new();
        hasher.update(format!("{prev}\n{body}").as_bytes());
        let hash = hex::encode(hasher.finalize());
        lines.push(format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]));
        prev = hash;
    }
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains("result_bytes"));
    let report = audit::verify(dir.path()).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 3);
    let read = sqlwarden::audit::read::read(dir.path(), &Default::default()).unwrap();
    assert_eq!(read.records.len(), 3);
    assert_eq!(read.unreadable_lines, 0);
    assert!(read.records.iter().all(|r| r.result_bytes.is_none()));
    // The next record, with the field, chains on.
    write_records(&AuditLog::open(dir.path(), 30).unwrap(), 3..4);
    assert!(audit::verify(dir.path()).unwrap().is_intact());
}
