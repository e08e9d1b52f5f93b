//! Per-day totals over audit records: calls, refusals by error code,
//! errors, rows and bytes returned (`sqlwarden audit stats`), and apart
//! from the calls, team mode's refused credentials by reason.
//!
//! A refused credential (an `auth_refused` record) is no tool call: nothing
//! ran, and no policy or gate decided anything. Counting it as a denied
//! call would let a flood of bad tokens swamp the real denials, so it is
//! totalled on its own, each record standing for itself and the refusals
//! it reports as `suppressed`.

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
    /// Credentials refused in team mode (not calls: in none of the counts
    /// above), counting the refusals the records report as `suppressed`.
    pub(crate) refused_credentials: u64,
    /// Refused credentials by reason (`expired`, `unknown_token`, …).
    pub(crate) by_auth_failure: BTreeMap<String, u64>,
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
        if let Some(reason) = &record.auth_failure {
            let refusals = 1 + record.suppressed.unwrap_or(0);
            stats.refused_credentials += refusals;
            *stats.by_auth_failure.entry(reason.clone()).or_default() += refusals;
            continue;
        }
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

/// The heading of the refused credentials' column and lines.
const REFUSED_AUTH: &str = "auth_refused";

/// The totals as an aligned text table, then one line per error code and
/// one per reason a credential was refused. The `auth_refused` column is
/// there only when some day has refused credentials, so a log without
/// team mode reads as before.
pub(crate) fn to_text(days: &[DayStats]) -> String {
    let refusals = days.iter().any(|d| d.refused_credentials > 0);
    let mut head = format!(
        "{:<10}  {:>7}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}",
        "day", "calls", "ok", "denied", "errors", "rows", "bytes"
    );
    if refusals {
        head.push_str(&format!("  {REFUSED_AUTH:>12}"));
    }
    let mut out = vec![head];
    for d in days {
        let mut line = format!(
            "{:<10}  {:>7}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}",
            d.day, d.calls, d.ok, d.denied, d.errors, d.rows, d.bytes
        );
        if refusals {
            line.push_str(&format!("  {:>12}", d.refused_credentials));
        }
        out.push(line);
        for (code, n) in &d.by_code {
            out.push(format!("  {code}: {n}"));
        }
        for (reason, n) in &d.by_auth_failure {
            out.push(format!("  {REFUSED_AUTH} {reason}: {n}"));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests;
