//! The `auth:` section: what serde refuses, what validation refuses, and
//! the schema.

use super::*;
use crate::auth::AuthError;

fn parse(yaml: &str) -> Result<AuthConfig, String> {
    serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
}

fn codes_and_settings(cfg: &AuthConfig) -> Vec<String> {
    cfg.validate()
        .iter()
        .map(|e| match e {
            AuthError::Invalid { setting, .. } => setting.clone(),
            other => other.code().to_owned(),
        })
        .collect()
}

#[test]
fn a_full_section_parses_with_defaults_filled_in() {
    let cfg = parse(
        "static_tokens: {}\noauth:\n  issuer: https://login.example.test/\n  audience: https://sqlwarden.example.test/mcp\n  jwks_uri: https://login.example.test/keys\n  claims:\n    roles: /realm_access/roles\n    attributes:\n      region: region_codes\n",
    )
    .unwrap();
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    let oauth = cfg.oauth.as_ref().unwrap();
    assert_eq!(
        oauth.algorithms,
        [
            JwtAlgorithm::RS256,
            JwtAlgorithm::ES256,
            JwtAlgorithm::EdDSA
        ]
    );
    assert_eq!(oauth.clock_skew_seconds, 60);
    assert!(!oauth.require_access_token_typ);
    assert_eq!(oauth.claims.user_id, "sub");
    assert_eq!(
        oauth.listed_authorization_servers(),
        ["https://login.example.test/"]
    );
    assert_eq!(
        cfg.token_file(Path::new("/etc/sqlwarden")),
        Some(PathBuf::from("/etc/sqlwarden/tokens.json"))
    );
}

#[test]
fn unknown_keys_hmac_and_none_cannot_be_written() {
    let err = parse("static_tokens: {}\nstatic_token: {}\n").unwrap_err();
    assert!(err.contains("static_token"), "{err}");
    let base = "oauth:\n  issuer: https://i.example.test/\n  audience: https://a.example.test/\n  jwks_uri: https://i.example.test/k\n";
    let err = parse(&format!("{base}  audiance: x\n")).unwrap_err();
    assert!(err.contains("audiance"), "{err}");
    for alg in ["HS256", "HS512", "none", "rs256"] {
        let err = parse(&format!("{base}  algorithms: [RS256, {alg}]\n")).unwrap_err();
        assert!(err.contains(alg), "{alg}: {err}");
    }
}

#[test]
fn validation_names_each_broken_setting() {
    assert_eq!(
        codes_and_settings(&AuthConfig::default()),
        ["AUTH_NO_METHOD"]
    );

    let mut o = oauth("jwks.json");
    o.issuer = "http://login.example.test/".into();
    o.audience = "https://sqlwarden.example.test/mcp?x=1".into();
    o.jwks_uri = Some("https://login.example.test/keys".into());
    o.algorithms.clear();
    o.clock_skew_seconds = 3600;
    o.jwks_min_refetch_seconds = 0;
    o.authorization_servers = vec!["ftp://as.example.test".into()];
    o.claims.user_id = String::new();
    o.claims
        .attributes
        .insert("other_region".into(), "region_codes".into());
    o.claims.attributes.insert("x".into(), "not a name".into());
    o.required_scopes = vec!["sqlwarden.query".into(), "two words".into()];
    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(o),
    };
    let found = codes_and_settings(&cfg);
    for setting in [
        "auth.oauth.issuer",
        "auth.oauth.audience",
        "auth.oauth.jwks_uri",
        "auth.oauth.algorithms",
        "auth.oauth.clock_skew_seconds",
        "auth.oauth.jwks_min_refetch_seconds",
        "auth.oauth.authorization_servers",
        "auth.oauth.claims.user_id",
        "auth.oauth.claims.attributes",
        "auth.oauth.required_scopes",
    ] {
        assert!(
            found.iter().any(|f| f == setting),
            "{setting} not in {found:?}"
        );
    }
    // Every problem carries a hint.
    assert!(cfg.validate().iter().all(|e| !e.hint().is_empty()));
    // A scope must be one RFC 6749 scope-token: it is quoted in the
    // challenge as is.
    for (scope, ok) in [
        ("sqlwarden.query", true),
        ("https://api.example.test/read", true),
        ("a:b", true),
        ("", false),
        ("two words", false),
        ("quote\"d", false),
        ("back\\slash", false),
        ("tab\t", false),
        ("é", false),
    ] {
        let mut o = oauth("jwks.json");
        o.required_scopes = vec![scope.into()];
        let cfg = AuthConfig {
            static_tokens: None,
            oauth: Some(o),
        };
        assert_eq!(cfg.validate().is_empty(), ok, "{scope:?}");
    }

    let mut none = oauth("jwks.json");
    none.jwks_file = None;
    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(none),
    };
    assert_eq!(codes_and_settings(&cfg), ["auth.oauth.jwks_uri"]);

    // http is for loopback issuers (a local test issuer) only.
    let mut local = oauth("jwks.json");
    local.issuer = "http://127.0.0.1:8081/".into();
    local.audience = "http://localhost:8080/mcp".into();
    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(local),
    };
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
}

