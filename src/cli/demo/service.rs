//! libpq's connection service file: `PGSERVICE` names a section of
//! `PGSERVICEFILE` (default `~/.pg_service.conf`) or, failing that, of
//! `pg_service.conf` in `PGSYSCONFDIR`, holding `key=value` lines.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `key=value` settings of `service`, from the first file that has
/// the section; `None` when none has it.
pub(crate) fn lookup(service: &str) -> Option<BTreeMap<String, String>> {
    files()
        .into_iter()
        .filter_map(|path| fs_err::read_to_string(path).ok())
        .find_map(|text| section(&text, service))
}

fn files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    match std::env::var_os("PGSERVICEFILE") {
        Some(file) => files.push(PathBuf::from(file)),
        None => {
            if let Some(home) = directories::BaseDirs::new() {
                files.push(home.home_dir().join(".pg_service.conf"));
            }
        }
    }
    if let Some(dir) = std::env::var_os("PGSYSCONFDIR") {
        files.push(PathBuf::from(dir).join("pg_service.conf"));
    }
    files
}

/// The settings under `[service]` in `text`, if that section exists.
pub(crate) fn section(text: &str, service: &str) -> Option<BTreeMap<String, String>> {
    let mut found = None;
    let mut current: Option<&str> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(service) {
                found.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if current == Some(service) {
            if let (Some((key, value)), Some(settings)) = (line.split_once('='), found.as_mut()) {
                settings.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
    }
    found
}
