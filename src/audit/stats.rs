//! Per-day totals over audit records: calls, refusals by error code,
//! errors, rows and bytes returned (`sqlwarden audit stats`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AuditRecord, Outcome};

/// Totals of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayStats {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Tool calls.
    pub calls: u64,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls the policy or gate refused.
    pub denied: u64,
    /// Calls that failed otherwise.
    pub errors: u64,
    /// Refused and failed calls by error code.
    pub by_code: BTreeMap<String, u64>,
    /// Rows returned by successful calls.
    pub rows: u64,
    /// Result bytes returned by successful calls (records from before
    /// sqlwarden counted bytes add nothing).
    pub bytes: u64,
}

/// Totals per day, oldest first, over `records`.
pub fn per_day<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Vec<DayStats> {
    let mut days: BTreeMap<String, DayStats> = BTreeMap::new();
    for record in records {
        let day: String = record.timestamp.chars().take(10).collect();
        let stats = days.entry(day.clone()).or_insert_with(|| DayStats {
            day,
            ..DayStats::default()
        });
        stats.calls += 1;
        match record.outcome {
            Outcome::Ok => {
                stats.ok += 1;
                stats.rows += record.row_count.unwrap_or(0);
                stats.bytes += record.result_bytes.unwrap_or(0);
            }
            Outcome::Denied => stats.denied += 1,
            Outcome::Error => stats.errors += 1,
        }
        if let Some(code) = record.error_code {
            *stats.by_code.entry(code.as_str().to_owned()).or_default() += 1;
        }
    }
    days.into_values().collect()
}

/// The totals as an aligned text table, then one line per error code.
pub fn to_text(days: &[DayStats]) -> String {
    let mut out = vec![format!(
        "{:<10}  {:>7}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}",
        "day", "calls", "ok", "denied", "errors", "rows", "bytes"
    )];
    for d in days {
        out.push(format!(
            "{:<10}  {:>7}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}",
            d.day, d.calls, d.ok, d.denied, d.errors, d.rows, d.bytes
        ));
        for (code, n) in &d.by_code {
            out.push(format!("  {code}: {n}"));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
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
}
