//! The edits `install` and `uninstall claude-desktop` make to the JSON
//! document, without any I/O: every other key and entry is kept in its
//! order (serde_json's `preserve_order`), a document that does not parse is
//! refused with its line and column, and a differing entry under the same
//! name is only replaced or removed with `force`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ServerEntry;

/// Why the file cannot be changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DesktopError {
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
pub(crate) enum Added {
    /// The entry was new.
    New,
    /// A differing entry was replaced (`--force`).
    Replaced,
    /// The identical entry was there already; nothing changed.
    AlreadyRegistered,
}

/// What [`remove`] did to the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The entry was taken out.
    Removed,
    /// There was no entry of that name; nothing changed.
    NotRegistered,
}

/// The JSON value of an entry, as Claude Desktop expects it.
pub(crate) fn entry_json(entry: &ServerEntry) -> Value {
    serde_json::json!({
        "command": entry.command.to_string_lossy(),
        "args": entry.args,
    })
}

/// Parse the file's text. Empty (or all-whitespace) text is an empty
/// object, as Claude Desktop treats a file it has just created.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Map<String, Value>, DesktopError> {
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
pub(crate) fn add(
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
pub(crate) fn remove(
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
pub(crate) fn render(root: &Map<String, Value>) -> String {
    let mut text = serde_json::to_string_pretty(root).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
