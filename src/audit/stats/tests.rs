use super::*;
use crate::error::{ErrorCode, ToolError};

fn record(day: &str, fail: Option<ErrorCode>, rows: u64, bytes: Option<u64>) -> AuditRecord {
    let mut r = AuditRecord::new("run_select_sql", "r", "s", "p");
    r.timestamp = format!("{day}T10:00:00.000000Z");
    r.row_count = Some(rows);
    r.result_bytes = bytes;
    if let Some(code) = fail {
        r.fail(&ToolError::new(code, "m", "h"));
    }
    r
}

#[test]
fn totals_split_by_day_outcome_and_code() {
    let records = [
        record("2026-01-09", None, 10, Some(100)),
        record("2026-01-09", None, 5, None),
        record("2026-01-09", Some(ErrorCode::ColumnNotAllowed), 0, None),
        record("2026-01-09", Some(ErrorCode::ColumnNotAllowed), 0, None),
        record("2026-01-09", Some(ErrorCode::BackendUnavailable), 0, None),
        record("2026-01-10", Some(ErrorCode::JoinNotApproved), 0, None),
    ];
    let days = per_day(&records);
    assert_eq!(days.len(), 2);
    let first = &days[0];
    assert_eq!(
        (
            first.calls,
            first.ok,
            first.denied,
            first.errors,
            first.rows,
            first.bytes
        ),
        (5, 2, 2, 1, 15, 100)
    );
    assert_eq!(first.by_code["COLUMN_NOT_ALLOWED"], 2);
    assert_eq!(first.by_code["BACKEND_UNAVAILABLE"], 1);
    assert_eq!(days[1].by_code["JOIN_NOT_APPROVED"], 1);
    let text = to_text(&days);
    assert!(text.contains("  COLUMN_NOT_ALLOWED: 2"), "{text}");
    assert_eq!(text.lines().count(), 1 + 2 + 3);
}
