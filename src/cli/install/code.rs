//! Claude Code: register through its own CLI, `claude mcp add --scope S
//! NAME -- <exe> [--config-dir DIR] serve`, and remove with `claude mcp
//! remove --scope S NAME`.
//!
//! Claude Code owns its config files, so sqlwarden never edits them: it
//! runs `claude` when it is on PATH and otherwise prints the line to run.
//! Re-running is safe: an identical registration is reported as already
//! there (checked with `claude mcp get`), a differing one is only replaced
//! with `--force`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::{Args, ValueEnum};

use super::{ServerEntry, DEFAULT_NAME};
use crate::cli::{printer, ExitStatus};

/// Where Claude Code keeps the registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scope {
    /// You, in the current project only (Claude Code's default).
    Local,
    /// You, in every project.
    User,
    /// Everyone on the project, through `.mcp.json` in the project root.
    Project,
}

impl Scope {
    /// The spelling `claude mcp` takes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::User => "user",
            Self::Project => "project",
        }
    }
}

/// Arguments of `sqlwarden install|uninstall claude-code`.
#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// Where Claude Code keeps the registration.
    #[arg(long, value_enum, default_value_t = Scope::Local)]
    pub(crate) scope: Scope,
    /// The server's name in Claude Code; use one per profile.
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
    /// Replace a differing registration of the same name.
    #[arg(long)]
    pub force: bool,
    /// Print the `claude mcp` command instead of running it.
    #[arg(long)]
    pub(crate) print: bool,
}

/// The arguments of `claude` that register `entry`.
pub(crate) fn add_command(entry: &ServerEntry, scope: Scope, name: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["mcp", "add", "--scope", scope.as_str(), name, "--"]
        .map(String::from)
        .to_vec();
    argv.push(entry.command.to_string_lossy().into_owned());
    argv.extend(entry.args.iter().cloned());
    argv
}

/// The arguments of `claude` that remove the registration `name`.
pub(crate) fn remove_command(scope: Scope, name: &str) -> Vec<String> {
    ["mcp", "remove", "--scope", scope.as_str(), name]
        .map(String::from)
        .to_vec()
}

/// `claude` followed by `argv`, quoted for a POSIX shell.
pub(crate) fn shell_line(argv: &[String]) -> String {
    std::iter::once("claude".to_string())
        .chain(argv.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The `claude` executable on PATH, if any.
pub fn find_claude() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let names: Vec<OsString> = if cfg!(windows) {
        ["claude.exe", "claude.cmd", "claude.bat", "claude"]
            .map(OsString::from)
            .to_vec()
    } else {
        vec![OsString::from("claude")]
    };
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Run `sqlwarden install claude-code`.
pub(crate) fn install(entry: &ServerEntry, args: &CodeArgs) -> ExitStatus {
    let add = add_command(entry, args.scope, &args.name);
    let Some(claude) = claude_or_print(&add, args.print) else {
        return ExitStatus::Success;
    };
    let Some(output) = run(&claude, &add) else {
        return ExitStatus::Error;
    };
    if output.status.success() {
        relay(&output);
        return ExitStatus::Success;
    }
    if !mentions(&output, "already exists") {
        return failed(&add, &output);
    }
    match registered_as(&claude, &args.name, entry) {
        Some(true) => {
            printer::out(&format!(
                "`{}` is already registered with Claude Code (scope {}); nothing changed.",
                args.name,
                args.scope.as_str()
            ));
            ExitStatus::Success
        }
        _ if args.force => {
            let remove = remove_command(args.scope, &args.name);
            match run(&claude, &remove) {
                Some(out) if out.status.success() => {}
                Some(out) => return failed(&remove, &out),
                None => return ExitStatus::Error,
            }
            match run(&claude, &add) {
                Some(out) if out.status.success() => {
                    relay(&out);
                    ExitStatus::Success
                }
                Some(out) => failed(&add, &out),
                None => ExitStatus::Error,
            }
        }
        _ => {
            printer::error(
                &format!(
                    "Claude Code already has a different `{}` server (scope {})",
                    args.name,
                    args.scope.as_str()
                ),
                Some(&format!(
                    "See it with `claude mcp get {0}`; pass `--force` to replace it, or `--name` to register this one under another name (for example `--name {0}-2`)",
                    args.name
                )),
            );
            ExitStatus::Failure
        }
    }
}

/// Run `sqlwarden uninstall claude-code`.
pub(crate) fn uninstall(args: &CodeArgs) -> ExitStatus {
    let remove = remove_command(args.scope, &args.name);
    let Some(claude) = claude_or_print(&remove, args.print) else {
        return ExitStatus::Success;
    };
    let Some(output) = run(&claude, &remove) else {
        return ExitStatus::Error;
    };
    if output.status.success() {
        relay(&output);
        ExitStatus::Success
    } else if mentions(&output, "No MCP server") {
        printer::out(&format!(
            "`{}` is not registered with Claude Code (scope {}); nothing changed.",
            args.name,
            args.scope.as_str()
        ));
        ExitStatus::Success
    } else {
        failed(&remove, &output)
    }
}

/// The `claude` executable to run, or `None` after printing the command
/// (asked for with `--print`, or `claude` is not on PATH).
fn claude_or_print(argv: &[String], print: bool) -> Option<PathBuf> {
    let claude = if print { None } else { find_claude() };
    if claude.is_none() {
        if !print {
            printer::status("`claude` (Claude Code) is not on PATH; run this once it is:");
        }
        printer::out(&shell_line(argv));
    }
    claude
}

fn run(claude: &Path, argv: &[String]) -> Option<Output> {
    match Command::new(claude).args(argv).output() {
        Ok(output) => Some(output),
        Err(e) => {
            printer::error(
                &format!("Could not run `{}`: {e}", claude.display()),
                Some(&format!("Run it yourself: {}", shell_line(argv))),
            );
            None
        }
    }
}

/// Whether Claude Code's `name` server launches exactly `entry`, as
/// `claude mcp get` reports it (`None` when that cannot be told).
fn registered_as(claude: &Path, name: &str, entry: &ServerEntry) -> Option<bool> {
    let output = Command::new(claude)
        .args(["mcp", "get", name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label).map(str::trim))
            .map(str::to_string)
    };
    let command = field("Command:")?;
    let args = field("Args:").unwrap_or_default();
    Some(command == entry.command.to_string_lossy() && args == entry.args.join(" "))
}

fn mentions(output: &Output, needle: &str) -> bool {
    String::from_utf8_lossy(&output.stderr).contains(needle)
        || String::from_utf8_lossy(&output.stdout).contains(needle)
}

fn relay(output: &Output) {
    let text = String::from_utf8_lossy(&output.stdout);
    if !text.trim().is_empty() {
        printer::out(text.trim_end());
    }
}

fn failed(argv: &[String], output: &Output) -> ExitStatus {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let said = [stderr.trim(), stdout.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    printer::error(
        &format!("`{}` failed: {said}", shell_line(argv)),
        Some("Run `claude mcp list` to see what Claude Code has registered"),
    );
    ExitStatus::Failure
}

#[cfg(test)]
mod tests;
