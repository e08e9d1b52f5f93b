//! Per-connection secrets: the OS keyring first, documented environment
//! variables as the fallback.
//!
//! Keyring entry: service `sqlwarden`, account = connection name, value = a
//! small JSON document (`{"password": …}` for Postgres; `{"access_key_id": …,
//! "access_key_secret": …, "security_token": …}` for MaxCompute). A
//! [`Secret`] never prints its value, and neither does [`MaxComputeKeys`],
//! so a secret cannot leak through `Debug`, logs, audit records or error
//! messages.
//!
//! Reading never fails because the keyring is unusable (headless Linux
//! without a session keyring, no D-Bus): that keyring counts as empty and
//! the environment is consulted ([`mod@env`] lists the variables). Writing and
//! deleting do fail then, with a hint naming the environment fallback.
//! This module does not decide what a missing secret means; the engines
//! turn that into `CREDENTIALS_MISSING`.

pub mod env;
mod keyring;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::EngineKind;

use keyring::{Lookup, Unusable};

/// Keyring service name.
pub(crate) const KEYRING_SERVICE: &str = "sqlwarden";

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

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// MaxCompute credentials: an AccessKey pair, and an STS token when the
/// pair is temporary.
#[derive(Clone, PartialEq, Eq)]
pub struct MaxComputeKeys {
    /// AccessKey id (sent in clear in every signature, but still only its
    /// first characters are ever printed).
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: Secret,
    /// STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
}

impl fmt::Debug for MaxComputeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.access_key_id.chars().take(4).collect();
        f.debug_struct("MaxComputeKeys")
            .field("access_key_id", &format_args!("{shown}***"))
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .finish()
    }
}

/// What `sqlwarden auth set` stores for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretDoc {
    /// A PostgreSQL password.
    Postgres {
        /// The password.
        password: Secret,
    },
    /// MaxCompute keys.
    MaxCompute(MaxComputeKeys),
}

/// Where a connection's secret would come from, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The OS keyring holds it.
    Keyring,
    /// This environment variable holds it.
    Environment(String),
    /// Nowhere.
    Missing,
}

/// A secret could not be read, stored or deleted.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No OS keyring is usable here (only for storing and deleting).
    #[error("no usable OS keyring for connection `{connection}`: {reason}")]
    KeyringUnavailable {
        /// Connection name.
        connection: String,
        /// The platform's reason.
        reason: String,
        /// The environment variables to use instead.
        fallback: String,
    },
    /// The keyring entry is not a document sqlwarden wrote.
    #[error("the keyring entry for connection `{connection}` is not a valid sqlwarden secret")]
    Malformed {
        /// Connection name.
        connection: String,
    },
    /// The keyring entry is for the other engine.
    #[error(
        "the keyring entry for connection `{connection}` does not hold {expected} credentials"
    )]
    WrongKind {
        /// Connection name.
        connection: String,
        /// What the connection needs.
        expected: &'static str,
    },
    /// One variable of a pair is set, the other is not.
    #[error("`{set}` is set but `{missing}` is not (connection `{connection}`)")]
    IncompleteEnvironment {
        /// Connection name.
        connection: String,
        /// The variable that is set.
        set: String,
        /// The variable that is missing.
        missing: String,
    },
    /// An empty value was given to store.
    #[error("the `{field}` for connection `{connection}` is empty")]
    EmptyValue {
        /// Connection name.
        connection: String,
        /// Which field.
        field: &'static str,
    },
}

impl SecretsError {
    /// How to fix it: the exact command or variable.
    pub fn hint(&self) -> String {
        match self {
            Self::KeyringUnavailable { fallback, .. } => format!(
                "Set {fallback} in the environment sqlwarden runs in (for example the `env` of its MCP client entry) instead"
            ),
            Self::Malformed { connection } | Self::WrongKind { connection, .. } => {
                format!("Store it again with `sqlwarden auth set {connection}`")
            }
            Self::IncompleteEnvironment { set, missing, .. } => {
                format!("Set `{missing}` as well, or unset `{set}`")
            }
            Self::EmptyValue { .. } => {
                "Give a non-empty value; a PostgreSQL connection that needs no password needs no stored secret".into()
            }
        }
    }
}

/// The stored JSON document; exactly one of the two shapes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_key_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    security_token: Option<String>,
}

impl SecretDoc {
    fn to_json(&self) -> String {
        let doc = match self {
            Self::Postgres { password } => StoredDoc {
                password: Some(password.expose().to_string()),
                access_key_id: None,
                access_key_secret: None,
                security_token: None,
            },
            Self::MaxCompute(keys) => StoredDoc {
                password: None,
                access_key_id: Some(keys.access_key_id.clone()),
                access_key_secret: Some(keys.access_key_secret.expose().to_string()),
                security_token: keys.security_token.as_ref().map(|t| t.expose().to_string()),
            },
        };
        serde_json::to_string(&doc).unwrap_or_default()
    }

    fn from_json(text: &str) -> Option<Self> {
        let doc: StoredDoc = serde_json::from_str(text).ok()?;
        match doc {
            StoredDoc {
                password: Some(password),
                access_key_id: None,
                access_key_secret: None,
                security_token: None,
            } => Some(Self::Postgres {
                password: Secret::new(password),
            }),
            StoredDoc {
                password: None,
                access_key_id: Some(access_key_id),
                access_key_secret: Some(secret),
                security_token,
            } => Some(Self::MaxCompute(MaxComputeKeys {
                access_key_id,
                access_key_secret: Secret::new(secret),
                security_token: security_token.map(Secret::new),
            })),
            _ => None,
        }
    }

