//! Typed parsing of the three config files, with every error located.
//!
//! A file that parses as a whole is done. One that does not is parsed again
//! part by part (each top-level section, each connection, each source and
//! table entry, each join), every part cut out of the text with
//! [`isolate`] so lines and columns stay true; that yields one error per
//! broken part instead of only the first. The whole-file error is the
//! fallback when no part fails on its own (a syntax error, say).
//!
//! This module checks shapes only; [`super::validate`] checks how the files
//! fit together.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::MessageFormatter;

use super::yaml_tree::{isolate, Node, Range, YamlTree};
use super::{
    ConfigError, ConnectionsFile, JoinDef, JoinsFile, MaxComputeConnection, PolicyFile,
    PostgresConnection, SourcePolicy, TablePolicy,
};

/// The engines `engine:` accepts, as written in config.
const ENGINE_NAMES: &[&str] = &["postgres", "maxcompute"];

/// A parsed file, or every error found in it.
pub(crate) type ParseResult<T> = Result<T, Vec<ConfigError>>;

/// Parse `connections.yaml`.
pub(crate) fn connections(file: &Path, text: &str) -> ParseResult<ConnectionsFile> {
    parse_file(file, text, |probe, root| {
        for (key, value) in root.entries() {
            if key.as_str() == Some("connections") && value.is_map() {
                for (name, body) in value.entries() {
                    probe_connection(probe, name, body);
                }
            } else {
                probe.part::<ConnectionsFile>(Range::entry(key, value), &[]);
            }
        }
    })
}

/// Parse `policy.yaml` (the user's or the managed one).
pub(crate) fn policy(file: &Path, text: &str) -> ParseResult<PolicyFile> {
    parse_file(file, text, |probe, root| {
        for (key, value) in root.entries() {
            if key.as_str() == Some("sources") && value.is_map() {
                for (name, body) in value.entries() {
                    probe_source(probe, name, body);
                }
            } else {
                probe.part::<PolicyFile>(Range::entry(key, value), &[]);
            }
        }
    })
}

/// Parse `catalog/joins.yaml`.
pub(crate) fn joins(file: &Path, text: &str) -> ParseResult<JoinsFile> {
    parse_file(file, text, |probe, root| {
        for (key, value) in root.entries() {
            match &value.kind {
                super::yaml_tree::NodeKind::Seq(items) if key.as_str() == Some("joins") => {
                    for item in items {
                        probe.part::<JoinDef>(Range::of(item), &[]);
                    }
                }
                _ => probe.part::<JoinsFile>(Range::entry(key, value), &[]),
            }
        }
    })
}

/// Parse a catalog file whose key `list` holds a sequence of `Item`s (the
/// semantic layer's `domains`, `terms` and `metrics` files): each item is
/// probed on its own, like the joins.
pub(crate) fn catalog_list<T: DeserializeOwned, Item: DeserializeOwned>(
    file: &Path,
    text: &str,
    list: &str,
) -> ParseResult<T> {
    parse_file(file, text, |probe, root| {
        for (key, value) in root.entries() {
            match &value.kind {
                super::yaml_tree::NodeKind::Seq(items) if key.as_str() == Some(list) => {
                    for item in items {
                        probe.part::<Item>(Range::of(item), &[]);
                    }
                }
                _ => probe.part::<T>(Range::entry(key, value), &[]),
            }
        }
    })
}

/// Parse a file of type `T` whose top-level keys are each checked on their
/// own when the whole does not parse (every field of `T` optional or
/// defaulted, so a one-key mapping parses when that key is right): one
/// error per broken section. For files above this floor, such as team
/// mode's `server.yaml`.
pub(crate) fn sections<T: DeserializeOwned>(file: &Path, text: &str) -> ParseResult<T> {
    parse_file(file, text, |probe, root| {
        for (key, value) in root.entries() {
            probe.part::<T>(Range::entry(key, value), &[]);
        }
    })
}

/// Parse the whole file; on failure, run `split` over the tree to find every
/// broken part.
fn parse_file<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    split: impl Fn(&mut Probe<'_>, &Node),
) -> ParseResult<T> {
    // The positioned tree is only built to locate errors: a good file is
    // parsed once.
    let err = match serde_saphyr::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let mut probe = Probe {
        file,
        text,
        errors: Vec::new(),
    };
    if let Some(YamlTree {
        root: Some(root),
        has_aliases: false,
    }) = YamlTree::parse(text)
    {
        if root.is_map() {
            split(&mut probe, &root);
        }
    }
    if probe.errors.is_empty() {
        probe.errors.push(from_serde(file, &err));
    }
    Err(probe.errors)
}

