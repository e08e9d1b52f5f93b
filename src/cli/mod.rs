//! The command line: flag definitions and one module per subcommand.
//!
//! `main.rs` parses a [`Cli`] and calls the subcommand's `run`; each `run`
//! takes only what it needs and returns an [`ExitStatus`]. Everything the
//! CLI prints to stdout goes through [`printer`]; diagnostics go to stderr.
//! `--help`, `--version` and `init` read no config and no keyring.

pub mod audit;
pub mod auth;
pub mod call;
pub mod check;
pub mod completions;
pub mod demo;
pub mod grants;
pub mod init;
pub mod install;
pub mod logging;
pub mod printer;
pub mod query;
pub mod schema;
pub mod serve;
pub mod session;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::CONFIG_DIR_ENV;

/// What `--version` prints: the crate version and the git commit the
/// binary was built from (`-dirty` when the tree had uncommitted changes,
/// `unknown` when built outside a git checkout; see `build.rs`).
pub const VERSION: &str = concat!(
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
pub struct Cli {
    /// The configuration directory (connections.yaml, policy.yaml,
    /// catalog/).
    ///
    /// Defaults to the user's config directory for sqlwarden.
    #[arg(long, global = true, env = CONFIG_DIR_ENV, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdin/stdout (the default).
    Serve,
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
