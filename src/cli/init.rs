//! `sqlwarden init`: write the commented example config set.
//!
//! The files are compiled in from `config/`, so `init` reads no config, no
//! keyring and no network. Existing files are never overwritten without
//! `--force`; `init` checks all of them before writing any. The JSON
//! Schemas the files' headers point at are written too, under `schema/`.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::config;
use crate::config::schema;

use super::{printer, ExitStatus};

/// The example config set, as (relative path, contents).
pub const EXAMPLE_FILES: &[(&str, &str)] = &[
    (
        "connections.yaml",
        include_str!("../../config/connections.yaml"),
    ),
    ("policy.yaml", include_str!("../../config/policy.yaml")),
    (
        "catalog/joins.yaml",
        include_str!("../../config/catalog/joins.yaml"),
    ),
    (
        "catalog/domains.yaml",
        include_str!("../../config/catalog/domains.yaml"),
    ),
    (
        "catalog/terms.yaml",
        include_str!("../../config/catalog/terms.yaml"),
    ),
    (
        "catalog/metrics.yaml",
        include_str!("../../config/catalog/metrics.yaml"),
    ),
];

/// Arguments of `sqlwarden init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// Run `sqlwarden init`.
pub fn run(config_dir: Option<&Path>, args: InitArgs) -> ExitStatus {
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error(
            "No config directory could be determined",
            Some("Pass `--config-dir DIR` or set `SQLWARDEN_CONFIG_DIR`"),
        );
        return ExitStatus::Error;
    };
    // The schemas go beside the files so their `$schema` headers resolve.
    let targets: Vec<(PathBuf, &str)> = EXAMPLE_FILES
        .iter()
        .map(|(relative, contents)| (dir.join(relative), *contents))
        .chain(schema::published_files().map(|(relative, contents)| (dir.join(relative), contents)))
        .collect();
    if !args.force {
        let existing: Vec<String> = targets
            .iter()
            .filter(|(path, _)| path.exists())
            .map(|(path, _)| format!("`{}`", path.display()))
            .collect();
        if !existing.is_empty() {
            printer::error(
                &format!("Not overwriting {}", existing.join(", ")),
                Some("Edit the existing files, or run `sqlwarden init --force` to replace them with the examples"),
            );
            return ExitStatus::Failure;
        }
    }
    for (path, contents) in &targets {
        let written = path
            .parent()
            .map_or(Ok(()), fs_err::create_dir_all)
            .and_then(|()| fs_err::write(path, contents));
        if let Err(e) = written {
            printer::error(
                &format!("Could not write the example config: {e}"),
                Some("Check that the directory is writable, or pass another `--config-dir`"),
            );
            return ExitStatus::Error;
        }
    }
    printer::out(&format!(
        "Wrote the example config to `{}`.\n\nNext: edit `connections.yaml` and `policy.yaml`, store secrets with `sqlwarden auth set <connection>`, then run `sqlwarden check`.",
        dir.display()
    ));
    ExitStatus::Success
}