#[tokio::test]
async fn from_config_refuses_what_validation_refuses_and_a_bad_key_set() {
    let dir = tempfile::tempdir().unwrap();
    let err = Authenticator::from_config(&AuthConfig::default(), dir.path())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AUTH_NO_METHOD");
    assert!(err.hint().contains("static_tokens"), "{}", err.hint());

    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(oauth("jwks.json")),
    };
    let err = Authenticator::from_config(&cfg, dir.path())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AUTH_KEYS");
    assert!(err.to_string().contains("jwks.json"), "{err}");

    for (doc, expect) in [
        ("[]".to_owned(), "no `keys`"),
        ("{\"keys\": []}".to_owned(), "no key can verify"),
        // A symmetric key is never turned into an HMAC secret.
        (
            jwks(&[json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})]),
            "symmetric",
        ),
        // An encryption key, and a 1024-bit RSA key, are left out.
        (
            jwks(&[{
                let mut k = rsa_a().jwk;
                k["use"] = json!("enc");
                k
            }]),
            "not a signature key",
        ),
        (
            jwks(&[
                json!({"kty": "RSA", "kid": "small", "n": b64_bytes(&[0xC5; 128]), "e": "AQAB"}),
            ]),
            "fewer than 2048",
        ),
        // A key whose algorithm the config does not allow.
        (
            jwks(&[{
                let mut k = rsa_a().jwk;
                k["alg"] = json!("PS512");
                k
            }]),
            "verifies none of the configured",
        ),
    ] {
        std::fs::write(dir.path().join("jwks.json"), &doc).unwrap();
        let err = Authenticator::from_config(&cfg, dir.path())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "AUTH_KEYS");
        assert!(err.to_string().contains(expect), "{expect}: {err}");
    }

    // One unusable key beside a good one is left out, not fatal.
    std::fs::write(
        dir.path().join("jwks.json"),
        jwks(&[
            json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
            json!({"kty": "XYZ"}),
            rsa_a().jwk,
        ]),
    )
    .unwrap();
    let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
    auth.authenticate(Some(&bearer(&mint(&rsa_a(), &good_claims()))))
        .await
        .unwrap();
}

fn b64_bytes(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn the_schema_offers_only_asymmetric_algorithms() {
    let schema = serde_json::to_string(&schemars::schema_for!(AuthConfig)).unwrap();
    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA"] {
        assert!(schema.contains(alg), "{alg}");
    }
    for alg in ["HS256", "\"none\""] {
        assert!(!schema.contains(alg), "{alg}");
    }
    assert!(schema.contains("\"additionalProperties\":false"));
}
