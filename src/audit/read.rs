//! Reading the audit log back: records from the daily files, oldest first,
//! narrowed by a [`Filter`]. Rendering them for a terminal is the CLI's
//! job (`cli::audit::line`).
//!
//! Reading never trusts the files: a line that is not a record (torn,
//! edited into invalid JSON) is counted and skipped, never a crash;
//! `sqlwarden audit verify` is what judges integrity.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::log::day_files;
use super::{AuditError, AuditRecord, Outcome};
use crate::error::ErrorCode;

/// Which records to keep. Every set criterion must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Tool name, exactly.
    pub(crate) tool: Option<String>,
    /// How the call ended.
    pub outcome: Option<Outcome>,
    /// A table in `tables_used` (case-insensitive).
    pub table: Option<String>,
    /// The error code.
    pub code: Option<ErrorCode>,
    /// The `source` argument, exactly.
    pub source: Option<String>,
    /// At or after this instant.
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before this instant.
    pub(crate) until: Option<DateTime<Utc>>,
    /// Text that must occur in the SQL as sent, the rewritten SQL, the
    /// deny reason or the error detail (case-insensitive).
    pub text: Option<String>,
}

impl Filter {
    /// Whether `record` passes.
    pub(crate) fn matches(&self, record: &AuditRecord) -> bool {
        let when = DateTime::parse_from_rfc3339(&record.timestamp)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        self.tool.as_ref().is_none_or(|t| *t == record.tool_name)
            && self.outcome.is_none_or(|o| o == record.outcome)
            && self.code.is_none_or(|c| Some(c) == record.error_code)
            && self
                .source
                .as_ref()
                .is_none_or(|s| Some(s) == record.source.as_ref())
            && self.table.as_ref().is_none_or(|t| {
                record
                    .tables_used
                    .iter()
                    .any(|used| used.eq_ignore_ascii_case(t))
            })
            && self.since.is_none_or(|s| when.is_some_and(|w| w >= s))
            && self.until.is_none_or(|u| when.is_some_and(|w| w < u))
            && self.text.as_ref().is_none_or(|text| {
                let needle = text.to_lowercase();
                let sql = record.request_params.get("sql").and_then(|v| v.as_str());
                [
                    sql,
                    record.rewritten_sql.as_deref(),
                    record.deny_reason.as_deref(),
                    record.error_detail.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|hay| hay.to_lowercase().contains(&needle))
            })
    }

    /// Whether a daily file of `day` can hold matching records.
    pub(crate) fn may_hold(&self, day: NaiveDate) -> bool {
        self.since.is_none_or(|s| day >= s.date_naive())
            && self.until.is_none_or(|u| day <= u.date_naive())
    }
}

/// Parse a time bound: RFC 3339 (`2026-01-09T10:00:00Z`), a date
/// (`2026-01-09`, midnight UTC), or an age before `now` (`30m`, `12h`,
/// `7d`).
pub(crate) fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, NotATime> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let unit = text.chars().last().unwrap_or(' ');
    let amount: Option<i64> = text[..text.len() - unit.len_utf8().min(text.len())]
        .parse()
        .ok();
    let span = match (amount, unit) {
        (Some(n), 'm') => Duration::try_minutes(n),
        (Some(n), 'h') => Duration::try_hours(n),
        (Some(n), 'd') => Duration::try_days(n),
        _ => None,
    };
    span.and_then(|span| now.checked_sub_signed(span))
        .ok_or_else(|| NotATime(text.to_owned()))
}

/// A time bound that is none of the three spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a time: use RFC 3339 (2026-01-09T10:00:00Z), a date (2026-01-09) or an age (30m, 12h, 7d)")]
pub(crate) struct NotATime(pub String);

/// Records read from a directory.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// The matching records, oldest first.
    pub records: Vec<AuditRecord>,
    /// Lines that were not records and were skipped.
    pub unreadable_lines: u64,
    /// The daily files read.
    pub files: Vec<PathBuf>,
}

/// Read every record in `dir` that passes `filter` (a missing directory
/// holds none).
pub fn read(dir: &Path, filter: &Filter) -> Result<Records, AuditError> {
    let mut out = Records::default();
    if !dir.exists() {
        return Ok(out);
    }
    for (day, path) in day_files(dir)? {
        if !filter.may_hold(day) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(AuditError::io(&path))?;
        parse_lines(&text, filter, &mut out);
        out.files.push(path);
    }
    Ok(out)
}

/// Parse whole lines of `text` into `out`; a final piece without a line
/// end is left alone (it may still be being written).
pub(crate) fn parse_lines(text: &str, filter: &Filter, out: &mut Records) {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return,
    };
    for line in complete.split('\n').filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<AuditRecord>(line) {
            Ok(record) if filter.matches(&record) => out.records.push(record),
            Ok(_) => {}
            Err(_) => out.unreadable_lines += 1,
        }
    }
}

/// Reads records appended after it was created, across the daily file
/// roll-over (`sqlwarden audit tail -f`). Call [`Follower::poll`]
/// repeatedly; each call returns the whole new lines since the last.
#[derive(Debug)]
pub(crate) struct Follower {
    dir: PathBuf,
    /// The file being followed and the byte offset read up to.
    current: Option<(NaiveDate, PathBuf, u64)>,
    /// Bytes of a line still being written.
    partial: Vec<u8>,
}

impl Follower {
    /// Start at the end of the newest daily file (records already there
    /// are not returned).
    pub(crate) fn at_end(dir: &Path) -> Result<Self, AuditError> {
        let mut follower = Self {
            dir: dir.to_path_buf(),
            current: None,
            partial: Vec::new(),
        };
        if dir.exists() {
            if let Some((day, path)) = day_files(dir)?.pop() {
                let len = std::fs::metadata(&path)
                    .map_err(AuditError::io(&path))?
                    .len();
                follower.current = Some((day, path, len));
            }
        }
        Ok(follower)
    }

    /// New matching records since the last poll, oldest first.
    pub(crate) fn poll(&mut self, filter: &Filter) -> Result<Records, AuditError> {
        let mut out = Records::default();
        if !self.dir.exists() {
            return Ok(out);
        }
        loop {
            // Look for a newer day before reading to the end, so a record
            // written to the old file meanwhile is still read below.
            let files = day_files(&self.dir)?;
            let next = match &self.current {
                None => files.first().cloned(),
                Some((day, _, _)) => files.iter().find(|(d, _)| d > day).cloned(),
            };
            if let Some((_, path, offset)) = &mut self.current {
                let bytes = read_from(path, *offset)?;
                *offset += bytes.len() as u64;
                self.partial.extend_from_slice(&bytes);
                if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
                    let complete: Vec<u8> = self.partial.drain(..=end).collect();
                    parse_lines(&String::from_utf8_lossy(&complete), filter, &mut out);
                }
            }
            match next {
                Some((day, path)) => {
                    // A torn line at the end of the old day stays torn.
                    self.partial.clear();
                    self.current = Some((day, path, 0));
                }
                None => return Ok(out),
            }
        }
    }
}

/// The bytes of `path` from `offset` to its end (none when the file is
/// gone or shorter).
fn read_from(path: &Path, offset: u64) -> Result<Vec<u8>, AuditError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(AuditError::io(path))?;
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
