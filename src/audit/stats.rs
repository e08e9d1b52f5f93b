//! Per-day totals over audit records: calls, refusals by error code,
//! errors, rows and bytes returned (`sqlwarden audit stats`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AuditRecord, Outcome};

/// Totals of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DayStats {
    /// The day, `YYYY-MM-DD`.
    pub(crate) day: String,
    /// Tool calls.
    pub(crate) calls: u64,
    /// Calls that succeeded.
    pub(crate) ok: u64,
    /// Calls the policy or gate refused.
    pub(crate) denied: u64,
    /// Calls that failed otherwise.
    pub(crate) errors: u64,
    /// Refused and failed calls by error code.
    pub(crate) by_code: BTreeMap<String, u64>,
    /// Rows returned by successful calls.
    pub rows: u64,
    /// Result bytes returned by successful calls (records from before
    /// sqlwarden counted bytes add nothing).
    pub bytes: u64,
}

/// Totals per day, oldest first, over `records`.
pub(crate) fn per_day<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Vec<DayStats> {
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
pub(crate) fn to_text(days: &[DayStats]) -> String {
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
mod tests;
