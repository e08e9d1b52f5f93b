//! The command line: flag definitions and one module per subcommand.
//!
//! [`main`] parses a [`Cli`] and calls the subcommand's `run`; each `run`
//! takes only what it needs and returns an [`ExitStatus`]. Everything the
//! CLI prints to stdout goes through [`printer`]; diagnostics go to stderr.
//! `--help`, `--version` and `init` read no config and no keyring.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod call;
pub(crate) mod check;
pub(crate) mod completions;
pub mod demo;
pub(crate) mod grants;
pub mod init;
pub mod install;
pub(crate) mod logging;
pub(crate) mod printer;
pub(crate) mod query;
pub(crate) mod schema;
pub(crate) mod serve;
pub mod session;
pub(crate) mod token;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::CONFIG_DIR_ENV;

/// The whole program: parse the flags, set up logging and the runtime, run
/// one subcommand; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads(&cli))
        // The gate's walks recurse once per level of a query's tree; the
        // gate bounds the depth (`guard::parse::MAX_NESTING`), and this
        // leaves room for it in debug builds too. Untouched stack pages
        // cost no memory.
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            printer::error(&format!("Could not start the async runtime: {e}"), None);
            return ExitStatus::Error.code();
        }
    };
    // The command runs on a worker thread, whose stack is sized above.
    let status = match runtime.block_on(runtime.spawn(run(cli))) {
        Ok(status) => status,
        Err(e) => {
            printer::error(&format!("sqlwarden stopped unexpectedly: {e}"), None);
            ExitStatus::Error
        }
    };
    // In-flight calls were drained by the command itself; do not wait for
    // a stdin reader blocked in its thread.
    runtime.shutdown_timeout(std::time::Duration::from_millis(50));
    status.code()
}

/// The runtime's worker threads: two for team mode, which serves many
/// clients at once, one for everything else. With one client, a second
/// worker mostly moves tasks between threads: the driver's connection task
/// and the task reading its rows then wake each other across threads for
/// every batch of rows (a 10,000-row call over a bare pipe took 27.5 ms
/// with one worker against 35-36.5 ms with two; a point call 3-5% less).
/// Blocking work (stdin, large writes to stdout, the audit flush) has
/// threads of its own either way.
fn worker_threads(cli: &Cli) -> usize {
    match &cli.command {
        Some(Command::Serve(args)) if args.http.is_some() => 2,
        _ => 1,
    }
}

/// Runs the subcommand `cli` names (MCP over stdio when it names none).
async fn run(cli: Cli) -> ExitStatus {
    let dir = cli.config_dir.as_deref();
    match cli.command.unwrap_or_default() {
        Command::Serve(args) => serve::run(dir, args).await,
        Command::Init(args) => init::run(dir, args),
        Command::Check(args) => check::run(dir, args).await,
        Command::Query(args) => query::run(dir, args).await,
        Command::Call(args) => call::run(dir, args).await,
        Command::Auth(args) => auth::run(dir, args),
        Command::Audit(args) => audit::run(dir, args).await,
        Command::Token(args) => token::run(dir, args),
        Command::Grants(args) => grants::run(dir, args).await,
        Command::Demo(args) => demo::run(dir, args).await,
        Command::Install(args) => install::run_install(dir, args),
        Command::Uninstall(args) => install::run_uninstall(dir, args),
        Command::Completions(args) => completions::run(args),
        Command::Schema(args) => schema::run(args),
    }
}

/// What `--version` prints: the crate version and the git commit the
/// binary was built from (`-dirty` when the tree had uncommitted changes,
/// `unknown` when built outside a git checkout; see `build.rs`).
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("SQLWARDEN_GIT_HASH"),
    ")"
);

/// sqlwarden: a read-only, policy-governed SQL surface for AI agents.
///
/// With no subcommand, serves MCP over stdin/stdout (what an MCP client
/// such as Claude Desktop or Claude Code launches).
///
/// Exit codes: 0 success; 1 a problem was found (a failed check, a refused
/// or failed query); 2 the command could not run (bad usage or config).
#[derive(Debug, Parser)]
#[command(name = "sqlwarden", version = VERSION, about, long_about)]
pub(crate) struct Cli {
    /// The configuration directory (connections.yaml, policy.yaml,
    /// catalog/).
    ///
    /// Defaults to the user's config directory for sqlwarden.
    #[arg(long, global = true, env = CONFIG_DIR_ENV, value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve MCP over stdin/stdout (the default), or over HTTP for a team
    /// (`--http`).
    Serve(serve::ServeArgs),
    /// Write the commented example config set into the config directory.
    Init(init::InitArgs),
    /// Doctor: config, connections, privileges, policy drift; exit 1 on any problem.
    Check(check::CheckArgs),
    /// Run one read-only query exactly as `run_select_sql` would.
    Query(query::QueryArgs),
    /// Call any tool in-process exactly as an agent would; print the
    /// envelope.
    Call(call::CallArgs),
    /// Store, show or delete a connection's secret in the OS keyring.
    Auth(auth::AuthArgs),
    /// Work with the audit log.
    Audit(audit::AuditArgs),
    /// Create, list or revoke the static bearer tokens of team mode
    /// (`serve --http`).
    Token(token::TokenArgs),
    /// Print the SQL for a NOLOGIN role that reads exactly what policy allows.
    Grants(grants::GrantsArgs),
    /// Load a demo sales warehouse into the local PostgreSQL and write a
    /// matching config set.
    Demo(demo::DemoCommand),
    /// Register sqlwarden with an MCP client (Claude Desktop, Claude Code).
    Install(install::RegisterArgs),
    /// Remove exactly the registration `install` adds.
    Uninstall(install::RegisterArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell,
    /// elvish).
    Completions(completions::CompletionsArgs),
    /// Print or write the config files' JSON Schemas (for developers:
    /// `sqlwarden schema --out config/schema`).
    #[command(hide = true)]
    Schema(schema::SchemaArgs),
}

impl Default for Command {
    fn default() -> Self {
        Self::Serve(serve::ServeArgs::default())
    }
}

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// The command ran and found a problem (a failed check, a refused or
    /// failed call).
    Failure,
    /// The command could not run (bad usage, unreadable config).
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Error => 2,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
