//! `sqlwarden install` / `uninstall`: register this binary with an MCP
//! client, or remove exactly that registration.
//!
//! Both clients get the same server entry ([`ServerEntry`]): the absolute
//! path of the running executable, plus `--config-dir DIR` when a config
//! directory was given, so several profiles can sit side by side under
//! different `--name`s. [`desktop`] edits Claude Desktop's JSON file
//! (the document edits themselves are [`merge`]); [`code`] runs (or
//! prints) Claude Code's own `claude mcp` command.

pub mod code;
pub(crate) mod desktop;
pub(crate) mod merge;
mod write;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{printer, ExitStatus};

/// The server name used when `--name` is not given.
pub(crate) const DEFAULT_NAME: &str = "sqlwarden";

/// Arguments of `sqlwarden install` and `sqlwarden uninstall`.
#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The client to register with.
    #[command(subcommand)]
    pub(crate) client: Client,
}

/// The MCP clients sqlwarden can register with.
#[derive(Debug, Subcommand)]
pub(crate) enum Client {
    /// Claude Desktop: edit `mcpServers` in `claude_desktop_config.json`.
    ClaudeDesktop(desktop::DesktopArgs),
    /// Claude Code: run `claude mcp add` / `claude mcp remove`.
    ClaudeCode(code::CodeArgs),
}

/// What a client is told to launch: a command and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerEntry {
    /// Absolute path of the sqlwarden executable.
    pub(crate) command: PathBuf,
    /// Arguments: `--config-dir DIR` when a profile was chosen, then `serve`.
    pub(crate) args: Vec<String>,
}

impl ServerEntry {
    /// The entry for this executable and an optional config directory
    /// (made absolute: a client starts the server from a directory of its
    /// own choosing).
    pub(crate) fn for_this_executable(config_dir: Option<&Path>) -> Result<Self, EntryError> {
        let exe = std::env::current_exe().map_err(EntryError::Executable)?;
        // A symlinked install (Homebrew, a package manager) is kept as the
        // path the user ran only when resolving it fails.
        let command = fs_err::canonicalize(&exe).unwrap_or(exe);
        let mut args = Vec::new();
        if let Some(dir) = config_dir {
            let dir = std::path::absolute(dir).map_err(|source| EntryError::ConfigDir {
                dir: dir.to_owned(),
                source,
            })?;
            args.push("--config-dir".to_string());
            args.push(dir.to_string_lossy().into_owned());
        }
        args.push("serve".to_string());
        Ok(Self { command, args })
    }
}

/// Why the entry for this executable could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EntryError {
    /// The OS could not say where this executable is.
    #[error("Could not find the path of this executable: {0}")]
    Executable(std::io::Error),
    /// The config directory could not be made absolute.
    #[error("Could not make `{}` an absolute path: {source}", dir.display())]
    ConfigDir {
        /// The directory as given.
        dir: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Run `sqlwarden install <client>`.
pub(crate) fn run_install(config_dir: Option<&Path>, args: RegisterArgs) -> ExitStatus {
    let Some(entry) = entry_or_report(config_dir) else {
        return ExitStatus::Error;
    };
    match args.client {
        Client::ClaudeDesktop(desktop_args) => desktop::install(&entry, &desktop_args),
        Client::ClaudeCode(code_args) => code::install(&entry, &code_args),
    }
}

/// Run `sqlwarden uninstall <client>`.
pub(crate) fn run_uninstall(config_dir: Option<&Path>, args: RegisterArgs) -> ExitStatus {
    let Some(entry) = entry_or_report(config_dir) else {
        return ExitStatus::Error;
    };
    match args.client {
        Client::ClaudeDesktop(desktop_args) => desktop::uninstall(&entry, &desktop_args),
        Client::ClaudeCode(code_args) => code::uninstall(&code_args),
    }
}

fn entry_or_report(config_dir: Option<&Path>) -> Option<ServerEntry> {
    match ServerEntry::for_this_executable(config_dir) {
        Ok(entry) => Some(entry),
        Err(error) => {
            printer::error(
                &error.to_string(),
                Some("Run sqlwarden by its full path, or register it by hand (see the README)"),
            );
            None
        }
    }
}
