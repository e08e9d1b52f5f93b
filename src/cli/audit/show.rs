//! `audit tail`, `audit search` and `audit stats`: matching records as
//! readable lines or JSON lines, and per-day totals.

use std::path::Path;
use std::time::Duration;

use super::line::one_line;
use crate::audit::read::{self, Filter, Follower};
use crate::audit::{stats, AuditError, AuditRecord};

use super::super::{printer, ExitStatus};

/// How often `tail -f` looks for new records.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// `audit tail`: the last `lines` matching records, then (with `follow`)
/// new ones until Ctrl-C.
pub(crate) async fn tail(
    dir: &Path,
    filter: &Filter,
    lines: usize,
    follow: bool,
    json: bool,
) -> ExitStatus {
    // Position the follower before reading, so nothing written in between
    // is missed (a record may then show twice, never not at all).
    let follower = if follow {
        match Follower::at_end(dir) {
            Ok(f) => Some(f),
            Err(e) => return read_failed(dir, &e),
        }
    } else {
        None
    };
    let found = match read::read(dir, filter) {
        Ok(found) => found,
        Err(e) => return read_failed(dir, &e),
    };
    let skip = found.records.len().saturating_sub(lines);
    print_records(&found.records[skip..], json);
    note_unreadable(found.unreadable_lines);
    let Some(mut follower) = follower else {
        return ExitStatus::Success;
    };
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return ExitStatus::Success,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        match follower.poll(filter) {
            Ok(new) => {
                print_records(&new.records, json);
                note_unreadable(new.unreadable_lines);
            }
            Err(e) => return read_failed(dir, &e),
        }
    }
}

/// `audit search`: every matching record.
pub(crate) fn search(dir: &Path, filter: &Filter, json: bool) -> ExitStatus {
    match read::read(dir, filter) {
        Ok(found) => {
            print_records(&found.records, json);
            note_unreadable(found.unreadable_lines);
            if !json {
                printer::status(&format!("{} record(s) matched", found.records.len()));
            }
            ExitStatus::Success
        }
        Err(e) => read_failed(dir, &e),
    }
}

/// `audit stats`: totals per day.
pub(crate) fn stats(dir: &Path, filter: &Filter, json: bool) -> ExitStatus {
    let found = match read::read(dir, filter) {
        Ok(found) => found,
        Err(e) => return read_failed(dir, &e),
    };
    let days = stats::per_day(&found.records);
    if json {
        for day in &days {
            if let Ok(line) = serde_json::to_string(day) {
                printer::out(&line);
            }
        }
    } else if days.is_empty() {
        printer::out("no matching records");
    } else {
        printer::out(&stats::to_text(&days));
    }
    note_unreadable(found.unreadable_lines);
    ExitStatus::Success
}

fn print_records(records: &[AuditRecord], json: bool) {
    for record in records {
        let line = if json {
            serde_json::to_string(record).unwrap_or_default()
        } else {
            one_line(record)
        };
        printer::out(&line);
    }
}

fn note_unreadable(count: u64) {
    if count > 0 {
        printer::warn(&format!(
            "{count} line(s) were not audit records and were skipped; run `sqlwarden audit verify`"
        ));
    }
}

fn read_failed(dir: &Path, e: &AuditError) -> ExitStatus {
    printer::error(
        &format!("Could not read the audit log in `{}`: {e}", dir.display()),
        Some("Pass the audit directory with `--dir`"),
    );
    ExitStatus::Error
}
