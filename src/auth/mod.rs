//! Who is calling, in team mode: a bearer token in, an identity out.
//!
//! Two kinds of token are accepted, as `server.yaml`'s `auth:` section
//! ([`AuthConfig`]) configures:
//! - static tokens (`sqlw_…`) made by `sqlwarden token create` and kept
//!   only as hashes in the token store ([`store`], checked by
//!   [`static_tokens`]);
//! - OAuth 2.1 access tokens, JWTs from one issuer for this server's
//!   resource URI, verified against the issuer's JWKS ([`jwt`], keys in
//!   [`jwks`], claims mapped to the identity by [`claims`]).
//!
//! [`Authenticator::authenticate`] turns the `Authorization` header into a
//! [`Caller`] (the identity policy uses and the token's id for the audit
//! record) or an [`AuthFailure`] (a reason safe to log, never the token);
//! [`metadata`] writes the 401 challenge and the RFC 9728 document.
//!
//! This module sits on the floor of policy, secrets and audit: it reads
//! `error` and `config` (the identity's types) and nothing above.

mod claims;
mod config;
mod error;
mod jwks;
mod jwt;
mod metadata;
mod scopes;
mod static_tokens;
pub(crate) mod store;
mod token_type;

use std::path::Path;
use std::time::Duration;

pub(crate) use config::{is_attribute_name, AuthConfig, DEFAULT_TOKEN_FILE};
pub(crate) use error::{AuthError, AuthFailure, FailureReason};
pub(crate) use store::TOKEN_PREFIX;

use crate::config::Identity;

use jwks::{KeyCache, KeySource};
use jwt::JwtValidator;
use metadata::ResourceMetadata;
use static_tokens::StaticTokens;

/// Longest `Authorization` value looked at; real tokens are a few KiB at
/// most, and nothing longer is parsed or hashed.
const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Caller {
    /// Who it is, as policy sees it.
    pub(crate) identity: Identity,
    /// The token's id for the audit record: a static token's `tok_…` id,
    /// `jwt:<jti>`, or `jwt-sha256:<fingerprint>`; never the token.
    pub(crate) token_id: String,
}

/// Checks bearer tokens as the `auth:` section says.
pub(crate) struct Authenticator {
    static_tokens: Option<StaticTokens>,
    jwt: Option<JwtValidator>,
    metadata: Option<ResourceMetadata>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("static_tokens", &self.static_tokens.is_some())
            .field("oauth", &self.jwt.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Validate `cfg`, open the token store and load the issuer's keys
    /// (reading `jwks_file` or fetching `jwks_uri` once), so a broken
    /// setup stops the server at start. Relative paths are in
    /// `config_dir`.
    pub(crate) async fn from_config(
        cfg: &AuthConfig,
        config_dir: &Path,
    ) -> Result<Self, AuthError> {
        if let Some(problem) = cfg.validate().into_iter().next() {
            return Err(problem);
        }
        let static_tokens = match cfg.token_file(config_dir) {
            Some(path) => Some(StaticTokens::open(&path)?),
            None => None,
        };
        let (jwt, metadata) = match &cfg.oauth {
            Some(oauth) => {
                if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
                    return Err(AuthError::NoCryptoProvider);
                }
                let source = match (&oauth.jwks_file, &oauth.jwks_uri) {
                    (Some(file), _) => KeySource::File(config_dir.join(file)),
                    (None, Some(uri)) => {
                        KeySource::Uri(config::check_url(uri).map_err(|problem| {
                            AuthError::Invalid {
                                setting: "auth.oauth.jwks_uri".into(),
                                problem,
                                hint: "Use the issuer's https `jwks_uri`".into(),
                            }
                        })?)
                    }
                    (None, None) => return Err(AuthError::NoMethod),
                };
                let keys = KeyCache::load(
                    source,
                    oauth.algorithms.clone(),
                    Duration::from_secs(oauth.jwks_cache_seconds),
                    Duration::from_secs(oauth.jwks_min_refetch_seconds),
                )
                .await?;
                (
                    Some(JwtValidator::new(oauth, keys)),
                    Some(ResourceMetadata::new(oauth)),
                )
            }
            None => (None, None),
        };
        Ok(Self {
            static_tokens,
            jwt,
            metadata,
        })
    }

    /// Who sent `authorization` (the raw `Authorization` header value, if
    /// any), or why not.
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Caller, AuthFailure> {
        let token = bearer_token(authorization)?;
        if token.starts_with(TOKEN_PREFIX) {
            return match &self.static_tokens {
                Some(tokens) => tokens.verify(token),
                None => Err(AuthFailure::with_note(
                    FailureReason::UnknownToken,
                    "static tokens are not enabled",
                )),
            };
        }
        match &self.jwt {
            Some(jwt) => jwt.validate(token).await,
            None => Err(AuthFailure::with_note(
                FailureReason::UnknownToken,
                "OAuth is not configured",
            )),
        }
    }

    /// Body of GET on [`protected_resource_metadata_path`], None when
    /// OAuth is not configured.
    ///
    /// [`protected_resource_metadata_path`]: Self::protected_resource_metadata_path
    pub(crate) fn protected_resource_metadata(&self) -> Option<serde_json::Value> {
        self.metadata.as_ref().map(|m| m.document().clone())
    }

    /// The path the metadata is served at (RFC 9728 §3.1:
    /// `/.well-known/oauth-protected-resource` followed by the resource
    /// URI's path), None when OAuth is not configured. Serving it also at
    /// the bare `/.well-known/oauth-protected-resource` helps clients that
    /// only try that.
    pub(crate) fn protected_resource_metadata_path(&self) -> Option<&str> {
        self.metadata.as_ref().map(ResourceMetadata::path)
    }

    /// The `WWW-Authenticate` value for a 401, or for the 403 of a token
    /// lacking a required scope (RFC 6750 + RFC 9728 `resource_metadata`).
    pub(crate) fn www_authenticate(&self, failure: &AuthFailure) -> String {
        metadata::challenge(self.metadata.as_ref(), failure)
    }
}

/// The token of a `Bearer` credential (RFC 6750 §2.1: scheme
/// case-insensitive, then the token68 characters).
fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthFailure> {
    let Some(value) = authorization else {
        return Err(AuthFailure::new(FailureReason::Missing));
    };
    if value.len() > MAX_CREDENTIAL_BYTES {
        return Err(AuthFailure::with_note(
            FailureReason::Malformed,
            "credential too long",
        ));
    }
    let value = value.trim();
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(AuthFailure::with_note(
            FailureReason::Malformed,
            "not `Bearer <token>`",
        ));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        // RFC 6750 §3.1: a credential of another scheme counts as none,
        // so the challenge carries no error code.
        return Err(AuthFailure::with_note(
            FailureReason::Missing,
            "not a Bearer credential",
        ));
    }
    let token = token.trim_start_matches(' ');
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.chars().all(token68) {
        return Err(AuthFailure::with_note(
            FailureReason::Malformed,
            "the token has characters a bearer token cannot have",
        ));
    }
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
