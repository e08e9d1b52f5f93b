//! The OS keyring, through keyring-core and the platform's store (kernel
//! keyutils on Linux, the Keychain on macOS, the Credential Manager on
//! Windows).
//!
//! keyring-core keeps its store in a process-wide default; this module is
//! the only place that sets it, once, on first use, so `--help` and `init`
//! never touch the keyring. It deals in raw strings; parsing the stored
//! document is [`super`]'s job. Errors carry the platform's reason, never a
//! value.

use std::sync::OnceLock;

use keyring_core::{Entry, Error};

use super::KEYRING_SERVICE;

/// Whether the default store was installed, or why not.
static STORE: OnceLock<Result<(), Unusable>> = OnceLock::new();

/// Why the keyring cannot be used here (no session keyring, no D-Bus,
/// locked, an unsupported system), in the platform's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unusable(pub(super) String);

impl From<Error> for Unusable {
    fn from(error: Error) -> Self {
        Self(error.to_string())
    }
}

/// What a read found.
pub(crate) enum Lookup {
    /// A stored value.
    Found(String),
    /// Nothing stored for the account.
    Absent,
    /// A stored value that is not UTF-8 text.
    Unreadable,
    /// The keyring cannot be used here.
    Unusable(Unusable),
}

/// Install the platform store as keyring-core's default, once.
fn ensure_store() -> Result<(), Unusable> {
    STORE.get_or_init(install_store).clone()
}

#[cfg(target_os = "linux")]
fn install_store() -> Result<(), Unusable> {
    let store = linux_keyutils_keyring_store::Store::new()?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(target_os = "macos")]
fn install_store() -> Result<(), Unusable> {
    let store = apple_native_keyring_store::keychain::Store::new()?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(windows)]
fn install_store() -> Result<(), Unusable> {
    let store = windows_native_keyring_store::Store::new()?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install_store() -> Result<(), Unusable> {
    Err(Unusable(
        "sqlwarden has no keyring support on this operating system".into(),
    ))
}

fn entry(account: &str) -> Result<Entry, Unusable> {
    ensure_store()?;
    Ok(Entry::new(KEYRING_SERVICE, account)?)
}

/// Read the value stored for `account`.
pub(crate) fn read(account: &str) -> Lookup {
    let entry = match entry(account) {
        Ok(entry) => entry,
        Err(reason) => return Lookup::Unusable(reason),
    };
    match entry.get_password() {
        Ok(value) => Lookup::Found(value),
        Err(Error::NoEntry) => Lookup::Absent,
        Err(Error::BadEncoding(_)) => Lookup::Unreadable,
        Err(err) => Lookup::Unusable(err.into()),
    }
}

/// Store `value` for `account`, replacing what was there.
pub(crate) fn write(account: &str, value: &str) -> Result<(), Unusable> {
    Ok(entry(account)?.set_password(value)?)
}

/// Delete what is stored for `account`; `false` when nothing was.
pub(crate) fn remove(account: &str) -> Result<bool, Unusable> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(Error::NoEntry) => Ok(false),
        Err(err) => Err(err.into()),
    }
}
