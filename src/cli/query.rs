//! `sqlwarden query --source S "SQL"`: the exact `run_select_sql` path,
//! printed as an aligned table (or, with `--json`, the envelope).
//!
//! The query is sent as `run_select_sql` arguments through
//! [`Session::call`](crate::tools::Session::call), so the gate, the row
//! policies, the limits and the audit record are the ones an agent gets.

use std::path::Path;

use clap::Args;
use serde_json::{json, Value};

use crate::tools::{CallContext, ToolOutput};

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Connection name (optional when only one connection is configured).
    #[arg(long, short)]
    pub source: Option<String>,
    /// Most rows to return (default from policy; lowered to the policy
    /// maximum).
    #[arg(long, short)]
    pub limit: Option<u64>,
    /// Print the JSON envelope instead of a table.
    #[arg(long)]
    pub json: bool,
    /// One read-only SELECT.
    pub sql: String,
}

/// Run `sqlwarden query`.
pub async fn run(config_dir: Option<&Path>, args: QueryArgs) -> ExitStatus {
    let session = match session::open(config_dir) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let mut arguments = json!({ "sql": args.sql });
    if let Some(source) = &args.source {
        arguments["source"] = json!(source);
    }
    if let Some(limit) = args.limit {
        arguments["limit"] = json!(limit);
    }
    let output = session
        .call("run_select_sql", Some(arguments), CallContext::default())
        .await;
    if args.json {
        let pretty = serde_json::to_string_pretty(&output.envelope)
            .unwrap_or_else(|_| output.envelope.to_string());
        printer::out(&pretty);
    } else {
        print_human(&output);
    }
    if output.is_error {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

fn print_human(output: &ToolOutput) {
    let envelope = &output.envelope;
    if output.is_error {
        let error = &envelope["error"];
        printer::error(
            &format!(
                "{} {}",
                error["code"].as_str().unwrap_or("ERROR"),
                error["message"].as_str().unwrap_or("")
            ),
            error["hint"].as_str(),
        );
        return;
    }
    let data = &envelope["data"];
    let columns: Vec<String> = data["columns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| c["name"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = data["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .map(|cells| cells.iter().map(cell).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    printer::out(&printer::table(&columns, &rows));
    if let Some(summary) = output.text.lines().next() {
        printer::out(&format!("\n{summary}"));
    }
}

/// How one cell reads in a table: strings bare, NULL spelled out, the rest
/// as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::String(s) => s.replace(['\n', '\r', '\t'], " "),
        other => other.to_string(),
    }
}
