//! Validating an OAuth access token (a JWS-signed JWT) from the configured
//! issuer.
//!
//! The header is read first, by sqlwarden, so a refusal names its reason:
//! an `alg` outside the allow-list (which never holds `none` or HMAC) is
//! refused before any key is looked at, and so is a `typ` that is not an
//! access token's ([`TokenType`]); the `kid` picks the key (fetching
//! the set again once when it is unknown); the key must be of the kind the
//! `alg` needs, and match the JWK's own `alg` when it declares one. Only
//! then does `jsonwebtoken` verify the signature with that one algorithm
//! and check `exp` and `nbf` (with the skew), `iss` and `aud`, all of
//! which must be present. Last, the claims must make an identity and grant
//! the `required_scopes` ([`scopes`]; lacking one is the one refusal that
//! is answered 403).
//!
//! A client sends the same token with every request, so a token that
//! passed is remembered (by its SHA-256) for at most [`VERIFIED_TTL`] and
//! never past its `exp` plus the skew; a refresh of the key set forgets
//! them all, so a key the issuer withdrew stops working at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::claims;
use super::config::{ClaimMapping, JwtAlgorithm, OAuthConfig};
use super::error::{AuthFailure, FailureReason};
use super::jwks::{KeyCache, VerifyKey};
use super::scopes;
use super::token_type::TokenType;
use super::Caller;

/// Longest `jti` carried into the token id as is.
const MAX_JTI_LEN: usize = 128;

/// How long a verified token is remembered at most.
pub(crate) const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// How many verified tokens are remembered at most (a bound on memory
/// whatever clients send).
const VERIFIED_MAX: usize = 4096;

/// A token that passed, and until when that stands.
struct Verified {
    caller: Caller,
    until: Instant,
    generation: u64,
}

/// Validates access tokens of one issuer for one audience.
pub(crate) struct JwtValidator {
    issuer: String,
    audience: String,
    algorithms: Vec<JwtAlgorithm>,
    skew_seconds: u64,
    require_access_token_typ: bool,
    required_scopes: Vec<String>,
    mapping: ClaimMapping,
    keys: KeyCache,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

impl JwtValidator {
    /// A validator for `oauth` that reads keys from `keys`.
    pub(crate) fn new(oauth: &OAuthConfig, keys: KeyCache) -> Self {
        Self {
            issuer: oauth.issuer.clone(),
            audience: oauth.audience.clone(),
            algorithms: oauth.algorithms.clone(),
            skew_seconds: oauth.clock_skew_seconds,
            require_access_token_typ: oauth.require_access_token_typ,
            required_scopes: oauth.required_scopes.clone(),
            mapping: oauth.claims.clone(),
            keys,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The caller a token stands for, or why it is refused.
    pub(crate) async fn validate(&self, token: &str) -> Result<Caller, AuthFailure> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(caller) = self.remembered(&digest) {
            return Ok(caller);
        }
        let generation = self.keys.generation();
        let (caller, exp) = self.verify(token, &digest).await?;
        self.remember(digest, &caller, exp, generation);
        Ok(caller)
    }

    /// The caller of a token verified before, if that still stands.
    fn remembered(&self, digest: &[u8; 32]) -> Option<Caller> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let entry = verified.get(digest)?;
        (entry.until > Instant::now() && entry.generation == self.keys.generation())
            .then(|| entry.caller.clone())
    }

    /// Remember a verified token until `exp` plus the skew, at most
    /// [`VERIFIED_TTL`].
    fn remember(&self, digest: [u8; 32], caller: &Caller, exp: Option<i64>, generation: u64) {
        let Some(exp) = exp else { return };
        let left = exp
            .saturating_add(i64::try_from(self.skew_seconds).unwrap_or(i64::MAX))
            .saturating_sub(chrono::Utc::now().timestamp());
        let Ok(left) = u64::try_from(left) else {
            return;
        };
        let now = Instant::now();
        let until = now + Duration::from_secs(left).min(VERIFIED_TTL);
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, v| v.until > now);
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
        }
        verified.insert(
            digest,
            Verified {
                caller: caller.clone(),
                until,
                generation,
            },
        );
    }

    /// The full check of a token not remembered: the caller, and `exp`.
    async fn verify(
        &self,
        token: &str,
        digest: &[u8; 32],
    ) -> Result<(Caller, Option<i64>), AuthFailure> {
        let header = header(token)?;
        if header.contains_key("crit") {
            // RFC 7515 §4.1.11: an extension we do not understand must
            // not be ignored.
            return Err(AuthFailure::with_note(
                FailureReason::Malformed,
                "header has `crit`",
            ));
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(JwtAlgorithm::from_header)
            .filter(|alg| self.algorithms.contains(alg))
            .ok_or_else(|| AuthFailure::new(FailureReason::AlgNotAllowed))?;
        // Before any key is fetched: a token of another kind is refused
        // whoever signed it.
        TokenType::of(&header)?.check(self.require_access_token_typ)?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => {
                return Err(AuthFailure::with_note(
                    FailureReason::Malformed,
                    "`kid` is not a string",
                ))
            }
        };
        let key = self.key_for(kid, alg).await?;
        let mut validation = Validation::new(alg.to_jwt());
        validation.leeway = self.skew_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| {
                let refused = failure(e.kind());
                match signed_claims(token, e.kind()) {
                    Some(claims) => refused.with_token_id(token_id(&claims, digest)),
                    None => refused,
                }
            })?;
        let identity = claims::identity(&data.claims, &self.mapping)
            .and_then(|identity| {
                scopes::check(&data.claims, &self.required_scopes).map(|()| identity)
            })
            .map_err(|refused| refused.with_token_id(token_id(&data.claims, digest)))?;
        let exp = data.claims.get("exp").and_then(Value::as_i64);
        Ok((
            Caller {
                identity,
                token_id: token_id(&data.claims, digest),
            },
            exp,
        ))
    }

    /// The key for `kid` that can verify `alg`.
    async fn key_for(
        &self,
        kid: Option<&str>,
        alg: JwtAlgorithm,
    ) -> Result<VerifyKey, AuthFailure> {
        let keys = self.keys.keys().await;
        let found = pick(&keys, kid);
        let found = match found {
            Some(key) => Some(key),
            None if kid.is_some() => pick(&self.keys.refresh().await, kid),
            None => None,
        };
        let Some(key) = found else {
            return Err(AuthFailure::new(FailureReason::UnknownKey));
        };
        if !key.kind.fits(alg) || key.alg.is_some_and(|own| own != alg) {
            return Err(AuthFailure::with_note(
                FailureReason::AlgNotAllowed,
                format!("`alg` {} does not fit the key", alg.as_str()),
            ));
        }
        Ok(key)
    }
}

