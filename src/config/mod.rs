//! Loading and validating the configuration directory.
//!
//! The directory holds `connections.yaml`, `policy.yaml`,
//! `catalog/joins.yaml` and the semantic layer's `catalog/domains.yaml`,
//! `terms.yaml` and `metrics.yaml` ([`semantic_catalog`]). Every file is
//! parsed into typed structs with
//! `deny_unknown_fields`, so a misspelt key is an error, and every error
//! names the file, the line and the column. The managed (administrator)
//! policy is merged in [`managed`]; it can only tighten the user's.
//!
//! What does what: `parse` turns each file into its typed struct (every
//! broken part reported, not only the first), `validate` checks how the
//! files fit together, `managed` merges the administrator's layer, and
//! `loader` reads the directory and runs the three in order.
//!
//! This is the ground floor: it imports nothing of policy, semantic, guard,
//! engine or tools, which all build on it. A check that needs the policy's
//! decisions (whether a metric reads only allowed columns) is made above,
//! where both are known: `semantic::check_catalog`, run at session start
//! and by `sqlwarden check`, reports through [`CatalogFiles::locator`] with
//! the same `file:line:column` errors.

pub(crate) mod builtin;
pub(crate) mod catalog;
pub(crate) mod connections;
pub mod env_fields;
mod loader;
pub mod managed;
mod parse;
pub(crate) mod policy_file;
pub mod schema;
pub mod semantic_catalog;
mod validate;
mod yaml_tree;

use std::fmt;
use std::path::{Path, PathBuf};

pub(crate) use catalog::JoinDef;
pub use catalog::JoinsFile;
pub(crate) use connections::{Acceleration, AuthRule, Channel};
pub use connections::{
    AccelerationMode, AuthMethod, Connection, ConnectionsFile, EngineKind, MaxComputeConnection,
    PostgresConnection, ResultRead, SslMode,
};
pub use env_fields::{ConnField, EnvField};
pub(crate) use parse::sections as parse_sections;
pub(crate) use policy_file::{
    AttributeValue, AuditSettings, CacheSettings, Limits, RateLimit, RateLimits, RowPolicy, Scalar,
    Security, SourcePolicy, TablePolicy,
};
pub use policy_file::{AuditSync, Identity, PolicyFile};
pub(crate) use semantic_catalog::{CatalogFiles, SemanticCatalog};

/// Environment variable that overrides the config directory.
pub const CONFIG_DIR_ENV: &str = "SQLWARDEN_CONFIG_DIR";

/// The connections file, relative to the config directory.
pub(crate) const CONNECTIONS_FILE: &str = "connections.yaml";
/// The policy file, relative to the config directory.
pub(crate) const POLICY_FILE: &str = "policy.yaml";
/// The approved-joins file, relative to the config directory (optional).
pub(crate) const JOINS_FILE: &str = "catalog/joins.yaml";

/// Every tool name `tools:` in `policy.yaml` may switch off.
pub(crate) const TOOL_NAMES: &[&str] = &[
    "list_sources",
    "list_allowed_tables",
    "describe_table",
    "list_partitions",
    "get_join_paths",
    "preview_table",
    "run_select_sql",
    "estimate_query_cost",
    "list_domains",
    "search_business_terms",
    "list_metrics",
    "get_metric_definition",
    "get_dimensions",
    "generate_metric_sql",
    "validate_metric_query",
    "run_metric_query",
    "query_table",
];

/// Everything loaded from one config directory, validated and merged with
/// the managed policy when one exists. (`Default` is an empty config, the
/// base for one built in code rather than read from a directory.)
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The directory it came from.
    pub dir: PathBuf,
    /// `connections.yaml`.
    pub connections: ConnectionsFile,
    /// `policy.yaml`, already tightened by the managed policy.
    pub policy: PolicyFile,
    /// `catalog/joins.yaml` (empty when the file is absent).
    pub joins: JoinsFile,
    /// The semantic layer's `catalog/domains.yaml`, `terms.yaml` and
    /// `metrics.yaml`, parsed but not yet checked against policy.
    pub catalog: CatalogFiles,
    /// SHA-256 (hex) over the policy inputs as read (user policy, managed
    /// policy, joins), so the audit log shows when policy changed.
    pub policy_sha256: String,
    /// The managed policy file that was merged in, if any.
    pub managed_policy: Option<PathBuf>,
    /// Connection fields that `SQLWARDEN_CONN_<NAME>_*` variables replaced
    /// ([`env_fields`]), by variable name.
    pub env_fields: Vec<EnvField>,
}

/// A configuration problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error at a node of the file.
    pub(crate) fn at(file: &Path, node: &yaml_tree::Node, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            line: Some(node.pos.line),
            column: Some(node.pos.column),
            message,
        }
    }

    /// An error about the file as a whole.
    pub(crate) fn in_file(file: &Path, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message,
        }
    }
}

/// The config directory: `explicit` (from `--config-dir`), else
/// `SQLWARDEN_CONFIG_DIR`, else the user's config directory for sqlwarden.
/// `None` only when no home directory can be found.
pub fn resolve_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    match std::env::var_os(CONFIG_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => directories::ProjectDirs::from("", "", "sqlwarden")
            .map(|dirs| dirs.config_dir().to_path_buf()),
    }
}

/// Load, validate and merge the config in `dir` (with the managed policy
/// from [`managed::managed_policy_path`] when that file exists).
///
/// Every problem found is returned, each naming its file and, where it has
/// one, the line and column.
pub fn load(dir: &Path) -> Result<Config, Vec<ConfigError>> {
    loader::load(dir, &managed::managed_policy_path())
}

/// [`load`] with the managed policy read from `managed` (when that file
/// exists) instead of [`managed::managed_policy_path`].
pub fn load_with_managed(dir: &Path, managed: &Path) -> Result<Config, Vec<ConfigError>> {
    loader::load(dir, managed)
}
