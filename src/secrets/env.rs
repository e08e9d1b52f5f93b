//! The environment-variable fallback for secrets, and the one list of the
//! variable names.
//!
//! Used where no keyring is usable (headless Linux, CI). Per-connection
//! variables come first so several connections can hold different secrets;
//! the generic ones (`PGPASSWORD`, `ALIBABA_CLOUD_*`) are what libpq and the
//! Alibaba Cloud tools already read. Nothing here logs a value.

use super::{MaxComputeKeys, Secret, SecretsError};
use crate::config::env_fields::env_name;

/// PostgreSQL password for every connection without its own variable
/// (libpq's name).
pub const PGPASSWORD: &str = "PGPASSWORD";
/// MaxCompute access key id for every connection without its own variables.
pub const ALIBABA_CLOUD_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// MaxCompute access key secret, paired with [`ALIBABA_CLOUD_ACCESS_KEY_ID`].
pub const ALIBABA_CLOUD_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Optional STS security token, paired with [`ALIBABA_CLOUD_ACCESS_KEY_ID`].
pub const ALIBABA_CLOUD_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// Suffix of `SQLWARDEN_<CONNECTION>_PASSWORD` (PostgreSQL).
pub const PASSWORD_SUFFIX: &str = "PASSWORD";
/// Suffix of `SQLWARDEN_<CONNECTION>_ACCESS_KEY_ID` (MaxCompute).
pub const ACCESS_KEY_ID_SUFFIX: &str = "ACCESS_KEY_ID";
/// Suffix of `SQLWARDEN_<CONNECTION>_ACCESS_KEY_SECRET` (MaxCompute).
pub const ACCESS_KEY_SECRET_SUFFIX: &str = "ACCESS_KEY_SECRET";
/// Suffix of `SQLWARDEN_<CONNECTION>_SECURITY_TOKEN` (MaxCompute, optional).
pub const SECURITY_TOKEN_SUFFIX: &str = "SECURITY_TOKEN";

/// The per-connection variable `SQLWARDEN_<CONNECTION>_<suffix>`: the
/// connection name upper-cased, every character that is not an ASCII letter
/// or digit replaced by `_` (so `crm-eu` gives `SQLWARDEN_CRM_EU_PASSWORD`).
pub fn connection_var(connection: &str, suffix: &str) -> String {
    format!("SQLWARDEN_{}_{suffix}", env_name(connection))
}

/// A variable's value; unset, empty and non-UTF-8 all count as absent.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The PostgreSQL password from the environment, and the variable it came
/// from.
pub(crate) fn postgres_password(connection: &str) -> Option<(Secret, String)> {
    [
        connection_var(connection, PASSWORD_SUFFIX),
        PGPASSWORD.to_string(),
    ]
    .into_iter()
    .find_map(|name| var(&name).map(|value| (Secret::new(value), name)))
}

/// MaxCompute keys from the environment, and the id variable they came
/// from. A key id without its secret is an error, not a silent miss.
pub(crate) fn maxcompute_keys(
    connection: &str,
) -> Result<Option<(MaxComputeKeys, String)>, SecretsError> {
    let own = [
        connection_var(connection, ACCESS_KEY_ID_SUFFIX),
        connection_var(connection, ACCESS_KEY_SECRET_SUFFIX),
        connection_var(connection, SECURITY_TOKEN_SUFFIX),
    ];
    let shared = [
        ALIBABA_CLOUD_ACCESS_KEY_ID.to_string(),
        ALIBABA_CLOUD_ACCESS_KEY_SECRET.to_string(),
        ALIBABA_CLOUD_SECURITY_TOKEN.to_string(),
    ];
    for [id_var, secret_var, token_var] in [own, shared] {
        let Some(access_key_id) = var(&id_var) else {
            continue;
        };
        let Some(secret) = var(&secret_var) else {
            return Err(SecretsError::IncompleteEnvironment {
                connection: connection.to_string(),
                set: id_var,
                missing: secret_var,
            });
        };
        let keys = MaxComputeKeys {
            access_key_id,
            access_key_secret: Secret::new(secret),
            security_token: var(&token_var).map(Secret::new),
        };
        return Ok(Some((keys, id_var)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
