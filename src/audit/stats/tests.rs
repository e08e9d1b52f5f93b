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

/// An `auth_refused` record as team mode writes it: standing for itself
/// and `suppressed` more refusals.
fn refused(day: &str, reason: &str, suppressed: u64) -> AuditRecord {
    let mut r = AuditRecord::new("auth_refused", "", "", "p");
    r.timestamp = format!("{day}T11:00:00.000000Z");
    r.outcome = Outcome::Denied;
    r.deny_reason = Some(format!("bearer token refused ({reason})"));
    r.auth_failure = Some(reason.into());
    r.suppressed = Some(suppressed);
    r
}

#[test]
fn refused_credentials_are_totalled_apart_from_calls() {
    let records = [
        record("2026-01-09", None, 3, Some(30)),
        record("2026-01-09", Some(ErrorCode::ColumnNotAllowed), 0, None),
        refused("2026-01-09", "expired", 0),
        refused("2026-01-09", "unknown_token", 0),
        refused("2026-01-09", "unknown_token", 41),
        refused("2026-01-10", "revoked", 2),
    ];
    let days = per_day(&records);
    assert_eq!(days.len(), 2);
    let first = &days[0];
    assert_eq!(
        (first.calls, first.ok, first.denied, first.errors),
        (2, 1, 1, 0),
        "a refused credential is no call and no denial"
    );
    assert_eq!(first.by_code.len(), 1);
    assert_eq!(first.refused_credentials, 44);
    assert_eq!(first.by_auth_failure["expired"], 1);
    assert_eq!(first.by_auth_failure["unknown_token"], 43);
    let second = &days[1];
    assert_eq!((second.calls, second.denied), (0, 0));
    assert_eq!(second.refused_credentials, 3);
    let text = to_text(&days);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("bytes  auth_refused"), "{text}");
    assert!(lines[1].ends_with("          44"), "{text}");
    assert!(
        text.contains("\n  auth_refused unknown_token: 43"),
        "{text}"
    );
    assert!(text.contains("\n  auth_refused revoked: 3"), "{text}");
    assert_eq!(lines.len(), 1 + 2 + 1 + 2 + 1);
    // Without refused credentials, the table has no such column.
    assert!(!to_text(&per_day(&records[..2])).contains("auth_refused"));
}
