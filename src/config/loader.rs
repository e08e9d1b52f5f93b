//! Reading a config directory: the files, then parse, the connection
//! fields the environment sets ([`super::env_fields`]), validate and merge,
//! then the semantic catalog files.
//!
//! Errors are collected across all files before anything is returned, so one
//! run of `sqlwarden check` shows every problem. A managed policy file that
//! exists but cannot be read or parsed is an error (fail closed), never
//! skipped. The hash in [`Config::policy_sha256`] is over the bytes as read,
//! so any edit to a policy input changes it.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::managed::tighten;
use super::parse::{self, ParseResult};
use super::validate::{self, PolicyContext};
use super::yaml_tree::{Node, YamlTree};
use super::{
    env_fields, semantic_catalog, Config, ConfigError, CONNECTIONS_FILE, JOINS_FILE, POLICY_FILE,
};

/// One file as read: its path and text (`None` when optional and absent).
struct Source {
    path: PathBuf,
    text: Option<String>,
}

/// Load `dir`, merging the managed policy at `managed_path` when it exists.
pub(crate) fn load(dir: &Path, managed_path: &Path) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let connections_src = read(dir.join(CONNECTIONS_FILE), true, &mut errors);
    let policy_src = read(dir.join(POLICY_FILE), true, &mut errors);
    let joins_src = read(dir.join(JOINS_FILE), false, &mut errors);
    let managed_src = read(managed_path.to_path_buf(), false, &mut errors);

    let connections = parsed(&connections_src, parse::connections, &mut errors);
    let policy = parsed(&policy_src, parse::policy, &mut errors);
    let joins = parsed(&joins_src, parse::joins, &mut errors);
    let managed = parsed(&managed_src, parse::policy, &mut errors);
    let (Some(mut connections), Some(policy)) = (connections, policy) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    // Before validation, so what is validated (and used) is what runs.
    let env_fields = env_fields::apply(
        &connections_src.path,
        connections_src.text.as_deref().unwrap_or_default(),
        &mut connections,
        std::env::vars_os(),
    )?;

    let identity = managed
        .as_ref()
        .and_then(|m| m.identity.as_ref())
        .or(policy.identity.as_ref());
    let user_cx = PolicyContext {
        connections: &connections,
        identity,
        managed: false,
    };
    errors.extend(located(&policy_src, |root| {
        validate::policy(&policy_src.path, root, &policy, &user_cx)
    }));
    if let Some(managed) = &managed {
        let managed_cx = PolicyContext {
            managed: true,
            ..user_cx
        };
        errors.extend(located(&managed_src, |root| {
            validate::policy(&managed_src.path, root, managed, &managed_cx)
        }));
    }
    if let Some(joins) = &joins {
        errors.extend(located(&joins_src, |root| {
            validate::joins(&joins_src.path, root, joins, &policy, &connections)
        }));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // The catalog is read only once the rest holds, so a broken policy is
    // reported on its own first. Whether it fits the policy is checked by
    // the semantic layer, which knows the policy.
    let catalog = semantic_catalog::read(dir)?;
    let policy_sha256 = policy_hash(&[&policy_src, &managed_src, &joins_src]);
    let merged = match &managed {
        Some(managed) => tighten(policy, managed),
        None => policy,
    };
    Ok(Config {
        dir: dir.to_path_buf(),
        connections,
        policy: merged,
        joins: joins.unwrap_or_default(),
        catalog,
        policy_sha256,
        managed_policy: managed.map(|_| managed_src.path),
        env_fields,
    })
}

/// Read one file. A missing required file is an error that says how to
/// make one; a missing optional file is simply absent.
fn read(path: PathBuf, required: bool, errors: &mut Vec<ConfigError>) -> Source {
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == io::ErrorKind::NotFound && !required => None,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            errors.push(ConfigError::in_file(
                &path,
                "file not found; run `sqlwarden init` to write an example config set, or point `--config-dir` / `SQLWARDEN_CONFIG_DIR` at an existing one".into(),
            ));
            None
        }
        Err(err) => {
            let cause = match err.kind() {
                io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
                _ => io::Error::from(err.kind()).to_string(),
            };
            errors.push(ConfigError::in_file(
                &path,
                format!("cannot read the file: {cause}"),
            ));
            None
        }
    };
    Source { path, text }
}

/// Run `check` without positions; when it finds errors, run it again over
/// the file's positioned tree so each error points at its key or value. A
/// good config never builds the tree.
fn located(source: &Source, check: impl Fn(Option<&Node>) -> Vec<ConfigError>) -> Vec<ConfigError> {
    let errors = check(None);
    if errors.is_empty() {
        return errors;
    }
    let root = source
        .text
        .as_deref()
        .and_then(YamlTree::parse)
        .and_then(|tree| tree.root);
    check(root.as_ref())
}

/// Parse a file that was read; record its errors.
fn parsed<T>(
    source: &Source,
    parse: fn(&Path, &str) -> ParseResult<T>,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let text = source.text.as_deref()?;
    parse(&source.path, text)
        .map_err(|errs| errors.extend(errs))
        .ok()
}

/// SHA-256 (hex) over the policy inputs. Each contributes its length and
/// bytes, or a marker when absent, so moving text between files or deleting
/// one also changes the hash.
fn policy_hash(sources: &[&Source]) -> String {
    let mut hasher = Sha256::new();
    for source in sources {
        match &source.text {
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0u8]),
        }
    }
    hex::encode(hasher.finalize())
}
