//! `sqlwarden completions <shell>`: print a shell completion script.
//!
//! The script is generated from the same clap definition that parses the
//! command line, so it can never drift from the real flags.

use clap::{Args, CommandFactory};
use clap_complete::aot::{generate, Shell};

use super::{printer, Cli, ExitStatus};

/// Arguments of `sqlwarden completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sqlwarden completions bash > ~/.local/share/bash-completion/completions/sqlwarden
  sqlwarden completions zsh > \"${fpath[1]}/_sqlwarden\"
  sqlwarden completions fish > ~/.config/fish/completions/sqlwarden.fish
  sqlwarden completions powershell >> $PROFILE")]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// The completion script for `shell`.
pub(crate) fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut out = Vec::new();
    generate(shell, &mut command, "sqlwarden", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Run `sqlwarden completions`.
pub(crate) fn run(args: CompletionsArgs) -> ExitStatus {
    printer::out(script(args.shell).trim_end());
    ExitStatus::Success
}

#[cfg(test)]
mod tests;
