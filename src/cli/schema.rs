//! `sqlwarden schema` (hidden): print or write the config files' JSON
//! Schemas, generated from the structs that parse them.
//!
//! `sqlwarden schema policy` prints one; `sqlwarden schema --out
//! config/schema` rewrites the published set (what a developer runs after
//! changing a config struct; a test fails until they do).

use std::path::PathBuf;

use clap::Args;

use crate::config::schema::{SchemaFile, SCHEMA_FILES};
use crate::server::http::SERVER_SCHEMA;

use super::{printer, ExitStatus};

/// Arguments of `sqlwarden schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which file's schema to print: connections, policy, joins, domains,
    /// terms, metrics or server.
    #[arg(required_unless_present = "out", conflicts_with = "out")]
    pub name: Option<String>,
    /// Write every schema into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Every schema: the config floor's and team mode's `server.yaml`.
fn all() -> impl Iterator<Item = &'static SchemaFile> {
    SCHEMA_FILES.iter().chain(std::iter::once(&SERVER_SCHEMA))
}

/// Run `sqlwarden schema`.
pub(crate) fn run(args: SchemaArgs) -> ExitStatus {
    if let Some(dir) = args.out {
        for schema in all() {
            let path = dir.join(schema.file_name);
            let written =
                fs_err::create_dir_all(&dir).and_then(|()| fs_err::write(&path, schema.generate()));
            if let Err(e) = written {
                printer::error(
                    &format!("Could not write the schema: {e}"),
                    Some("Check that the directory is writable"),
                );
                return ExitStatus::Error;
            }
            printer::status(&format!("wrote {}", path.display()));
        }
        return ExitStatus::Success;
    }
    let name = args.name.unwrap_or_default();
    match all().find(|s| s.name == name) {
        Some(schema) => {
            printer::out(schema.generate().trim_end());
            ExitStatus::Success
        }
        None => {
            let names: Vec<&str> = all().map(|s| s.name).collect();
            printer::error(
                &format!("No config file is called `{name}`"),
                Some(&format!("Use one of: {}", names.join(", "))),
            );
            ExitStatus::Error
        }
    }
}
