//! `sqlwarden call TOOL 'JSON'`: any tool, in-process, exactly as an agent
//! would call it; prints the envelope.
//!
//! The arguments go through the same
//! [`Session::call`](crate::tools::Session::call) pipeline as MCP
//! (parsing, policy, gate, engine, audit), so this is the way to reproduce
//! what an agent saw. Only the transport differs.

use std::path::Path;

use clap::Args;

use crate::tools::CallContext;

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Tool name, for example `list_allowed_tables` or `run_select_sql`.
    pub(crate) tool: String,
    /// The tool's arguments as one JSON object, for example
    /// '{"sql": "SELECT 1 FROM public.orders"}'.
    #[arg(default_value = "{}")]
    pub(crate) arguments: String,
    /// Print the text an agent reads instead of the JSON envelope.
    #[arg(long)]
    pub text: bool,
}

/// Run `sqlwarden call`.
pub(crate) async fn run(config_dir: Option<&Path>, args: CallArgs) -> ExitStatus {
    let arguments: serde_json::Value = match serde_json::from_str(&args.arguments) {
        Ok(value) => value,
        Err(e) => {
            printer::error(
                &format!("The arguments are not valid JSON: {e}"),
                Some("Quote the JSON object for the shell, for example `sqlwarden call list_allowed_tables '{\"source\": \"crm\"}'`"),
            );
            return ExitStatus::Error;
        }
    };
    let session = match session::open(config_dir) {
        Ok(session) => session,
        Err(status) => return status,
    };
    let output = session
        .call(&args.tool, Some(arguments), CallContext::default())
        .await;
    // Only the form printed is written, from the rows held once; the
    // envelope is streamed out rather than built as one string.
    if args.text {
        printer::out(&output.text());
    } else {
        printer::out_json(&output.envelope_writer());
    }
    if output.is_error {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}
