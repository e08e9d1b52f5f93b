//! One readable line per audit record, as `sqlwarden audit tail` and
//! `search` print it.

use crate::audit::{AuditRecord, Outcome};
use crate::cli::printer::escape_line;

/// One readable line for a record: time, outcome, tool, source, code,
/// rows, bytes, latency, then the SQL as sent (or the refusal). Every
/// field an agent chose is escaped (`escape_line`): the line is always
/// one line and holds no terminal control.
pub(crate) fn one_line(record: &AuditRecord) -> String {
    let outcome = match record.outcome {
        Outcome::Ok => "ok",
        Outcome::Denied => "DENIED",
        Outcome::Error => "ERROR",
    };
    let mut parts = vec![
        escape_line(&record.timestamp.chars().take(19).collect::<String>()).replace('T', " "),
        format!("{outcome:<6}"),
        escape_line(&record.tool_name).into_owned(),
    ];
    if let Some(source) = &record.source {
        parts.push(format!("source={}", escape_line(source)));
    }
    if let Some(code) = record.error_code {
        parts.push(code.as_str().to_owned());
    }
    if let Some(rows) = record.row_count {
        let cut = if record.truncated == Some(true) {
            "+"
        } else {
            ""
        };
        parts.push(format!("rows={rows}{cut}"));
    }
    if let Some(bytes) = record.result_bytes {
        parts.push(format!("bytes={bytes}"));
    }
    parts.push(format!("{:.1}ms", record.latency_ms));
    let sql = record.request_params.get("sql").and_then(|v| v.as_str());
    let tail = match (&record.deny_reason, sql, record.tables_used.is_empty()) {
        (Some(reason), _, _) => Some(reason.clone()),
        (None, Some(sql), _) => Some(sql.to_owned()),
        (None, None, false) => Some(record.tables_used.join(",")),
        (None, None, true) => None,
    };
    if let Some(tail) = tail {
        // One line per record, whatever the SQL held.
        // Whitespace runs fold to one space; any other control character is
        // escaped, so an agent's SQL cannot drive the reader's terminal.
        let flat: String = tail.split_whitespace().collect::<Vec<_>>().join(" ");
        let flat = escape_line(&flat).into_owned();
        let short: String = flat.chars().take(160).collect();
        let more = if flat.chars().count() > 160 {
            "…"
        } else {
            ""
        };
        parts.push(format!("| {short}{more}"));
    }
    parts.join("  ")
}

#[cfg(test)]
mod tests;
