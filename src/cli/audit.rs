//! `sqlwarden audit verify [--dir]`: check the audit log's hash chain.
//!
//! Reports the first break (an edited, removed, reordered or truncated
//! record) with its file and line; exit 1 when the chain is broken.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::audit;

use super::{printer, ExitStatus};

/// Arguments of `sqlwarden audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AuditAction,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the hash chain of every audit file.
    Verify {
        /// The audit directory (default: `SQLWARDEN_AUDIT_DIR`, else
        /// sqlwarden's data directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Run `sqlwarden audit`.
pub fn run(args: AuditArgs) -> ExitStatus {
    match args.action {
        AuditAction::Verify { dir } => {
            let Some(dir) = dir.or_else(audit::default_dir) else {
                printer::error(
                    "No audit directory could be determined (no home directory)",
                    Some("Pass it with `--dir`"),
                );
                return ExitStatus::Error;
            };
            match audit::verify(&dir) {
                Ok(report) => {
                    printer::out(&format!(
                        "{} record(s) in {} file(s) checked in `{}`",
                        report.records,
                        report.files.len(),
                        dir.display()
                    ));
                    if !report.starts_at_genesis {
                        printer::out("note: older files were pruned; the chain is checked from the oldest file kept");
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
                Err(e) => {
                    printer::error(
                        &format!("Could not read the audit log in `{}`: {e}", dir.display()),
                        Some("Pass the audit directory with `--dir`"),
                    );
                    ExitStatus::Error
                }
            }
        }
    }
}
