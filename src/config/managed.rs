//! The managed (administrator) policy layer: it can only tighten.

use std::path::PathBuf;

use super::PolicyFile;

/// Where the system-wide managed policy lives on this OS.
pub fn managed_policy_path() -> PathBuf {
    todo!("config helper")
}

/// Merge `user` under `managed`: the result allows nothing `managed` denies
/// and every limit is the lower of the two.
pub fn tighten(user: PolicyFile, managed: &PolicyFile) -> PolicyFile {
    todo!("config helper: {user:?} {managed:?}")
}
