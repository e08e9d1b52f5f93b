//! The two ways authentication goes wrong: the operator's setup
//! ([`AuthError`]: a bad `auth:` section, an unreadable token store or key
//! set; the server does not start, `sqlwarden token` fails) and a caller's
//! credential ([`AuthFailure`]: a 401, safe to log, never holding the
//! token).

use std::fmt;
use std::path::PathBuf;

/// A setup problem: the `auth:` section, the token store or the key set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    /// Neither static tokens nor OAuth is configured.
    #[error("`auth:` configures no way to authenticate")]
    NoMethod,
    /// A setting is present but unusable.
    #[error("`{setting}`: {problem}")]
    Invalid {
        /// The setting's path, e.g. `auth.oauth.issuer`.
        setting: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        hint: String,
    },
    /// The token store could not be read, parsed or written.
    #[error("token store `{}`: {reason}", path.display())]
    TokenStore {
        /// The store's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The token store is missing.
    #[error("token store `{}` does not exist", path.display())]
    TokenStoreMissing {
        /// The store's path.
        path: PathBuf,
    },
    /// The token store can be written by other users, who could add tokens.
    #[error("token store `{}` is writable by other users (mode {mode:o})", path.display())]
    TokenStoreUnsafe {
        /// The store's path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `token revoke` named no token in the store.
    #[error("no token `{id}` in `{}`", path.display())]
    TokenNotFound {
        /// The id asked for.
        id: String,
        /// The store's path.
        path: PathBuf,
    },
    /// The key set could not be read, fetched or parsed, or holds no key
    /// that can verify the configured algorithms.
    #[error("JWKS from {source_name}: {reason}")]
    Keys {
        /// The file or URL.
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// The JWT library has no crypto backend (a build problem).
    #[error("the JWT library has no crypto provider in this build")]
    NoCryptoProvider,
}

impl AuthError {
    /// A stable name for the kind of problem (for logs and tests).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NoMethod => "AUTH_NO_METHOD",
            Self::Invalid { .. } => "AUTH_CONFIG_INVALID",
            Self::TokenStore { .. } => "AUTH_TOKEN_STORE",
            Self::TokenStoreMissing { .. } => "AUTH_TOKEN_STORE_MISSING",
            Self::TokenStoreUnsafe { .. } => "AUTH_TOKEN_STORE_UNSAFE",
            Self::TokenNotFound { .. } => "AUTH_TOKEN_NOT_FOUND",
            Self::Keys { .. } => "AUTH_KEYS",
            Self::NoCryptoProvider => "AUTH_NO_CRYPTO",
        }
    }

    /// How to fix it: the exact setting, file or command.
    pub(crate) fn hint(&self) -> String {
        match self {
            Self::NoMethod => "Add `static_tokens: {}` (tokens made with `sqlwarden token create`) or an `oauth:` block with `issuer`, `audience` and `jwks_uri`".into(),
            Self::Invalid { hint, .. } => hint.clone(),
            Self::TokenStore { .. } => "Fix or remove the file; `sqlwarden token create` writes a new one (existing tokens in a removed file stop working)".into(),
            Self::TokenStoreMissing { .. } => "Create a token with `sqlwarden token create --user <id> --roles <role>`, which writes the store, or point `static_tokens.file` at it".into(),
            Self::TokenStoreUnsafe { path, .. } => format!("Run `chmod 600 {}`", path.display()),
            Self::TokenNotFound { .. } => "`sqlwarden token list` shows the ids".into(),
            Self::Keys { .. } => "Check `jwks_uri` (the issuer's metadata lists it) or `jwks_file`: it must be a JWKS document (`{\"keys\": [...]}`) with RSA, EC P-256/P-384 or Ed25519 public keys for the configured `algorithms`".into(),
            Self::NoCryptoProvider => "Build sqlwarden with `jsonwebtoken`'s `rust_crypto` feature only".into(),
        }
    }
}

