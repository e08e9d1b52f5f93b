//! Checking a static bearer token against the store while the server runs.
//!
//! The store is read at start and again whenever the file changes (its
//! size, modification time or inode), which a `stat` per request notices,
//! so `sqlwarden token revoke` takes effect on the next request without a
//! restart. A presented token is hashed and compared with every stored
//! hash in constant time, so timing tells nothing about which bytes
//! matched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chrono::Utc;
use subtle::ConstantTimeEq;

use crate::config::Identity;

use super::error::{AuthError, AuthFailure, FailureReason};
use super::store::{self, TokenRecord};
use super::Caller;

/// The store as last read, and what the file looked like then.
struct Loaded {
    stamp: Option<FileStamp>,
    entries: Arc<Vec<([u8; 32], TokenRecord)>>,
}

/// Enough of a file's metadata to notice that it was replaced or edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

/// The static tokens a running server accepts.
pub(crate) struct StaticTokens {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl StaticTokens {
    /// Read the store at `path`; refuses a missing, unreadable or
    /// other-writable one.
    pub(crate) fn open(path: &Path) -> Result<Self, AuthError> {
        check_mode(path)?;
        let stamp = stamp(path);
        let file = store::read(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            loaded: Mutex::new(Loaded {
                stamp,
                entries: Arc::new(entries(file.tokens)),
            }),
        })
    }

    /// The caller a token stands for, or why it is refused.
    pub(crate) fn verify(&self, token: &str) -> Result<super::Caller, AuthFailure> {
        let entries = self.current();
        let presented = store::token_hash(token);
        // Compare against every entry, without stopping at a match, so the
        // time taken does not depend on where (or whether) it matched.
        let mut found: Option<&TokenRecord> = None;
        for (hash, record) in entries.iter() {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(record);
            }
        }
        let Some(record) = found else {
            return Err(AuthFailure::new(FailureReason::UnknownToken));
        };
        if record.revoked.is_some() {
            return Err(AuthFailure::with_note(
                FailureReason::Revoked,
                format!("static token {}", record.id),
            )
            .with_token_id(record.id.clone()));
        }
        if record.expires.is_some_and(|at| at <= Utc::now()) {
            return Err(AuthFailure::with_note(
                FailureReason::Expired,
                format!("static token {}", record.id),
            )
            .with_token_id(record.id.clone()));
        }
        Ok(Caller {
            identity: Identity {
                user_id: record.user_id.clone(),
                roles: record.roles.clone(),
                attributes: record.attributes.clone(),
            },
            token_id: record.id.clone(),
        })
    }

    /// The entries, re-read first when the file changed. A store that
    /// became unreadable keeps the last good entries (logged), except
    /// that a removed file means no static token works any more.
    fn current(&self) -> Arc<Vec<([u8; 32], TokenRecord)>> {
        let now = stamp(&self.path);
        let mut loaded = match self.loaded.lock() {
            Ok(loaded) => loaded,
            Err(poisoned) => poisoned.into_inner(),
        };
        if now != loaded.stamp {
            match now {
                None => {
                    tracing::warn!(path = %self.path.display(), "the token store was removed; no static token is accepted");
                    loaded.entries = Arc::new(Vec::new());
                    loaded.stamp = None;
                }
                Some(_) => match check_mode(&self.path).and_then(|()| store::read(&self.path)) {
                    Ok(file) => {
                        loaded.entries = Arc::new(entries(file.tokens));
                        loaded.stamp = now;
                    }
                    Err(e) => {
                        // Not recorded as seen: the next request tries again
                        // (an editor may be half-way through).
                        tracing::warn!(error = %e, "the token store changed but cannot be used; keeping the tokens read before");
                    }
                },
            }
        }
        Arc::clone(&loaded.entries)
    }
}

fn entries(tokens: Vec<TokenRecord>) -> Vec<([u8; 32], TokenRecord)> {
    tokens
        .into_iter()
        .filter_map(|record| Some((store::decode_hash(&record.sha256)?, record)))
        .collect()
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode: inode(&meta),
    })
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// Whoever can write the store can add a token for any identity.
#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // `store::read` reports the missing file.
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(AuthError::TokenStoreUnsafe {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), AuthError> {
    Ok(())
}
