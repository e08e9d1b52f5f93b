//! `sqlwarden query --source S "SQL"`: the exact `run_select_sql` path,
//! printed as an aligned table (or, with `--json`, the envelope).
//!
//! The query is sent as `run_select_sql` arguments through
//! [`Session::call`](crate::tools::Session::call), so the gate, the row
//! policies, the limits and the audit record are the ones an agent gets.
//!
//! While a long job runs (MaxCompute polls its instance), a one-line
//! progress indicator is drawn on stderr when stderr is a terminal; stdout
//! gets nothing but the result. Ctrl-C (SIGINT) cancels the call the way an
//! MCP cancellation does, so the engine terminates the job it started
//! instead of leaving it running (and billed); a second Ctrl-C exits at once.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use serde_json::{json, Value};

use tokio_util::sync::CancellationToken;

use crate::engine::{Progress, ProgressSink};
use crate::tools::{CallContext, ToolOutput};

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Connection name (optional when only one connection is configured).
    #[arg(long, short)]
    pub source: Option<String>,
    /// Most rows to return (default from policy; lowered to the policy
    /// maximum).
    #[arg(long, short)]
    pub limit: Option<u64>,
    /// Print the JSON envelope instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// One read-only SELECT.
    pub sql: String,
}

/// Run `sqlwarden query`.
pub(crate) async fn run(config_dir: Option<&Path>, args: QueryArgs) -> ExitStatus {
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
    let cancel = CancellationToken::new();
    let interrupts = match watch_interrupts(cancel.clone()) {
        Ok(task) => task,
        Err(cause) => {
            printer::error(
                &format!("could not listen for Ctrl-C: {cause}"),
                Some("Run the query again; without the listener a running job could not be cancelled"),
            );
            return ExitStatus::Error;
        }
    };
    let drawn = Arc::new(AtomicBool::new(false));
    let ctx = CallContext {
        cancel: cancel.clone(),
        progress: std::io::stderr()
            .is_terminal()
            .then(|| progress_line(drawn.clone())),
        origin: Default::default(),
    };
    let output = session.call("run_select_sql", Some(arguments), ctx).await;
    interrupts.abort();
    if drawn.load(Ordering::Relaxed) {
        printer::clear_progress();
    }
    if cancel.is_cancelled() {
        printer::status("Interrupted: the query was cancelled and its job terminated");
    }
    if args.json {
        printer::out_json(&output.envelope_writer());
    } else {
        print_human(&output);
    }
    if output.is_error {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

/// Cancel `cancel` on the first Ctrl-C and exit on the second. The signal
/// handler is installed before this returns, so an interrupt that arrives
/// while the call starts is not lost (and does not kill the process with
/// the job still running).
fn watch_interrupts(cancel: CancellationToken) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut interrupts = Interrupts::listen()?;
    Ok(tokio::spawn(async move {
        interrupts.next().await;
        printer::status("\nCancelling: terminating the running job (Ctrl-C again to quit at once)");
        cancel.cancel();
        interrupts.next().await;
        std::process::exit(ExitStatus::Failure.code());
    }))
}

/// SIGINT, registered when made (Ctrl-C elsewhere).
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        let _ = self.signal.recv().await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A progress sink that redraws one stderr line and remembers it drew.
fn progress_line(drawn: Arc<AtomicBool>) -> ProgressSink {
    Arc::new(move |progress: Progress| {
        drawn.store(true, Ordering::Relaxed);
        let share = match progress.total {
            Some(total) if total > 0.0 => {
                format!(" [{:.0}%]", (progress.done / total * 100.0).min(100.0))
            }
            _ => String::new(),
        };
        printer::progress(&format!("{}{share} (Ctrl-C cancels)", progress.message));
    })
}

fn print_human(output: &ToolOutput) {
    let envelope = &output.envelope();
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
    if let Some(summary) = output.summary_line() {
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