/// Why a bearer credential was refused. The wire spelling ([`as_str`])
/// is safe to log and to audit.
///
/// [`as_str`]: FailureReason::as_str
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FailureReason {
    /// No `Authorization` header.
    Missing,
    /// Not a Bearer credential, or not a JWT / sqlwarden token in shape.
    Malformed,
    /// `exp` (or a static token's expiry) is past, beyond the skew.
    Expired,
    /// `nbf` is in the future, beyond the skew.
    NotYetValid,
    /// `iss` is not the configured issuer.
    BadIssuer,
    /// `aud` does not contain this server's resource URI.
    BadAudience,
    /// The signature does not verify with the key.
    BadSignature,
    /// The header's `alg` is not allowed (`none`, HMAC, one not in
    /// `algorithms`) or does not fit the key.
    AlgNotAllowed,
    /// No key in the key set has the token's `kid`.
    UnknownKey,
    /// The header's `typ` names a kind of token other than an access token
    /// (an ID token, say), or is not `at+jwt` when that is required.
    BadType,
    /// A static token that is not in the store, or a kind of token this
    /// server is not configured for.
    UnknownToken,
    /// A static token that was revoked.
    Revoked,
    /// A required claim (`exp`, `iss`, `aud`, the user id claim) is absent.
    MissingClaim,
    /// A mapped claim has a type the identity cannot hold.
    BadClaim,
    /// A valid token that does not grant every scope in
    /// `required_scopes`: the one refusal answered 403, not 401.
    InsufficientScope,
}

impl FailureReason {
    /// The wire spelling, e.g. `not_yet_valid`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadIssuer => "bad_issuer",
            Self::BadAudience => "bad_audience",
            Self::BadSignature => "bad_signature",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::BadType => "bad_typ",
            Self::UnknownToken => "unknown_token",
            Self::Revoked => "revoked",
            Self::MissingClaim => "missing_claim",
            Self::BadClaim => "bad_claim",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// The RFC 6750 `error_description`: fixed text (no token content), in
    /// the characters the RFC allows.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Missing => "No bearer token was sent",
            Self::Malformed => "The credential is not a well-formed bearer token",
            Self::Expired => "The token has expired",
            Self::NotYetValid => "The token is not valid yet",
            Self::BadIssuer => "The token was issued by an untrusted issuer",
            Self::BadAudience => "The token was not issued for this resource",
            Self::BadSignature => "The token signature is invalid",
            Self::AlgNotAllowed => "The token signing algorithm is not allowed",
            Self::UnknownKey => "The token signing key is unknown",
            Self::BadType => "The token is not an OAuth access token",
            Self::UnknownToken => "The token is not known to this server",
            Self::Revoked => "The token has been revoked",
            Self::MissingClaim => "The token lacks a required claim",
            Self::BadClaim => "A token claim has an unusable type",
            Self::InsufficientScope => "The token does not grant the scope this resource requires",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused credential: the reason, and a note written by sqlwarden (a
/// claim or setting name at most). It never holds the token or any text
/// taken from it, so it can go to logs and audit records as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthFailure {
    reason: FailureReason,
    note: Option<String>,
    token_id: Option<String>,
}

impl AuthFailure {
    /// A failure with only a reason.
    pub(crate) fn new(reason: FailureReason) -> Self {
        Self {
            reason,
            note: None,
            token_id: None,
        }
    }

    /// A failure with a note for the log. The note must be sqlwarden's own
    /// text (setting or claim names from config), never token content.
    pub(crate) fn with_note(reason: FailureReason, note: impl Into<String>) -> Self {
        Self {
            reason,
            note: Some(note.into()),
            token_id: None,
        }
    }

    /// The same failure, naming the refused token's id for the audit
    /// record. Only for an id known for sure: a static token found in the
    /// store, or a JWT whose signature verified; never one read from an
    /// unverified token.
    pub(crate) fn with_token_id(mut self, token_id: String) -> Self {
        self.token_id = Some(token_id);
        self
    }

    /// The refused token's id, when it is known for sure.
    pub(crate) fn token_id(&self) -> Option<&str> {
        self.token_id.as_deref()
    }

    /// Why it was refused.
    pub(crate) fn reason(&self) -> FailureReason {
        self.reason
    }

    /// True when no credential was sent at all (RFC 6750: then the
    /// challenge carries no error code).
    pub(crate) fn is_missing(&self) -> bool {
        self.reason == FailureReason::Missing
    }

    /// True when the token is valid but lacks a required scope (RFC 6750
    /// §3.1 `insufficient_scope`: 403, not 401).
    pub(crate) fn is_insufficient_scope(&self) -> bool {
        self.reason == FailureReason::InsufficientScope
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bearer token refused ({}): {}",
            self.reason,
            self.reason.description()
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthFailure {}
