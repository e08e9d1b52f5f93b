//! JSON Schemas of the config files, generated from the same typed structs
//! that parse them, so an editor (through the YAML language server)
//! completes keys, shows the doc comments and flags a misspelt key exactly
//! as `sqlwarden check` would.
//!
//! The published copies live in `config/schema/` and are compiled in, so
//! `init` and `demo` write them next to the YAML files they describe; a
//! test fails when a committed copy differs from what the structs generate.
//! Regenerate them with `cargo run -- schema --out config/schema`.

use schemars::JsonSchema;
use serde_json::Value;

use super::catalog::JoinsFile;
use super::connections::ConnectionsFile;
use super::policy_file::PolicyFile;
use super::semantic_catalog::{DomainsFile, MetricsFile, TermsFile};

/// The directory, relative to a config directory, that holds the schemas.
pub(crate) const SCHEMA_DIR: &str = "schema";

/// The comment that points the YAML language server at a schema.
pub const HEADER_PREFIX: &str = "# yaml-language-server: $schema=";

/// One config file and its schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaFile {
    /// Short name, as `sqlwarden schema <name>` takes it.
    pub name: &'static str,
    /// The config file it describes, relative to the config directory.
    pub config_file: &'static str,
    /// The schema's file name inside [`SCHEMA_DIR`].
    pub file_name: &'static str,
    /// The committed copy, as `init` and `demo` write it.
    pub published: &'static str,
    generate: fn() -> Value,
}

impl SchemaFile {
    /// A schema for a config file whose struct lives above the config
    /// floor (team mode's `server.yaml`): `generate` makes it from that
    /// struct.
    pub(crate) const fn new(
        name: &'static str,
        config_file: &'static str,
        file_name: &'static str,
        published: &'static str,
        generate: fn() -> Value,
    ) -> Self {
        Self {
            name,
            config_file,
            file_name,
            published,
            generate,
        }
    }

    /// The schema generated from the structs, as pretty JSON with a final
    /// newline (the form committed in `config/schema/`).
    pub fn generate(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&(self.generate)()).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }

    /// The schema's path relative to the config directory.
    pub(crate) fn path(&self) -> String {
        format!("{SCHEMA_DIR}/{}", self.file_name)
    }

    /// The header line for the config file: the schema's path relative to
    /// the directory the config file sits in.
    pub(crate) fn header(&self) -> String {
        let depth = self.config_file.matches('/').count();
        format!("{HEADER_PREFIX}{}{}", "../".repeat(depth), self.path())
    }
}

/// The JSON Schema of `T`.
pub(crate) fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Every config file that has a schema.
pub const SCHEMA_FILES: &[SchemaFile] = &[
    SchemaFile {
        name: "connections",
        config_file: super::CONNECTIONS_FILE,
        file_name: "connections.schema.json",
        published: include_str!("../../config/schema/connections.schema.json"),
        generate: schema_of::<ConnectionsFile>,
    },
    SchemaFile {
        name: "policy",
        config_file: super::POLICY_FILE,
        file_name: "policy.schema.json",
        published: include_str!("../../config/schema/policy.schema.json"),
        generate: schema_of::<PolicyFile>,
    },
    SchemaFile {
        name: "joins",
        config_file: super::JOINS_FILE,
        file_name: "joins.schema.json",
        published: include_str!("../../config/schema/joins.schema.json"),
        generate: schema_of::<JoinsFile>,
    },
    SchemaFile {
        name: "domains",
        config_file: super::semantic_catalog::DOMAINS_FILE,
        file_name: "domains.schema.json",
        published: include_str!("../../config/schema/domains.schema.json"),
        generate: schema_of::<DomainsFile>,
    },
    SchemaFile {
        name: "terms",
        config_file: super::semantic_catalog::TERMS_FILE,
        file_name: "terms.schema.json",
        published: include_str!("../../config/schema/terms.schema.json"),
        generate: schema_of::<TermsFile>,
    },
    SchemaFile {
        name: "metrics",
        config_file: super::semantic_catalog::METRICS_FILE,
        file_name: "metrics.schema.json",
        published: include_str!("../../config/schema/metrics.schema.json"),
        generate: schema_of::<MetricsFile>,
    },
];

/// The schema of the config file at `config_file` (relative to the config
/// directory), if it has one.
pub fn for_config_file(config_file: &str) -> Option<&'static SchemaFile> {
    SCHEMA_FILES.iter().find(|s| s.config_file == config_file)
}

/// `contents` with its first line set to the schema header that resolves
/// from `config_file`'s place in a config directory. A file without a
/// header, or without a schema, is returned as it is.
pub(crate) fn with_header(config_file: &str, contents: &str) -> String {
    let Some(schema) = for_config_file(config_file) else {
        return contents.to_string();
    };
    match contents.split_once('\n') {
        Some((first, rest)) if first.starts_with(HEADER_PREFIX) => {
            format!("{}\n{rest}", schema.header())
        }
        _ => contents.to_string(),
    }
}

/// The published schemas as (path relative to the config directory,
/// contents), for `init` and `demo` to write.
pub(crate) fn published_files() -> impl Iterator<Item = (String, &'static str)> {
    SCHEMA_FILES.iter().map(|s| (s.path(), s.published))
}

#[cfg(test)]
mod tests;
