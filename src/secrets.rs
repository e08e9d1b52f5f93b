//! Per-connection secrets: the OS keyring first, documented environment
//! variables as the fallback.
//!
//! Keyring entry: service `sqlwarden`, account = connection name, value = a
//! small JSON document (`{"password": …}` for Postgres; `{"access_key_id": …,
//! "access_key_secret": …, "security_token": …}` for MaxCompute). A
//! [`Secret`] never prints its value, so it cannot leak through `Debug`,
//! logs, audit records or error messages.

use std::fmt;

/// Keyring service name.
pub const KEYRING_SERVICE: &str = "sqlwarden";

/// A secret string whose `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
