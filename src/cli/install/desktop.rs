//! Claude Desktop: merge one `mcpServers` entry into
//! `claude_desktop_config.json`, or take exactly that entry out again.
//!
//! The file belongs to the user and to Claude Desktop, so the rules are
//! strict: the document is changed only as [`super::merge`] allows, the
//! old bytes are backed up before any change, and the new file is written
//! atomically ([`super::write`]). This module finds the file and tells the
//! user what happened.

use std::io;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value};

use super::merge::{add, entry_json, parse, remove, render, Added, DesktopError, Removed};
use super::{write, ServerEntry, DEFAULT_NAME};
use crate::cli::{printer, ExitStatus};

/// The file name Claude Desktop reads.
pub(crate) const FILE_NAME: &str = "claude_desktop_config.json";

/// Environment variable that overrides the Claude Desktop config file (as
/// `--client-config` does).
pub(crate) const CLIENT_CONFIG_ENV: &str = "SQLWARDEN_CLAUDE_DESKTOP_CONFIG";

/// Arguments of `sqlwarden install|uninstall claude-desktop`.
#[derive(Debug, Args)]
pub(crate) struct DesktopArgs {
    /// The entry's name under `mcpServers`; use one per profile.
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
    /// The Claude Desktop config file (default: the one for this OS, see
    /// the README).
    #[arg(long, env = CLIENT_CONFIG_ENV, value_name = "FILE")]
    pub(crate) client_config: Option<PathBuf>,
    /// Replace (or remove) an entry of the same name that differs from
    /// this one.
    #[arg(long)]
    pub force: bool,
    /// Print the resulting file instead of writing it.
    #[arg(long)]
    pub(crate) print: bool,
}

/// Where Claude Desktop keeps its config on this OS: macOS
/// `~/Library/Application Support/Claude/`, Windows `%APPDATA%\Claude\`,
/// elsewhere `$XDG_CONFIG_HOME/Claude/` (`~/.config/Claude/`).
pub(crate) fn default_config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("Claude").join(FILE_NAME))
}

/// Run `sqlwarden install claude-desktop`.
pub(crate) fn install(entry: &ServerEntry, args: &DesktopArgs) -> ExitStatus {
    let Some(path) = target_path(args) else {
        return ExitStatus::Error;
    };
    let Some((original, mut root)) = load(&path) else {
        return ExitStatus::Error;
    };
    let added = match add(&mut root, &path, &args.name, entry_json(entry), args.force) {
        Ok(added) => added,
        Err(e) => return refuse(&e, &args.name),
    };
    let rendered = render(&root);
    if args.print {
        printer::out(rendered.trim_end());
        printer::status(&match added {
            Added::AlreadyRegistered => format!(
                "`{}` is already registered in `{}`; nothing would change.",
                args.name,
                path.display()
            ),
            _ => format!(
                "Nothing written; this is what `{}` would hold.",
                path.display()
            ),
        });
        return ExitStatus::Success;
    }
    if added == Added::AlreadyRegistered {
        printer::out(&format!(
            "`{}` is already registered in `{}`; nothing changed.",
            args.name,
            path.display()
        ));
        return ExitStatus::Success;
    }
    let Some(backup) = save(&path, original.is_some(), &rendered) else {
        return ExitStatus::Error;
    };
    let verb = if added == Added::Replaced {
        "Replaced"
    } else {
        "Registered"
    };
    printer::out(&format!(
        "{verb} `{}` in `{}`{}.\nRestart Claude Desktop to load it.",
        args.name,
        path.display(),
        backup_note(backup.as_deref())
    ));
    ExitStatus::Success
}

/// Run `sqlwarden uninstall claude-desktop`.
pub(crate) fn uninstall(entry: &ServerEntry, args: &DesktopArgs) -> ExitStatus {
    let Some(path) = target_path(args) else {
        return ExitStatus::Error;
    };
    let Some((original, mut root)) = load(&path) else {
        return ExitStatus::Error;
    };
    let removed = match remove(&mut root, &path, &args.name, &entry_json(entry), args.force) {
        Ok(removed) => removed,
        Err(e) => return refuse(&e, &args.name),
    };
    if removed == Removed::NotRegistered {
        printer::out(&format!(
            "`{}` is not registered in `{}`; nothing changed.",
            args.name,
            path.display()
        ));
        return ExitStatus::Success;
    }
    let rendered = render(&root);
    if args.print {
        printer::out(rendered.trim_end());
        printer::status(&format!(
            "Nothing written; this is what `{}` would hold.",
            path.display()
        ));
        return ExitStatus::Success;
    }
    let Some(backup) = save(&path, original.is_some(), &rendered) else {
        return ExitStatus::Error;
    };
    printer::out(&format!(
        "Removed `{}` from `{}`{}.\nRestart Claude Desktop to unload it.",
        args.name,
        path.display(),
        backup_note(backup.as_deref())
    ));
    ExitStatus::Success
}

fn target_path(args: &DesktopArgs) -> Option<PathBuf> {
    let path = args.client_config.clone().or_else(default_config_path);
    if path.is_none() {
        printer::error(
            "Could not find Claude Desktop's config directory (no home directory)",
            Some(&format!(
                "Pass the file with `--client-config FILE` (or set `{CLIENT_CONFIG_ENV}`)"
            )),
        );
    }
    path
}

/// The file's text (`None` when absent) and its parsed document; `None`
/// after reporting a file that cannot be read or parsed.
fn load(path: &Path) -> Option<(Option<String>, Map<String, Value>)> {
    let original = match fs_err::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            printer::error(
                &format!("Could not read the Claude Desktop config: {e}"),
                Some("Check the file's permissions, or pass another file with `--client-config`"),
            );
            return None;
        }
    };
    match parse(original.as_deref().unwrap_or(""), path) {
        Ok(root) => Some((original, root)),
        Err(e) => {
            printer::error(
                &e.to_string(),
                Some("Fix the file by hand (Claude Desktop cannot read it either); nothing was changed"),
            );
            None
        }
    }
}

/// Back up the old file (when there was one) and write the new text;
/// returns the backup's path, or `None` after reporting a failure.
fn save(path: &Path, existed: bool, rendered: &str) -> Option<Option<PathBuf>> {
    let backup = if existed {
        match write::backup(path) {
            Ok(backup) => Some(backup),
            Err(e) => {
                printer::error(
                    &format!("Could not back up `{}`: {e}", path.display()),
                    Some("Nothing was changed; check that the directory is writable"),
                );
                return None;
            }
        }
    } else {
        None
    };
    if let Err(e) = write::atomic_write(path, rendered.as_bytes()) {
        printer::error(
            &format!("Could not write `{}`: {e}", path.display()),
            Some("The old file is unchanged; check that the directory is writable"),
        );
        return None;
    }
    Some(backup)
}

fn backup_note(backup: Option<&Path>) -> String {
    backup.map_or_else(String::new, |b| {
        format!(" (the old file is kept as `{}`)", b.display())
    })
}

fn refuse(e: &DesktopError, name: &str) -> ExitStatus {
    match e {
        DesktopError::Differs { .. } => {
            printer::error(
                &e.to_string(),
                Some(&format!(
                    "Pass `--force` to replace it, or `--name` to register this one under another name (for example `--name {name}-2`)"
                )),
            );
            ExitStatus::Failure
        }
        _ => {
            printer::error(
                &e.to_string(),
                Some("Fix the file by hand; nothing was changed"),
            );
            ExitStatus::Error
        }
    }
}
