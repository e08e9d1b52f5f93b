use super::*;
use crate::audit::read::tests::at;

#[test]
fn one_line_is_one_line() {
    let mut r = at("2026-01-09T10:00:00.123456Z");
    r.row_count = Some(3);
    r.truncated = Some(true);
    r.result_bytes = Some(120);
    r.latency_ms = 4.25;
    assert_eq!(
        one_line(&r),
        "2026-01-09 10:00:00  ok      run_select_sql  source=crm  rows=3+  bytes=120  4.2ms  | SELECT id FROM orders"
    );
}

#[test]
fn agent_text_cannot_drive_the_terminal_or_break_the_line() {
    let mut r = at("2026-01-09T10:00:00Z");
    r.tool_name = "run_select_sql\n2026-01-09 10:00:01  ok".into();
    r.source = Some("crm\u{1b}[2K".into());
    r.request_params = serde_json::json!({
        "sql": "SELECT 1\u{1b}[1G\u{1b}[2K2026-01-09 10:00:00  ok      run_select_sql  | SELECT 1\u{9b}2K"
    });
    let line = one_line(&r);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    assert!(line.contains("\\u001b[1G\\u001b[2K"), "{line}");
    assert!(line.contains("run_select_sql\\u000a2026"), "{line}");
    assert!(line.contains("source=crm\\u001b[2K"), "{line}");
}
