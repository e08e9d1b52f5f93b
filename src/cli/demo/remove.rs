//! `sqlwarden demo --remove`: stop and delete the private demo cluster, and
//! the demo config in the config directory when it points at that cluster
//! (a demo config for another server is the user's to keep or delete).

use std::path::Path;

use crate::cli::{printer, ExitStatus};

use super::{file_names, private, PRIVATE_MARKER};

/// Remove what the demo made privately; `dir` is the config directory.
pub(crate) fn run(dir: &Path) -> ExitStatus {
    let mut removed_any = false;
    let connections = dir.join("connections.yaml");
    let points_at_private =
        fs_err::read_to_string(&connections).is_ok_and(|text| text.contains(PRIVATE_MARKER));
    if points_at_private {
        for relative in file_names() {
            let path = dir.join(relative);
            if path.exists() {
                if let Err(e) = fs_err::remove_file(&path) {
                    printer::error(
                        &format!("Could not delete the demo config: {e}"),
                        Some("Check the permissions of the config directory"),
                    );
                    return ExitStatus::Failure;
                }
            }
        }
        // Directories the demo's files were in, once empty; others stay.
        for sub in ["catalog", "schema"] {
            let _ = fs_err::remove_dir(dir.join(sub));
        }
        printer::status(&format!("Deleted the demo config in `{}`", dir.display()));
        removed_any = true;
    } else if connections.exists() {
        printer::status(&format!(
            "Kept `{}`: it does not point at the private demo cluster",
            connections.display()
        ));
    }
    match private::location() {
        Some(location) if location.exists() => {
            let result = private::cluster().and_then(|cluster| cluster.remove());
            if let Err(e) = result {
                printer::error(
                    &format!("Could not remove the private demo cluster: {e}"),
                    Some(&e.hint()),
                );
                return ExitStatus::Failure;
            }
            printer::status(&format!(
                "Stopped and deleted the private demo cluster in `{}`",
                location.display()
            ));
            removed_any = true;
        }
        _ => {}
    }
    if !removed_any {
        printer::status(
            "Nothing to remove: there is no private demo cluster and no demo config for it",
        );
    }
    ExitStatus::Success
}
