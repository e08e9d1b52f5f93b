//! The static token store: one JSON file in the config directory holding,
//! per token, its id, the SHA-256 of the token, the identity it stands for,
//! when it was made, when it expires and whether it was revoked. The token
//! itself is printed once by `sqlwarden token create` and never stored.
//!
//! A token is `sqlw_` and 43 base64url characters (32 random bytes), so
//! its SHA-256 cannot be inverted by guessing and needs no salt; the
//! prefix lets a secret scanner recognise a leaked one.
//!
//! Every change is a read-modify-write under an advisory lock (two
//! `token create`s cannot lose one), written to a new private file (mode
//! 0600) that is synced and renamed over the old one, so a crash leaves
//! the old store or the new one, never half of each.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::AttributeValue;

use super::error::AuthError;

/// What every static token starts with.
pub(crate) const TOKEN_PREFIX: &str = "sqlw_";

/// The store format this build writes and reads.
const STORE_VERSION: u32 = 1;

/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// The store file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenFile {
    /// Format version ([`STORE_VERSION`]).
    pub(crate) version: u32,
    /// Every token ever made and not removed, revoked ones included.
    pub(crate) tokens: Vec<TokenRecord>,
}

/// One token, without the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRecord {
    /// The token's id (`tok_` and 16 hex digits): what audit records,
    /// `token list` and `token revoke` name.
    pub(crate) id: String,
    /// SHA-256 of the whole token text, hex.
    pub(crate) sha256: String,
    /// The identity's user id.
    pub(crate) user_id: String,
    /// The identity's roles.
    #[serde(default)]
    pub(crate) roles: Vec<String>,
    /// The identity's attributes.
    #[serde(default)]
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
    /// When it was made.
    pub(crate) created: DateTime<Utc>,
    /// When it stops working, if ever.
    #[serde(default)]
    pub(crate) expires: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    #[serde(default)]
    pub(crate) revoked: Option<DateTime<Utc>>,
    /// What it is for (free text from the operator).
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// What `token create` asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewToken {
    /// The identity's user id.
    pub(crate) user_id: String,
    /// The identity's roles.
    pub(crate) roles: Vec<String>,
    /// The identity's attributes.
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
    /// When it stops working, if ever.
    pub(crate) expires: Option<DateTime<Utc>>,
    /// What it is for.
    pub(crate) description: Option<String>,
}

/// A token just made: the secret (to print once) and its record.
pub(crate) struct CreatedToken {
    /// The bearer token. Print it once; it is stored nowhere.
    pub(crate) token: String,
    /// What the store now holds for it.
    pub(crate) record: TokenRecord,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &"[redacted]")
            .field("record", &self.record)
            .finish()
    }
}

/// The SHA-256 of a token's text.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Read the store at `path`. A missing file is [`AuthError::TokenStoreMissing`].
pub(crate) fn read(path: &Path) -> Result<TokenFile, AuthError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(AuthError::TokenStoreMissing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(store_error(path, format!("cannot read it: {e}"))),
    };
    let file: TokenFile = serde_json::from_slice(&text)
        .map_err(|e| store_error(path, format!("not a sqlwarden token store: {e}")))?;
    if file.version != STORE_VERSION {
        return Err(store_error(
            path,
            format!(
                "format version {} is not the {STORE_VERSION} this sqlwarden reads",
                file.version
            ),
        ));
    }
    for record in &file.tokens {
        if decode_hash(&record.sha256).is_none() {
            return Err(store_error(
                path,
                format!("token `{}` has no valid sha256", record.id),
            ));
        }
    }
    Ok(file)
}

/// The store at `path`, or an empty one when there is no file yet.
fn read_or_empty(path: &Path) -> Result<TokenFile, AuthError> {
    match read(path) {
        Err(AuthError::TokenStoreMissing { .. }) => Ok(TokenFile {
            version: STORE_VERSION,
            tokens: Vec::new(),
        }),
        other => other,
    }
}

/// Make a token for `new`, add its record to the store at `path` (created
/// when absent) and return the token with the record.
pub(crate) fn create(path: &Path, new: NewToken) -> Result<CreatedToken, AuthError> {
    let _lock = lock(path)?;
    let mut file = read_or_empty(path)?;
    let mut secret = [0u8; TOKEN_BYTES];
    random(&mut secret).map_err(|e| store_error(path, e))?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let id = loop {
        let mut raw = [0u8; 8];
        random(&mut raw).map_err(|e| store_error(path, e))?;
        let id = format!("tok_{}", hex::encode(raw));
        if !file.tokens.iter().any(|t| t.id == id) {
            break id;
        }
    };
    let record = TokenRecord {
        id,
        sha256: hex::encode(token_hash(&token)),
        user_id: new.user_id,
        roles: new.roles,
        attributes: new.attributes,
        created: Utc::now(),
        expires: new.expires,
        revoked: None,
        description: new.description,
    };
    file.tokens.push(record.clone());
    write(path, &file)?;
    Ok(CreatedToken { token, record })
}

/// Mark token `id` revoked (keeping its record, so audit records that name
/// it still resolve). Revoking a revoked token keeps the first time.
pub(crate) fn revoke(path: &Path, id: &str) -> Result<TokenRecord, AuthError> {
    let _lock = lock(path)?;
    let mut file = read(path)?;
    let Some(record) = file.tokens.iter_mut().find(|t| t.id == id) else {
        return Err(AuthError::TokenNotFound {
            id: id.to_owned(),
            path: path.to_path_buf(),
        });
    };
    record.revoked.get_or_insert_with(Utc::now);
    let record = record.clone();
    write(path, &file)?;
    Ok(record)
}

/// A hex SHA-256 as bytes.
pub(crate) fn decode_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

fn random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("the OS random source failed: {e}"))
}

fn store_error(path: &Path, reason: impl Into<String>) -> AuthError {
    AuthError::TokenStore {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Replace the store with `file`: a new private file beside it, synced,
/// renamed over it, and the directory synced so the rename survives a
/// crash.
fn write(path: &Path, file: &TokenFile) -> Result<(), AuthError> {
    let mut text = serde_json::to_vec_pretty(file).map_err(|e| store_error(path, e.to_string()))?;
    text.push(b'\n');
    let temp = sibling(path, &format!("{}.tmp", uuid::Uuid::new_v4()));
    let written = (|| -> io::Result<()> {
        let mut out = private_options().create_new(true).open(&temp)?;
        out.write_all(&text)?;
        out.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_dir(path);
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(store_error(path, format!("cannot write it: {e}")));
    }
    Ok(())
}

/// Hold an exclusive advisory lock on `<store>.lock` until dropped.
fn lock(path: &Path) -> Result<File, AuthError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| store_error(path, format!("cannot create `{}`: {e}", parent.display())))?;
    }
    let lock_path = sibling(path, "lock");
    let file = private_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| store_error(path, format!("cannot open `{}`: {e}", lock_path.display())))?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| store_error(path, format!("cannot lock `{}`: {e}", lock_path.display())))?;
    Ok(file)
}

#[cfg(unix)]
fn private_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    options
}

#[cfg(unix)]
fn sync_dir(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Best effort: the rename already happened; a failed directory
        // sync only weakens durability across a power cut.
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) {}

/// `<path>.<suffix>` in the same directory (a rename never crosses file
/// systems).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}
