//! Claude Desktop: merge one `mcpServers` entry into
//! `claude_desktop_config.json`, or take exactly that entry out again.
//!
//! The file belongs to the user and to Claude Desktop, so the rules are
//! strict: every other key and entry is kept in its order (serde_json's
//! `preserve_order`), a file that does not parse is refused with its line
//! and column and left alone, a differing entry under the same name is only
//! replaced with `--force`, the old bytes are backed up before any change,
//! and the new file is written atomically ([`super::write`]).

use std::io;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value};

use super::{write, ServerEntry, DEFAULT_NAME};
use crate::cli::{printer, ExitStatus};

/// The file name Claude Desktop reads.
pub const FILE_NAME: &str = "claude_desktop_config.json";

/// Environment variable that overrides the Claude Desktop config file (as
/// `--client-config` does).
pub const CLIENT_CONFIG_ENV: &str = "SQLWARDEN_CLAUDE_DESKTOP_CONFIG";

/// Arguments of `sqlwarden install|uninstall claude-desktop`.
#[derive(Debug, Args)]
pub struct DesktopArgs {
    /// The entry's name under `mcpServers`; use one per profile.
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
    /// The Claude Desktop config file (default: the one for this OS, see
    /// the README).
    #[arg(long, env = CLIENT_CONFIG_ENV, value_name = "FILE")]
    pub client_config: Option<PathBuf>,
    /// Replace (or remove) an entry of the same name that differs from
    /// this one.
    #[arg(long)]
    pub force: bool,
    /// Print the resulting file instead of writing it.
    #[arg(long)]
    pub print: bool,
}

/// Where Claude Desktop keeps its config on this OS: macOS
/// `~/Library/Application Support/Claude/`, Windows `%APPDATA%\Claude\`,
/// elsewhere `$XDG_CONFIG_HOME/Claude/` (`~/.config/Claude/`).
pub fn default_config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("Claude").join(FILE_NAME))
}

/// Why the file cannot be changed.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// The file is not JSON.
    #[error("`{path}` is not valid JSON (line {line}, column {column}): {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The root, or `mcpServers`, is JSON but not an object.
    #[error("`{path}`: {what} is {found}, not an object")]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// Which value (`the top level` or `mcpServers`).
        what: &'static str,
        /// What was found instead (`an array`, `a string`, ...).
        found: &'static str,
    },
    /// An entry of that name exists and is not the one sqlwarden writes.
    #[error("`{path}` already has a different `{name}` entry: {existing}")]
    Differs {
        /// The file.
        path: PathBuf,
        /// The entry name.
        name: String,
        /// The entry as it is, compact JSON.
        existing: String,
    },
}

/// What [`add`] did to the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The entry was new.
    New,
    /// A differing entry was replaced (`--force`).
    Replaced,
    /// The identical entry was there already; nothing changed.
    AlreadyRegistered,
}

/// What [`remove`] did to the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The entry was taken out.
    Removed,
    /// There was no entry of that name; nothing changed.
    NotRegistered,
}

/// The JSON value of an entry, as Claude Desktop expects it.
pub fn entry_json(entry: &ServerEntry) -> Value {
    serde_json::json!({
        "command": entry.command.to_string_lossy(),
        "args": entry.args,
    })
}

/// Parse the file's text. Empty (or all-whitespace) text is an empty
/// object, as Claude Desktop treats a file it has just created.
pub fn parse(text: &str, path: &Path) -> Result<Map<String, Value>, DesktopError> {
    // Windows editors may save a byte-order mark, which JSON forbids.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| DesktopError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Value::Object(root) = value else {
        return Err(not_an_object(path, "the top level", &value));
    };
    if let Some(servers) = root.get("mcpServers") {
        if !servers.is_object() {
            return Err(not_an_object(path, "`mcpServers`", servers));
        }
    }
    Ok(root)
}

fn not_an_object(path: &Path, what: &'static str, value: &Value) -> DesktopError {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    DesktopError::NotAnObject {
        path: path.to_path_buf(),
        what,
        found,
    }
}

/// Put `entry` under `mcpServers.<name>` (creating `mcpServers` at the end
/// when absent). `root` must have come from [`parse`].
pub fn add(
    root: &mut Map<String, Value>,
    path: &Path,
    name: &str,
    entry: Value,
    force: bool,
) -> Result<Added, DesktopError> {
    let servers = match root
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(servers) => servers,
        other => return Err(not_an_object(path, "`mcpServers`", other)),
    };
    let added = match servers.get(name) {
        None => Added::New,
        Some(existing) if *existing == entry => return Ok(Added::AlreadyRegistered),
        Some(_) if force => Added::Replaced,
        Some(existing) => return Err(differs(path, name, existing)),
    };
    // `insert` on an existing key keeps its position, so a replaced entry
    // stays where the user had it.
    servers.insert(name.to_string(), entry);
    Ok(added)
}

