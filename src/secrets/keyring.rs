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
static STORE: OnceLock<Result<(), String>> = OnceLock::new();

/// What a read found.
pub(crate) enum Lookup {
    /// A stored value.
    Found(String),
    /// Nothing stored for the account.
    Absent,
    /// A stored value that is not UTF-8 text.
    Unreadable,
    /// The keyring cannot be used here (no session keyring, no D-Bus,
    /// locked), with the platform's reason.
    Unusable(String),
}

/// Install the platform store as keyring-core's default, once.
fn ensure_store() -> Result<(), String> {
    STORE.get_or_init(install_store).clone()
}

#[cfg(target_os = "linux")]
fn install_store() -> Result<(), String> {
    let store = linux_keyutils_keyring_store::Store::new().map_err(|e| e.to_string())?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(target_os = "macos")]
fn install_store() -> Result<(), String> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(windows)]
fn install_store() -> Result<(), String> {
    let store = windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
    keyring_core::set_default_store(store);
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn install_store() -> Result<(), String> {
    Err("sqlwarden has no keyring support on this operating system".into())
}

fn entry(account: &str) -> Result<Entry, String> {
    ensure_store()?;
    Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())
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
        Err(err) => Lookup::Unusable(err.to_string()),
    }
}

/// Store `value` for `account`, replacing what was there.
pub(crate) fn write(account: &str, value: &str) -> Result<(), String> {
    entry(account)?
        .set_password(value)
        .map_err(|e| e.to_string())
}

/// Delete what is stored for `account`; `false` when nothing was.
pub(crate) fn remove(account: &str) -> Result<bool, String> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(Error::NoEntry) => Ok(false),
        Err(err) => Err(err.to_string()),
    }
}
