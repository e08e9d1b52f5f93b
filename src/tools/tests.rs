//! Fixtures the tools' unit tests share: the demo policy with extra
//! lines, and an audit sink that keeps nothing.

use crate::audit::{AuditError, AuditRecord};
use crate::cli::demo::{config_files, write_files, DemoArgs};
use crate::policy::Policy;

use super::AuditSink;

/// An audit sink that accepts every record and keeps none.
pub(crate) struct Discard;

impl AuditSink for Discard {
    fn append(&self, _: &mut AuditRecord) -> Result<(), AuditError> {
        Ok(())
    }
}

/// The demo config's policy with `extra` appended to `policy.yaml`; its
/// database (port 1) is never reachable.
pub(crate) fn demo_policy(extra: &str) -> Policy {
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs::unreachable("nothing_here");
    let files: Vec<_> = config_files(&args)
        .into_iter()
        .map(|(relative, mut contents)| {
            if relative.ends_with("policy.yaml") {
                contents.push_str(extra);
            }
            (relative, contents)
        })
        .collect();
    write_files(dir.path(), &files).unwrap();
    Policy::new(crate::config::load(dir.path()).unwrap())
}
