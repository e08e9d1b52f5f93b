//! Fixtures the tools' unit tests share (and the server's): the demo
//! policy with extra lines, an audit sink that keeps nothing, and tool
//! outputs as the pipeline renders them.

use serde_json::{json, Value};

use crate::audit::{AuditError, AuditRecord};
use crate::cli::demo::{config_files, write_files, DemoArgs};
use crate::engine::Rows;
use crate::error::{ErrorCode, ToolError};
use crate::policy::Policy;

use super::envelope::{render, CallFacts, CallIds, ToolSuccess};
use super::{AuditSink, ToolOutput};

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

/// The identity of a `run_select_sql` call.
fn query_ids() -> CallIds {
    CallIds {
        request_id: "request".into(),
        audit_id: "audit".into(),
        tool_name: "run_select_sql".into(),
        timestamp: "2026-01-01T00:00:00Z".into(),
        latency_ms: 1.5,
    }
}

/// A `run_select_sql` answer with these `columns` (name and type) and
/// `rows`, held as the engine holds them.
pub(crate) fn query_output(columns: &[(&str, &str)], rows: Vec<Vec<Value>>) -> ToolOutput {
    let columns: Vec<Value> = columns
        .iter()
        .map(|(name, kind)| json!({"name": name, "type": kind}))
        .collect();
    let facts = CallFacts {
        source: Some("demo".into()),
        row_count: Some(rows.len() as u64),
        ..CallFacts::default()
    };
    let success = ToolSuccess {
        data: json!({
            "columns": columns,
            "rows": null,
            "truncation": null,
            "cells_truncated": 0,
            "engine": {},
        }),
        summary: format!("{} rows", rows.len()),
        rows: Some(Rows::from(rows)),
    };
    render(&query_ids(), Ok(success), &facts)
}

/// A refusal of a `run_select_sql` call whose database said `detail`.
pub(crate) fn refused_output(detail: &str) -> ToolOutput {
    let mut error = ToolError::new(
        ErrorCode::BackendError,
        "the database refused the query",
        "fix the query as the database says",
    );
    error.untrusted_detail = Some(detail.into());
    render(&query_ids(), Err(error), &CallFacts::default())
}
