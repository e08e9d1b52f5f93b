//! `audit prune [--days N]`: apply the retention explicitly and say what
//! was removed (the server also prunes whenever it opens the log).

use std::path::Path;

use crate::audit::{self, AuditLog};

use super::super::{printer, session, ExitStatus};

/// Run `audit prune`: `days` overrides the policy's `audit.retention_days`.
pub(crate) fn run(config_dir: Option<&Path>, dir: &Path, days: Option<u32>) -> ExitStatus {
    let retention = match days {
        Some(days) => days,
        None => match session::load_policy(config_dir) {
            Ok(policy) => policy
                .config()
                .policy
                .audit
                .retention_days
                .unwrap_or(audit::DEFAULT_RETENTION_DAYS),
            Err(status) => return status,
        },
    };
    if retention == 0 {
        printer::out("retention is 0 (keep everything): nothing to prune");
        return ExitStatus::Success;
    }
    let removed = AuditLog::open_with_sync(dir, 0, crate::config::AuditSync::EveryRecord)
        .and_then(|log| log.prune(retention));
    match removed {
        Ok(removed) => {
            for path in &removed {
                printer::out(&format!("removed {}", path.display()));
            }
            printer::out(&format!(
                "{} file(s) older than {retention} day(s) removed from `{}`",
                removed.len(),
                dir.display()
            ));
            ExitStatus::Success
        }
        Err(e) => {
            printer::error(
                &format!("Could not prune the audit log: {e}"),
                Some(&e.hint()),
            );
            ExitStatus::Failure
        }
    }
}