/// The key with `kid`; without a `kid`, the only key when the set holds
/// exactly one (guessing among several would let a token pick its key).
fn pick(keys: &[VerifyKey], kid: Option<&str>) -> Option<VerifyKey> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

/// The JOSE header as a JSON object; any other shape is malformed (five
/// parts would be an encrypted JWE, which a resource server cannot read).
fn header(token: &str) -> Result<Map<String, Value>, AuthFailure> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts[0].is_empty() || parts[1].is_empty() {
        return Err(AuthFailure::with_note(
            FailureReason::Malformed,
            "not three dot-separated parts",
        ));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| AuthFailure::with_note(FailureReason::Malformed, "header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AuthFailure::with_note(
            FailureReason::Malformed,
            "header is not a JSON object",
        )),
    }
}

/// The claims of a token `jsonwebtoken` refused with `kind`, when that
/// refusal comes after the signature verified: `decode` checks the
/// signature before it reads any claim, so a refusal of a claim (time,
/// issuer, audience, a required or ill-typed claim) means the issuer's key
/// signed these very bytes, and their `jti` may name the token in the
/// audit record. Any other refusal yields nothing: an unverified token's
/// claims are whatever its sender wrote.
fn signed_claims(token: &str, kind: &ErrorKind) -> Option<Map<String, Value>> {
    let verified = matches!(
        kind,
        ErrorKind::ExpiredSignature
            | ErrorKind::ImmatureSignature
            | ErrorKind::InvalidIssuer
            | ErrorKind::InvalidAudience
            | ErrorKind::MissingRequiredClaim(_)
            | ErrorKind::InvalidClaimFormat(_)
    );
    if !verified {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Some(claims),
        _ => None,
    }
}

/// `jsonwebtoken`'s refusal as ours.
fn failure(kind: &ErrorKind) -> AuthFailure {
    let reason = match kind {
        ErrorKind::ExpiredSignature => FailureReason::Expired,
        ErrorKind::ImmatureSignature => FailureReason::NotYetValid,
        ErrorKind::InvalidIssuer => FailureReason::BadIssuer,
        ErrorKind::InvalidAudience => FailureReason::BadAudience,
        ErrorKind::InvalidSignature => FailureReason::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => FailureReason::AlgNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) => {
            return AuthFailure::with_note(
                FailureReason::MissingClaim,
                format!("`{}`", known_claim(claim)),
            )
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            return AuthFailure::with_note(
                FailureReason::Malformed,
                format!("`{}` has the wrong type", known_claim(claim)),
            )
        }
        // A key the backend cannot use for this signature: the signature
        // is not valid under the key the token named.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => FailureReason::BadSignature,
        _ => FailureReason::Malformed,
    };
    AuthFailure::new(reason)
}

/// The registered claim names `jsonwebtoken` reports; anything else is
/// not echoed.
fn known_claim(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "a registered claim",
    }
}

/// The id the audit record carries: the token's `jti` when it has a short
/// printable one, else a fingerprint (never the token).
fn token_id(claims: &Map<String, Value>, digest: &[u8; 32]) -> String {
    match claims.get("jti").and_then(Value::as_str) {
        Some(jti)
            if !jti.is_empty()
                && jti.len() <= MAX_JTI_LEN
                && jti.chars().all(|c| c.is_ascii_graphic()) =>
        {
            format!("jwt:{jti}")
        }
        _ => format!("jwt-sha256:{}", hex::encode(&digest[..8])),
    }
}