/// Take `mcpServers.<name>` out when it is `entry` (or whatever it is, with
/// `force`). Everything else, an emptied `mcpServers` included, stays.
pub fn remove(
    root: &mut Map<String, Value>,
    path: &Path,
    name: &str,
    entry: &Value,
    force: bool,
) -> Result<Removed, DesktopError> {
    let Some(servers) = root.get_mut("mcpServers").and_then(Value::as_object_mut) else {
        return Ok(Removed::NotRegistered);
    };
    match servers.get(name) {
        None => Ok(Removed::NotRegistered),
        Some(existing) if existing != entry && !force => Err(differs(path, name, existing)),
        Some(_) => {
            // `shift_remove` keeps the order of the entries that remain.
            servers.shift_remove(name);
            Ok(Removed::Removed)
        }
    }
}

fn differs(path: &Path, name: &str, existing: &Value) -> DesktopError {
    DesktopError::Differs {
        path: path.to_path_buf(),
        name: name.to_string(),
        existing: existing.to_string(),
    }
}

/// The document as Claude Desktop writes it: two-space indent, final
/// newline.
pub fn render(root: &Map<String, Value>) -> String {
    let mut text = serde_json::to_string_pretty(root).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

/// Run `sqlwarden install claude-desktop`.
pub fn install(entry: &ServerEntry, args: &DesktopArgs) -> ExitStatus {
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
pub fn uninstall(entry: &ServerEntry, args: &DesktopArgs) -> ExitStatus {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry() -> Value {
        serde_json::json!({"command": "/usr/bin/sqlwarden", "args": ["serve"]})
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse("{\n  \"a\": 1,\n  oops\n}", Path::new("/x.json")).unwrap_err();
        let DesktopError::Malformed { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 3));
        assert!(err.to_string().contains("/x.json"), "{err}");
    }

    #[test]
    fn non_object_root_or_servers_is_refused() {
        let root = parse("[1]", Path::new("c.json")).unwrap_err();
        assert!(root.to_string().contains("an array"), "{root}");
        let servers = parse(r#"{"mcpServers": "x"}"#, Path::new("c.json")).unwrap_err();
        assert!(
            servers.to_string().contains("`mcpServers` is a string"),
            "{servers}"
        );
    }

    #[test]
    fn add_keeps_other_keys_in_order_and_is_idempotent() {
        let path = Path::new("c.json");
        let mut root = parse(
            r#"{"z": 1, "mcpServers": {"other": {"command": "x"}}, "a": [true]}"#,
            path,
        )
        .unwrap();
        assert_eq!(
            add(&mut root, path, "sqlwarden", entry(), false).unwrap(),
            Added::New
        );
        assert_eq!(
            add(&mut root, path, "sqlwarden", entry(), false).unwrap(),
            Added::AlreadyRegistered
        );
        let keys: Vec<_> = root.keys().cloned().collect();
        assert_eq!(keys, ["z", "mcpServers", "a"]);
        let servers: Vec<_> = root["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(servers, ["other", "sqlwarden"]);
    }

    #[test]
    fn a_differing_entry_needs_force_and_keeps_its_place() {
        let path = Path::new("c.json");
        let mut root = parse(
            r#"{"mcpServers": {"sqlwarden": {"command": "old"}, "b": {}}}"#,
            path,
        )
        .unwrap();
        let err = add(&mut root, path, "sqlwarden", entry(), false).unwrap_err();
        assert!(matches!(err, DesktopError::Differs { .. }));
        assert_eq!(root["mcpServers"]["sqlwarden"]["command"], "old");
        assert_eq!(
            add(&mut root, path, "sqlwarden", entry(), true).unwrap(),
            Added::Replaced
        );
        let servers: Vec<_> = root["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(servers, ["sqlwarden", "b"]);
    }

    #[test]
    fn remove_takes_out_only_the_matching_entry() {
        let path = Path::new("c.json");
        let mut root = parse(
            r#"{"mcpServers": {"a": {}, "sqlwarden": {"command": "other"}, "c": {}}}"#,
            path,
        )
        .unwrap();
        assert!(remove(&mut root, path, "sqlwarden", &entry(), false).is_err());
        assert_eq!(
            remove(&mut root, path, "missing", &entry(), false).unwrap(),
            Removed::NotRegistered
        );
        assert_eq!(
            remove(&mut root, path, "sqlwarden", &entry(), true).unwrap(),
            Removed::Removed
        );
        assert_eq!(
            render(&root),
            "{\n  \"mcpServers\": {\n    \"a\": {},\n    \"c\": {}\n  }\n}\n"
        );
    }
}