    /// The first empty field, if any.
    fn empty_field(&self) -> Option<&'static str> {
        match self {
            Self::Postgres { password } if password.expose().is_empty() => Some("password"),
            Self::MaxCompute(keys) if keys.access_key_id.is_empty() => Some("access_key_id"),
            Self::MaxCompute(keys) if keys.access_key_secret.expose().is_empty() => {
                Some("access_key_secret")
            }
            _ => None,
        }
    }
}

/// The document in the keyring for `connection`, if a usable keyring holds
/// one. An unusable keyring counts as empty (and is logged at debug).
fn keyring_doc(connection: &str) -> Result<Option<SecretDoc>, SecretsError> {
    match keyring::read(connection) {
        Lookup::Found(text) => {
            SecretDoc::from_json(&text)
                .map(Some)
                .ok_or_else(|| SecretsError::Malformed {
                    connection: connection.to_string(),
                })
        }
        Lookup::Unreadable => Err(SecretsError::Malformed {
            connection: connection.to_string(),
        }),
        Lookup::Absent => Ok(None),
        Lookup::Unusable(reason) => {
            tracing::debug!(connection, %reason, "keyring unusable; treating it as empty");
            Ok(None)
        }
    }
}

/// The password of PostgreSQL connection `connection`: the keyring, then
/// `SQLWARDEN_<CONNECTION>_PASSWORD`, then `PGPASSWORD`. `None` means
/// connect without one.
pub fn postgres_password(connection: &str) -> Result<Option<Secret>, SecretsError> {
    match keyring_doc(connection)? {
        Some(SecretDoc::Postgres { password }) => Ok(Some(password)),
        Some(SecretDoc::MaxCompute(_)) => Err(SecretsError::WrongKind {
            connection: connection.to_string(),
            expected: "PostgreSQL",
        }),
        None => Ok(env::postgres_password(connection).map(|(secret, _)| secret)),
    }
}

/// The keys of MaxCompute connection `connection`: the keyring, then
/// `SQLWARDEN_<CONNECTION>_ACCESS_KEY_ID` / `_ACCESS_KEY_SECRET` /
/// `_SECURITY_TOKEN`, then `ALIBABA_CLOUD_ACCESS_KEY_ID` /
/// `ALIBABA_CLOUD_ACCESS_KEY_SECRET` / `ALIBABA_CLOUD_SECURITY_TOKEN`.
pub fn maxcompute_keys(connection: &str) -> Result<Option<MaxComputeKeys>, SecretsError> {
    match keyring_doc(connection)? {
        Some(SecretDoc::MaxCompute(keys)) => Ok(Some(keys)),
        Some(SecretDoc::Postgres { .. }) => Err(SecretsError::WrongKind {
            connection: connection.to_string(),
            expected: "MaxCompute",
        }),
        None => Ok(env::maxcompute_keys(connection)?.map(|(keys, _)| keys)),
    }
}

/// Where the secret of `connection` (an `engine` connection) would come
/// from. A keyring entry counts even when it is for the other engine or
/// malformed (the lookup then says what is wrong); an incomplete pair of
/// environment variables counts as missing.
pub fn status(connection: &str, engine: EngineKind) -> SecretSource {
    if matches!(
        keyring::read(connection),
        Lookup::Found(_) | Lookup::Unreadable
    ) {
        return SecretSource::Keyring;
    }
    let var = match engine {
        EngineKind::Postgres => env::postgres_password(connection).map(|(_, var)| var),
        EngineKind::MaxCompute => env::maxcompute_keys(connection)
            .ok()
            .flatten()
            .map(|(_, var)| var),
    };
    var.map_or(SecretSource::Missing, SecretSource::Environment)
}

/// Store `doc` in the OS keyring for `connection`, replacing what was there.
pub fn store(connection: &str, doc: SecretDoc) -> Result<(), SecretsError> {
    if let Some(field) = doc.empty_field() {
        return Err(SecretsError::EmptyValue {
            connection: connection.to_string(),
            field,
        });
    }
    let engine = match doc {
        SecretDoc::Postgres { .. } => Some(EngineKind::Postgres),
        SecretDoc::MaxCompute(_) => Some(EngineKind::MaxCompute),
    };
    keyring::write(connection, &doc.to_json())
        .map_err(|reason| unavailable(connection, reason, engine))
}

/// Delete the keyring entry of `connection`; `false` when there was none.
pub fn delete(connection: &str) -> Result<bool, SecretsError> {
    keyring::remove(connection).map_err(|reason| unavailable(connection, reason, None))
}

fn unavailable(connection: &str, reason: Unusable, engine: Option<EngineKind>) -> SecretsError {
    let postgres = format!(
        "`{}` (or `{}`)",
        env::connection_var(connection, env::PASSWORD_SUFFIX),
        env::PGPASSWORD
    );
    let maxcompute = format!(
        "`{}` and `{}` (or `{}` and `{}`)",
        env::connection_var(connection, env::ACCESS_KEY_ID_SUFFIX),
        env::connection_var(connection, env::ACCESS_KEY_SECRET_SUFFIX),
        env::ALIBABA_CLOUD_ACCESS_KEY_ID,
        env::ALIBABA_CLOUD_ACCESS_KEY_SECRET
    );
    let fallback = match engine {
        Some(EngineKind::Postgres) => postgres,
        Some(EngineKind::MaxCompute) => maxcompute,
        None => format!("{postgres} for PostgreSQL, {maxcompute} for MaxCompute,"),
    };
    SecretsError::KeyringUnavailable {
        connection: connection.to_string(),
        reason: reason.to_string(),
        fallback,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
