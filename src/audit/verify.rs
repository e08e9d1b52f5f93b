//! Checking the hash chain of an audit directory.
//!
//! Every daily file is read in date order and every record checked: that it
//! is whole JSON, that its hash matches its content, and that its
//! `prev_hash` is the hash of the record before it. The first failure is
//! reported with its file and line and what it most likely is. The oldest
//! surviving record may point at a pruned file, so its link is not checked;
//! [`VerifyReport::starts_at_genesis`] says whether the log is complete
//! from its very first record.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::chain::{is_sealed, GENESIS};
use super::log::day_files;
use super::AuditError;

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The daily files read, oldest first.
    pub files: Vec<PathBuf>,
    /// Records checked before the first break (all of them when intact).
    pub records: u64,
    /// Whether the first record is the first ever written (not preceded by
    /// pruned files).
    pub starts_at_genesis: bool,
    /// The first place the chain breaks, if any.
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    /// Whether every record checked out.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The daily file.
    pub file: PathBuf,
    /// 1-based line in it.
    pub line: usize,
    /// What is wrong.
    pub kind: BreakKind,
}

/// The kinds of break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The line is not JSON (the parser's message).
    InvalidJson(String),
    /// The line is JSON but lacks `hash` or `prev_hash`.
    NotARecord,
    /// The record's content does not match its hash: it was edited.
    Edited,
    /// The record does not follow the one before it, and the hash it
    /// expects belongs to no record: records were removed before it.
    Removed,
    /// The record expects a record that comes later: records were reordered.
    Reordered,
    /// A write was torn: the file's last line has no line end (a crash
    /// mid-write, or the file truncated), or an incomplete line is followed
    /// by a record that chains to the one before it (the next process
    /// continued the log after the crash).
    Torn,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson(err) => write!(f, "the line is not valid JSON ({err})"),
            Self::NotARecord => f.write_str("the line is not an audit record (no `hash` / `prev_hash`)"),
            Self::Edited => f.write_str("the record was edited: its content does not match its hash"),
            Self::Removed => f.write_str(
                "the record does not follow the one before it: records were removed (or replaced) before this line",
            ),
            Self::Reordered => f.write_str(
                "the record does not follow the one before it: records were reordered (it expects a record that comes later)",
            ),
            Self::Torn => f.write_str(
                "the line is incomplete: a write was torn (a crash mid-write) or the file truncated",
            ),
        }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.kind)
    }
}

/// One line of one file.
struct Line {
    file: usize,
    number: usize,
    text: String,
    terminated: bool,
}

/// Check every record in `dir` (a missing directory is an empty log).
pub fn verify(dir: &Path) -> Result<VerifyReport, AuditError> {
    let files: Vec<PathBuf> = if dir.exists() {
        day_files(dir)?.into_iter().map(|(_, path)| path).collect()
    } else {
        Vec::new()
    };
    let mut lines = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).map_err(AuditError::io(path))?;
        let terminated_file = text.is_empty() || text.ends_with('\n');
        let mut pieces: Vec<&str> = text.split('\n').collect();
        if terminated_file {
            pieces.pop();
        }
        let count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            lines.push(Line {
                file: index,
                number: i + 1,
                text: piece.to_string(),
                terminated: terminated_file || i + 1 < count,
            });
        }
    }
    let parsed: Vec<Option<Value>> = lines
        .iter()
        .map(|l| serde_json::from_str(&l.text).ok())
        .collect();
    let position_of_hash: HashMap<&str, usize> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((v.as_ref()?.get("hash")?.as_str()?, i)))
        .collect();

    let mut report = VerifyReport {
        files,
        records: 0,
        starts_at_genesis: true,
        first_break: None,
    };
    let mut previous: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let kind = check_line(line, parsed[i].as_ref(), previous.as_deref(), |hash| {
            position_of_hash.get(hash).is_some_and(|&at| at > i)
        });
        if let Err(kind) = kind {
            let kind = match kind {
                BreakKind::InvalidJson(_) if continued_after(&parsed, i, previous.as_deref()) => {
                    BreakKind::Torn
                }
                other => other,
            };
            report.first_break = Some(ChainBreak {
                file: report.files[line.file].clone(),
                line: line.number,
                kind,
            });
            return Ok(report);
        }
        let value = parsed[i].as_ref();
        let field = |name: &str| {
            value
                .and_then(|v| v.get(name)?.as_str())
                .map(str::to_string)
        };
        if previous.is_none() {
            report.starts_at_genesis = field("prev_hash").as_deref() == Some(GENESIS);
        }
        previous = field("hash");
        report.records += 1;
    }
    Ok(report)
}

/// Whether the broken line `i` is a torn write that a later process
/// continued after: the next line is a record chained to the record before
/// the broken one (the log starts every record on a fresh line after a
/// torn tail, so a crash mid-write leaves exactly this shape).
fn continued_after(parsed: &[Option<Value>], i: usize, previous: Option<&str>) -> bool {
    let next_prev = parsed
        .get(i + 1)
        .and_then(Option::as_ref)
        .and_then(|v| v.get("prev_hash")?.as_str());
    match (next_prev, previous) {
        (Some(next), Some(previous)) => next == previous,
        (Some(next), None) => next == GENESIS,
        (None, _) => false,
    }
}

/// Check one line against the hash of the record before it (`None` for
/// the first record, whose link cannot be checked).
fn check_line(
    line: &Line,
    value: Option<&Value>,
    previous: Option<&str>,
    is_later: impl Fn(&str) -> bool,
) -> Result<(), BreakKind> {
    if !line.terminated {
        return Err(BreakKind::Torn);
    }
    let value = match value {
        Some(value) => value,
        None => {
            let err = serde_json::from_str::<Value>(&line.text)
                .err()
                .map_or_else(|| "empty line".to_string(), |e| e.to_string());
            return Err(BreakKind::InvalidJson(err));
        }
    };
    let Some(prev_hash) = value.get("prev_hash").and_then(Value::as_str) else {
        return Err(BreakKind::NotARecord);
    };
    match is_sealed(&line.text, prev_hash) {
        Some(true) => {}
        Some(false) => return Err(BreakKind::Edited),
        None => return Err(BreakKind::NotARecord),
    }
    match previous {
        Some(expected) if expected != prev_hash => Err(if is_later(prev_hash) {
            BreakKind::Reordered
        } else {
            BreakKind::Removed
        }),
        _ => Ok(()),
    }
}
