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
    assert_eq!(line, 4);
    assert!(matches!(kind, BreakKind::InvalidJson(_)), "{kind:?}");
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
