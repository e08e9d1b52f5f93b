//! `audit verify [--json]`: check the hash chain.
//!
//! Reports the first break (an edited, removed, reordered or truncated
//! record) with its file and line; exit 1 when the chain is broken.

use std::path::Path;

use serde_json::json;

use crate::audit::{self, BreakKind};

use super::super::{printer, ExitStatus};

/// Run `audit verify`.
pub(crate) fn run(dir: &Path, json: bool) -> ExitStatus {
    let report = match audit::verify(dir) {
        Ok(report) => report,
        Err(e) => {
            printer::error(
                &format!("Could not read the audit log in `{}`: {e}", dir.display()),
                Some("Pass the audit directory with `--dir`"),
            );
            return ExitStatus::Error;
        }
    };
    if json {
        let first_break = report.first_break.as_ref().map(|b| {
            json!({
                "file": b.file.display().to_string(),
                "line": b.line,
                "kind": kind_name(&b.kind),
                "message": b.kind.to_string(),
            })
        });
        printer::out(
            &json!({
                "dir": dir.display().to_string(),
                "intact": report.is_intact(),
                "records": report.records,
                "files": report.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                "starts_at_genesis": report.starts_at_genesis,
                "first_break": first_break,
            })
            .to_string(),
        );
        return if report.is_intact() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        };
    }
    printer::out(&format!(
        "{} record(s) in {} file(s) checked in `{}`",
        report.records,
        report.files.len(),
        dir.display()
    ));
    if !report.starts_at_genesis {
        printer::out(
            "note: older files were pruned; the chain is checked from the oldest file kept",
        );
    }
    match &report.first_break {
        None => {
            printer::out("audit log intact");
            ExitStatus::Success
        }
        Some(at) => {
            printer::error(
                &format!("The audit chain is broken: {at}"),
                Some("Records were edited, removed, reordered or truncated; keep the files as evidence and investigate"),
            );
            ExitStatus::Failure
        }
    }
}

/// A stable name of a break kind, for scripts.
fn kind_name(kind: &BreakKind) -> &'static str {
    match kind {
        BreakKind::InvalidJson(_) => "invalid_json",
        BreakKind::NotARecord => "not_a_record",
        BreakKind::Edited => "edited",
        BreakKind::Removed => "removed",
        BreakKind::Reordered => "reordered",
        BreakKind::Torn => "torn",
    }
}
