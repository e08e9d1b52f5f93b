//! `sqlwarden audit tail | search | stats | verify | prune`: read, total,
//! check and prune the audit log.
//!
//! Every reading command takes the same filters and prints one readable
//! line per record, or with `--json` one JSON record per line for scripts.
//! The reading, filtering and totalling live in [`crate::audit`]; this
//! module only parses flags and prints.

mod line;
mod prune;
mod show;
mod verify;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::audit::read::{parse_time, Filter};
use crate::audit::{self, Outcome};
use crate::error::{ErrorCode, UnknownErrorCode};

use super::{printer, ExitStatus};

/// Arguments of `sqlwarden audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) action: AuditAction,
}

/// Where the audit files are.
#[derive(Debug, Args, Clone)]
pub(crate) struct DirArg {
    /// The audit directory (default: `SQLWARDEN_AUDIT_DIR`, else
    /// sqlwarden's data directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Which records to show.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct FilterArgs {
    /// Only calls of this tool (e.g. `run_select_sql`).
    #[arg(long)]
    pub(crate) tool: Option<String>,
    /// Only calls that ended so: ok, denied or error.
    #[arg(long, value_parser = parse_outcome)]
    pub outcome: Option<Outcome>,
    /// Only calls that read this table (policy key).
    #[arg(long)]
    pub table: Option<String>,
    /// Only calls that failed with this error code (e.g. COLUMN_NOT_ALLOWED).
    #[arg(long, value_parser = parse_code)]
    pub code: Option<ErrorCode>,
    /// Only calls on this source.
    #[arg(long)]
    pub source: Option<String>,
    /// From this time: RFC 3339, a date (2026-01-09) or an age (30m, 12h, 7d).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Before this time (same forms as --since).
    #[arg(long)]
    pub(crate) until: Option<String>,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditAction {
    /// The last records, oldest first; `-f` keeps printing new ones.
    Tail {
        /// How many records to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep running and print records as they are written (across
        /// the daily roll-over) until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// One JSON record per line.
        #[arg(long)]
        json: bool,
        /// Which records.
        #[command(flatten)]
        filter: FilterArgs,
        /// Where.
        #[command(flatten)]
        dir: DirArg,
    },
    /// Every matching record, oldest first.
    Search {
        /// Text to find in the SQL as sent, the rewritten SQL, the refusal
        /// or the error detail (case-insensitive).
        text: Option<String>,
        /// One JSON record per line.
        #[arg(long)]
        json: bool,
        /// Which records.
        #[command(flatten)]
        filter: FilterArgs,
        /// Where.
        #[command(flatten)]
        dir: DirArg,
    },
    /// Per day: calls, refusals by error code, rows and bytes returned,
    /// and (team mode) refused credentials by reason, apart from calls.
    Stats {
        /// One JSON object per day, one per line.
        #[arg(long)]
        json: bool,
        /// Which records.
        #[command(flatten)]
        filter: FilterArgs,
        /// Where.
        #[command(flatten)]
        dir: DirArg,
    },
    /// Verify the hash chain of every audit file.
    Verify {
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
        /// Where.
        #[command(flatten)]
        dir: DirArg,
    },
    /// Delete daily files older than the policy's `audit.retention_days`.
    Prune {
        /// Keep this many days instead of the policy's retention.
        #[arg(long)]
        days: Option<u32>,
        /// Where.
        #[command(flatten)]
        dir: DirArg,
    },
}

/// Run `sqlwarden audit`.
pub(crate) async fn run(config_dir: Option<&Path>, args: AuditArgs) -> ExitStatus {
    let dir = match &args.action {
        AuditAction::Tail { dir, .. }
        | AuditAction::Search { dir, .. }
        | AuditAction::Stats { dir, .. }
        | AuditAction::Verify { dir, .. }
        | AuditAction::Prune { dir, .. } => dir.dir.clone(),
    };
    let Some(dir) = dir.or_else(audit::default_dir) else {
        printer::error(
            "No audit directory could be determined (no home directory)",
            Some("Pass it with `--dir`"),
        );
        return ExitStatus::Error;
    };
    match args.action {
        AuditAction::Tail {
            lines,
            follow,
            json,
            filter,
            ..
        } => match filter.build(None) {
            Ok(filter) => show::tail(&dir, &filter, lines, follow, json).await,
            Err(status) => status,
        },
        AuditAction::Search {
            text, json, filter, ..
        } => match filter.build(text) {
            Ok(filter) => show::search(&dir, &filter, json),
            Err(status) => status,
        },
        AuditAction::Stats { json, filter, .. } => match filter.build(None) {
            Ok(filter) => show::stats(&dir, &filter, json),
            Err(status) => status,
        },
        AuditAction::Verify { json, .. } => verify::run(&dir, json),
        AuditAction::Prune { days, .. } => prune::run(config_dir, &dir, days),
    }
}

impl FilterArgs {
    /// The filter, or exit 2 with the reason on a bad time.
    fn build(self, text: Option<String>) -> Result<Filter, ExitStatus> {
        let now = chrono::Utc::now();
        let time = |flag: &str, value: Option<String>| {
            value.map(|v| parse_time(&v, now)).transpose().map_err(|e| {
                printer::error(
                    &format!("--{flag}: {e}"),
                    Some("For example `--since 7d` or `--since 2026-01-09`"),
                );
                ExitStatus::Error
            })
        };
        Ok(Filter {
            tool: self.tool,
            outcome: self.outcome,
            table: self.table,
            code: self.code,
            source: self.source,
            since: time("since", self.since)?,
            until: time("until", self.until)?,
            text,
        })
    }
}

/// A `--outcome` that is none of the three.
#[derive(Debug, thiserror::Error)]
#[error("expected ok, denied or error")]
struct UnknownOutcome;

fn parse_outcome(text: &str) -> Result<Outcome, UnknownOutcome> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase()))
        .map_err(|_| UnknownOutcome)
}

/// Any case will do: `column_not_allowed` is `COLUMN_NOT_ALLOWED`.
fn parse_code(text: &str) -> Result<ErrorCode, UnknownErrorCode> {
    text.to_ascii_uppercase()
        .parse()
        .map_err(|_| UnknownErrorCode(text.to_owned()))
}