/// A connection: check `engine:` here (serde's internally tagged enums lose
/// the position), then parse the rest as that engine's struct.
fn probe_connection(probe: &mut Probe<'_>, name: &Node, body: &Node) {
    let label = name.as_str().unwrap_or("?");
    if !body.is_map() {
        probe.part::<ConnectionsFile>(Range::entry(name, body), &[]);
        return;
    }
    let Some((engine_key, engine)) = body.entry("engine") else {
        probe.error(
            body,
            format!(
                "connection `{label}` has no `engine:`; expected one of {}",
                quoted_list(ENGINE_NAMES)
            ),
        );
        return;
    };
    let drop = [Range::entry(engine_key, engine)];
    match engine.as_str() {
        Some("postgres") => probe.part::<PostgresConnection>(Range::of(body), &drop),
        Some("maxcompute") => probe.part::<MaxComputeConnection>(Range::of(body), &drop),
        other => probe.error(
            engine,
            format!(
                "unknown engine `{}` for connection `{label}`; expected one of {}",
                other.unwrap_or("(not a string)"),
                quoted_list(ENGINE_NAMES)
            ),
        ),
    }
}

/// A source: each of its sections, and each table, on its own.
fn probe_source(probe: &mut Probe<'_>, name: &Node, body: &Node) {
    if !body.is_map() {
        probe.part::<BTreeMap<String, SourcePolicy>>(Range::entry(name, body), &[]);
        return;
    }
    for (key, value) in body.entries() {
        if key.as_str() == Some("tables") && value.is_map() {
            for (table, policy) in value.entries() {
                probe_table(probe, table, policy);
            }
        } else {
            probe.part::<SourcePolicy>(Range::entry(key, value), &[]);
        }
    }
}

/// A table: each of its keys on its own (every field of [`TablePolicy`] is
/// optional, so a one-key mapping parses when that key is right).
fn probe_table(probe: &mut Probe<'_>, name: &Node, body: &Node) {
    if !body.is_map() {
        probe.part::<BTreeMap<String, TablePolicy>>(Range::entry(name, body), &[]);
        return;
    }
    for (key, value) in body.entries() {
        probe.part::<TablePolicy>(Range::entry(key, value), &[]);
    }
}

/// Parses parts of one file and collects their errors.
struct Probe<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Probe<'_> {
    /// Parse the text in `keep` (minus `drop`) as `T`; record its error.
    fn part<T: DeserializeOwned>(&mut self, keep: Range, drop: &[Range]) {
        let text = isolate(self.text, keep, drop);
        if let Err(err) = serde_saphyr::from_str::<T>(&text) {
            self.errors.push(from_serde(self.file, &err));
        }
    }

    /// Record an error at `node`.
    fn error(&mut self, node: &Node, message: String) {
        self.errors.push(ConfigError::at(self.file, node, message));
    }
}

/// A serde-saphyr error as a [`ConfigError`]: its message without the
/// snippet, and its position.
fn from_serde(file: &Path, err: &serde_saphyr::Error) -> ConfigError {
    let err = err.without_snippet();
    let message = serde_saphyr::UserMessageFormatter
        .format_message(err)
        .into_owned();
    let location = err.location();
    ConfigError {
        file: file.to_path_buf(),
        line: location.and_then(|l| usize::try_from(l.line()).ok()),
        column: location.and_then(|l| usize::try_from(l.column()).ok()),
        message: explain(message),
    }
}

/// serde-saphyr's terse messages, said in full.
fn explain(message: String) -> String {
    match message.as_str() {
        "expected mapping start" => {
            return "expected `key: value` entries here (an empty value is not an empty mapping; write `{}`)".into();
        }
        "expected sequence start" => {
            return "expected a list here (`[a, b]` or `- a` lines; write `[]` for none)".into();
        }
        _ => {}
    }
    match message.strip_prefix("invalid ") {
        Some(ty @ ("u16" | "u32" | "u64" | "i64")) => {
            format!("invalid value: expected a whole number ({ty})")
        }
        Some("bool" | "boolean") => "invalid value: expected `true` or `false`".into(),
        _ => message,
    }
}

/// `a`, `b` and `c` as "`a`, `b`, `c`".
pub(crate) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
