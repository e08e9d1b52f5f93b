//! `sqlwarden schema` (hidden): print or write the config files' JSON
//! Schemas, generated from the structs that parse them.
//!
//! `sqlwarden schema policy` prints one; `sqlwarden schema --out
//! config/schema` rewrites the published set (what a developer runs after
//! changing a config struct; a test fails until they do).

use std::path::PathBuf;

use clap::Args;

use crate::config::schema::SCHEMA_FILES;

use super::{printer, ExitStatus};

/// Arguments of `sqlwarden schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which file's schema to print: connections, policy, joins, domains,
    /// terms or metrics.
    #[arg(required_unless_present = "out", conflicts_with = "out")]
    pub name: Option<String>,
    /// Write every schema into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Run `sqlwarden schema`.
pub(crate) fn run(args: SchemaArgs) -> ExitStatus {
    if let Some(dir) = args.out {
        for schema in SCHEMA_FILES {
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
    match SCHEMA_FILES.iter().find(|s| s.name == name) {
        Some(schema) => {
            printer::out(schema.generate().trim_end());
            ExitStatus::Success
        }
        None => {
            let names: Vec<&str> = SCHEMA_FILES.iter().map(|s| s.name).collect();
            printer::error(
                &format!("No config file is called `{name}`"),
                Some(&format!("Use one of: {}", names.join(", "))),
            );
            ExitStatus::Error
        }
    }
}
