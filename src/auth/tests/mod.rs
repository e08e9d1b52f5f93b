//! The authenticator with real keys and real tokens: JWTs signed in the
//! test with the committed test-only keys (`tests/fixtures/auth/`), key
//! sets in a file and served over HTTP by a local server, and static
//! tokens made by the store the CLI uses.

mod claims;
mod config;
mod jwks_uri;
mod jwt;
mod metadata;
mod scopes;
mod static_tokens;

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::{AuthConfig, AuthFailure, Authenticator, FailureReason};
use crate::auth::config::{ClaimMapping, JwtAlgorithm, OAuthConfig};
use crate::config::Identity;

/// The issuer every test token names.
const ISSUER: &str = "https://login.example.test/";
/// This server's resource URI.
const AUDIENCE: &str = "https://sqlwarden.example.test/mcp";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auth")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A private key the test signs with, and its public JWK.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn new(kid: &str, alg: Algorithm, key: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        let jwk = serde_json::to_value(&jwk).unwrap();
        Self {
            kid: kid.to_owned(),
            alg,
            key,
            jwk,
        }
    }

    /// The public JWK without its `alg` (many issuers leave it out).
    fn jwk_without_alg(&self) -> Value {
        let mut jwk = self.jwk.clone();
        jwk.as_object_mut().unwrap().remove("alg");
        jwk
    }
}

fn rsa_a() -> SigningKey {
    SigningKey::new(
        "rsa-a",
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(&fixture("rsa-a.pem")).unwrap(),
    )
}

fn rsa_b() -> SigningKey {
    SigningKey::new(
        "rsa-b",
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(&fixture("rsa-b.pem")).unwrap(),
    )
}

fn ec() -> SigningKey {
    SigningKey::new(
        "ec-1",
        Algorithm::ES256,
        EncodingKey::from_ec_pem(&fixture("ec-p256.pem")).unwrap(),
    )
}

fn ed() -> SigningKey {
    SigningKey::new(
        "ed-1",
        Algorithm::EdDSA,
        EncodingKey::from_ed_pem(&fixture("ed25519.pem")).unwrap(),
    )
}

fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a good token for `alice`.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "exp": now() + 300,
        "iat": now(),
        "jti": "token-1",
        "roles": ["analyst", "finance"],
        "region": ["EAST", "NORTH"],
        "tenant": 7,
    })
}

fn mint(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.key).unwrap()
}

fn b64(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// OAuth settings for the test issuer, keys from `jwks_file`.
fn oauth(jwks_file: &str) -> OAuthConfig {
    OAuthConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_file: Some(PathBuf::from(jwks_file)),
        jwks_uri: None,
        algorithms: vec![
            JwtAlgorithm::RS256,
            JwtAlgorithm::ES256,
            JwtAlgorithm::EdDSA,
        ],
        clock_skew_seconds: 60,
        jwks_cache_seconds: 3600,
        jwks_min_refetch_seconds: 30,
        require_access_token_typ: false,
        authorization_servers: Vec::new(),
        scopes_supported: vec!["sqlwarden".into()],
        required_scopes: Vec::new(),
        resource_name: Some("sqlwarden test".into()),
        claims: ClaimMapping {
            user_id: "sub".into(),
            roles: Some("roles".into()),
            attributes: [
                ("region".to_owned(), "region_codes".to_owned()),
                ("tenant".to_owned(), "tenant_id".to_owned()),
            ]
            .into_iter()
            .collect(),
        },
    }
}

/// A config directory holding `jwks.json` with `keys`, and an
/// authenticator over it with `adjust` applied to the OAuth settings.
async fn jwt_authenticator(
    keys: &[Value],
    adjust: impl FnOnce(&mut OAuthConfig),
) -> (tempfile::TempDir, Authenticator) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(keys)).unwrap();
    let mut oauth = oauth("jwks.json");
    adjust(&mut oauth);
    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(oauth),
    };
    let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
    (dir, auth)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The refusal of `token`, checked to say nothing of the token.
async fn refusal(auth: &Authenticator, token: &str) -> AuthFailure {
    let failure = auth
        .authenticate(Some(&bearer(token)))
        .await
        .expect_err("the token must be refused");
    assert_leaks_nothing(&failure, token);
    failure
}

/// Neither the Display nor the Debug of `failure` holds the token or any
/// of its dot-separated parts.
fn assert_leaks_nothing(failure: &AuthFailure, token: &str) {
    let shown = format!("{failure} {failure:?}");
    assert!(!shown.contains(token), "{shown}");
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!shown.contains(part), "a token part leaked: {shown}");
    }
}

fn reason(failure: &AuthFailure) -> FailureReason {
    failure.reason()
}
