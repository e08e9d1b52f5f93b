//! Every good and bad JWT, against a key set in a file.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::config::{AttributeValue, Scalar};

async fn all_keys() -> (tempfile::TempDir, Authenticator) {
    jwt_authenticator(&[rsa_a().jwk, ec().jwk, ed().jwk], |_| {}).await
}

#[tokio::test]
async fn good_tokens_of_each_key_kind_become_the_mapped_identity() {
    let (_dir, auth) = all_keys().await;
    for key in [rsa_a(), ec(), ed()] {
        let token = mint(&key, &good_claims());
        let caller = auth
            .authenticate(Some(&bearer(&token)))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.kid));
        assert_eq!(caller.identity.user_id, "alice");
        assert_eq!(caller.identity.roles, ["analyst", "finance"]);
        assert_eq!(
            caller.identity.attributes.get("region_codes"),
            Some(&AttributeValue::List(vec![
                Scalar::Text("EAST".into()),
                Scalar::Text("NORTH".into())
            ]))
        );
        assert_eq!(
            caller.identity.attributes.get("tenant_id"),
            Some(&AttributeValue::One(Scalar::Int(7)))
        );
        assert_eq!(caller.token_id, "jwt:token-1");
    }
}

#[tokio::test]
async fn audience_may_be_a_list_and_the_scheme_any_case() {
    let (_dir, auth) = all_keys().await;
    let mut claims = good_claims();
    claims["aud"] = json!(["https://other.example.test", AUDIENCE]);
    claims.as_object_mut().unwrap().remove("jti");
    let token = mint(&rsa_a(), &claims);
    let caller = auth
        .authenticate(Some(&format!("bearer {token}")))
        .await
        .unwrap();
    // Without a `jti` the id is a fingerprint, not the token.
    assert!(
        caller.token_id.starts_with("jwt-sha256:"),
        "{}",
        caller.token_id
    );
    assert!(!token.contains(&caller.token_id["jwt-sha256:".len()..]));
}

#[tokio::test]
async fn missing_and_malformed_credentials_are_refused() {
    let (_dir, auth) = all_keys().await;
    let missing = auth.authenticate(None).await.unwrap_err();
    assert_eq!(reason(&missing), FailureReason::Missing);
    let good = mint(&rsa_a(), &good_claims());
    // Another scheme is no bearer credential at all (RFC 6750 §3.1).
    let basic = auth
        .authenticate(Some(&format!("Basic {good}")))
        .await
        .unwrap_err();
    assert_eq!(reason(&basic), FailureReason::Missing);
    assert!(!auth.www_authenticate(&basic).contains("error="));
    assert_leaks_nothing(&basic, &good);
    for header in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        good.clone(),
        "Bearer not-a-jwt".to_owned(),
        "Bearer a.b".to_owned(),
        "Bearer a.b.c.d.e".to_owned(),
        format!("Bearer {good}\"x"),
        format!("Bearer {}", "x".repeat(20_000)),
        format!("Bearer !!!.{}", good.split_once('.').unwrap().1),
        // A header that is base64 of something other than a JSON object.
        format!(
            "Bearer {}.{}",
            b64(&json!([1, 2])),
            good.split_once('.').unwrap().1
        ),
    ] {
        let failure = auth.authenticate(Some(&header)).await.unwrap_err();
        assert_eq!(reason(&failure), FailureReason::Malformed, "{header:.60}");
        assert_leaks_nothing(&failure, &good);
    }
}

#[tokio::test]
async fn expiry_and_not_before_hold_with_the_configured_skew() {
    let (_dir, auth) = all_keys().await;
    let key = rsa_a();
    let mut expired = good_claims();
    expired["exp"] = json!(now() - 120);
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &expired)).await),
        FailureReason::Expired
    );

    // Thirty seconds past `exp` is within the 60 s skew.
    let mut just = good_claims();
    just["exp"] = json!(now() - 30);
    auth.authenticate(Some(&bearer(&mint(&key, &just))))
        .await
        .unwrap();

    let mut early = good_claims();
    early["nbf"] = json!(now() + 120);
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &early)).await),
        FailureReason::NotYetValid
    );

    let mut soon = good_claims();
    soon["nbf"] = json!(now() + 30);
    auth.authenticate(Some(&bearer(&mint(&key, &soon))))
        .await
        .unwrap();

    let mut no_exp = good_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &no_exp)).await),
        FailureReason::MissingClaim
    );

    let mut text_exp = good_claims();
    text_exp["exp"] = json!("tomorrow");
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &text_exp)).await),
        FailureReason::MissingClaim
    );
}

#[tokio::test]
async fn a_zero_skew_refuses_a_token_just_past_exp() {
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk], |o| o.clock_skew_seconds = 0).await;
    let mut claims = good_claims();
    claims["exp"] = json!(now() - 5);
    assert_eq!(
        reason(&refusal(&auth, &mint(&rsa_a(), &claims)).await),
        FailureReason::Expired
    );
}

#[tokio::test]
async fn issuer_and_audience_must_match_and_be_present() {
    let (_dir, auth) = all_keys().await;
    let key = rsa_a();
    for (field, value, want) in [
        (
            "iss",
            json!("https://evil.example.test/"),
            FailureReason::BadIssuer,
        ),
        // A prefix or a trailing-slash variant is not the issuer.
        (
            "iss",
            json!("https://login.example.test"),
            FailureReason::BadIssuer,
        ),
        (
            "aud",
            json!("https://sqlwarden.example.test/other"),
            FailureReason::BadAudience,
        ),
        (
            "aud",
            json!(["https://a.example.test", "https://b.example.test"]),
            FailureReason::BadAudience,
        ),
    ] {
        let mut claims = good_claims();
        claims[field] = value;
        assert_eq!(
            reason(&refusal(&auth, &mint(&key, &claims)).await),
            want,
            "{field}"
        );
    }
    for field in ["iss", "aud"] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(field);
        assert_eq!(
            reason(&refusal(&auth, &mint(&key, &claims)).await),
            FailureReason::MissingClaim,
            "{field}"
        );
    }
}

#[tokio::test]
async fn a_wrong_or_tampered_signature_is_refused() {
    let (_dir, auth) = all_keys().await;
    // Signed by key b, claiming to be key a.
    let b = rsa_b();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-a".into());
    let forged = jsonwebtoken::encode(&header, &good_claims(), &b.key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &forged).await),
        FailureReason::BadSignature
    );

    // A good token whose payload was swapped for bob's.
    let good = mint(&rsa_a(), &good_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = good_claims();
    claims["sub"] = json!("bob");
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    assert_eq!(
        reason(&refusal(&auth, &tampered).await),
        FailureReason::BadSignature
    );

    // A good token with its signature removed.
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(
        reason(&refusal(&auth, &stripped).await),
        FailureReason::BadSignature
    );

    // The EC and Ed25519 keys do the same.
    for key in [ec(), ed()] {
        let good = mint(&key, &good_claims());
        let parts: Vec<&str> = good.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(
            reason(&refusal(&auth, &tampered).await),
            FailureReason::BadSignature,
            "{}",
            key.kid
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (_dir, auth) = all_keys().await;
    for alg in ["none", "None", "NONE", ""] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "rsa-a"});
        let token = format!("{}.{}.", b64(&header), b64(&good_claims()));
        assert_eq!(
            reason(&refusal(&auth, &token).await),
            FailureReason::AlgNotAllowed,
            "{alg}"
        );
        // With a signature part too.
        let token = format!("{}.{}.c2ln", b64(&header), b64(&good_claims()));
        assert_eq!(
            reason(&refusal(&auth, &token).await),
            FailureReason::AlgNotAllowed,
            "{alg}"
        );
    }
    let no_alg = format!(
        "{}.{}.c2ln",
        b64(&json!({"kid": "rsa-a"})),
        b64(&good_claims())
    );
    assert_eq!(
        reason(&refusal(&auth, &no_alg).await),
        FailureReason::AlgNotAllowed
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (_dir, auth) = all_keys().await;
    // The classic RS/HS confusion: HMAC keyed with the RSA public key's
    // bytes, in PEM and in the JWK's modulus, naming the RSA key.
    let public_pem = fixture("rsa-a.pub.pem");
    let modulus = rsa_a().jwk["n"].as_str().unwrap().to_owned();
    for secret in [public_pem.clone(), modulus.into_bytes()] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some("rsa-a".into());
            let token = jsonwebtoken::encode(
                &header,
                &good_claims(),
                &EncodingKey::from_secret(&secret).unwrap(),
            )
            .unwrap();
            assert_eq!(
                reason(&refusal(&auth, &token).await),
                FailureReason::AlgNotAllowed,
                "{alg:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_allowed_alg_that_does_not_fit_the_key_is_refused() {
    // The RSA key without an `alg` of its own: an ES256 header naming it.
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk_without_alg(), ec().jwk], |_| {}).await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("rsa-a".into());
    let token = jsonwebtoken::encode(&header, &good_claims(), &ec().key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::AlgNotAllowed
    );

    // A JWK that declares RS256 is not used for PS256.
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk], |o| {
        o.algorithms = vec![JwtAlgorithm::RS256, JwtAlgorithm::PS256];
    })
    .await;
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some("rsa-a".into());
    let token = jsonwebtoken::encode(&header, &good_claims(), &rsa_a().key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::AlgNotAllowed
    );

    // An algorithm the config does not list, with a key that fits it.
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk, ec().jwk], |o| {
        o.algorithms = vec![JwtAlgorithm::RS256];
    })
    .await;
    let token = mint(&ec(), &good_claims());
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::AlgNotAllowed
    );
}

#[tokio::test]
async fn an_unknown_kid_is_refused_and_no_kid_needs_a_single_key() {
    let (_dir, auth) = all_keys().await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rotated-away".into());
    let token = jsonwebtoken::encode(&header, &good_claims(), &rsa_a().key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::UnknownKey
    );

    // No `kid` among several keys: no guessing.
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &good_claims(), &rsa_a().key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::UnknownKey
    );

    // No `kid` with one key in the set: that key.
    let (_dir, single) = jwt_authenticator(&[rsa_a().jwk], |_| {}).await;
    single.authenticate(Some(&bearer(&token))).await.unwrap();
}

#[tokio::test]
async fn claims_that_do_not_make_an_identity_are_refused() {
    let (_dir, auth) = all_keys().await;
    let key = rsa_a();
    let mut no_sub = good_claims();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &no_sub)).await),
        FailureReason::MissingClaim
    );

    let mut empty_sub = good_claims();
    empty_sub["sub"] = json!("");
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &empty_sub)).await),
        FailureReason::BadClaim
    );

    let mut object_roles = good_claims();
    object_roles["roles"] = json!({"admin": true});
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &object_roles)).await),
        FailureReason::BadClaim
    );

    let mut nested_region = good_claims();
    nested_region["region"] = json!([["EAST"]]);
    assert_eq!(
        reason(&refusal(&auth, &mint(&key, &nested_region)).await),
        FailureReason::BadClaim
    );
}

#[tokio::test]
async fn a_critical_header_extension_is_refused() {
    let (_dir, auth) = all_keys().await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-a".into());
    header.crit = Some(vec!["exp".into()]);
    let token = jsonwebtoken::encode(&header, &good_claims(), &rsa_a().key).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::Malformed
    );
}

#[tokio::test]
async fn a_static_token_is_not_accepted_without_static_tokens() {
    let (_dir, auth) = all_keys().await;
    let failure = refusal(&auth, "sqlw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(reason(&failure), FailureReason::UnknownToken);
}

#[tokio::test]
async fn a_remembered_token_still_expires_on_time() {
    let (_dir, auth) = all_keys().await;
    // Valid for at most two more seconds thanks to the 60 s skew (whole
    // seconds: refused once `now - 60 > exp`).
    let mut claims = good_claims();
    claims["exp"] = json!(now() - 59);
    let token = mint(&rsa_a(), &claims);
    for _ in 0..3 {
        auth.authenticate(Some(&bearer(&token))).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::Expired
    );
}

#[tokio::test]
async fn keys_offered_by_the_token_itself_are_ignored() {
    let (_dir, auth) = all_keys().await;
    // The attacker signs with its own key and embeds that key (`jwk`) or
    // points to it (`jku`, `x5u`); only the configured set counts.
    let attacker = rsa_b();
    let embedded: jsonwebtoken::jwk::Jwk = serde_json::from_value(attacker.jwk.clone()).unwrap();
    for kid in ["rsa-a", "rsa-b"] {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        header.jwk = Some(embedded.clone());
        header.jku = Some("https://evil.example.test/jwks".into());
        header.x5u = Some("https://evil.example.test/cert".into());
        let token = jsonwebtoken::encode(&header, &good_claims(), &attacker.key).unwrap();
        let want = if kid == "rsa-a" {
            FailureReason::BadSignature
        } else {
            FailureReason::UnknownKey
        };
        assert_eq!(reason(&refusal(&auth, &token).await), want, "{kid}");
    }
}

/// A token signed by the issuer's key with `typ` set as given (`None`:
/// no `typ` at all).
fn mint_typed(key: &SigningKey, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.key).unwrap()
}

#[tokio::test]
async fn a_token_whose_typ_names_another_kind_is_refused() {
    let (_dir, auth) = all_keys().await;
    let key = rsa_a();
    // What issuers send for access tokens: all accepted by default.
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("application/jwt"),
        Some("at+jwt"),
        Some("AT+JWT"),
        Some("application/at+jwt"),
    ] {
        let token = mint_typed(&key, typ, &good_claims());
        auth.authenticate(Some(&bearer(&token)))
            .await
            .unwrap_or_else(|e| panic!("{typ:?}: {e}"));
    }
    // An ID token (or any other kind) from the very same issuer and key,
    // every claim good: refused, as not an access token.
    for typ in [
        "id+jwt",
        "logout+jwt",
        "secevent+jwt",
        "JOSE",
        "text/at+jwt",
    ] {
        let token = mint_typed(&key, Some(typ), &good_claims());
        let failure = refusal(&auth, &token).await;
        assert_eq!(reason(&failure), FailureReason::BadType, "{typ}");
        assert_eq!(failure.token_id(), None, "refused before verifying");
        assert_eq!(
            auth.www_authenticate(&failure),
            "Bearer resource_metadata=\"https://sqlwarden.example.test/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\", error_description=\"The token is not an OAuth access token\""
        );
    }
    // A `typ` that is no string is malformed.
    let header = json!({"alg": "RS256", "kid": "rsa-a", "typ": ["at+jwt"]});
    let token = format!("{}.{}.c2ln", b64(&header), b64(&good_claims()));
    assert_eq!(
        reason(&refusal(&auth, &token).await),
        FailureReason::Malformed
    );
}

#[tokio::test]
async fn require_access_token_typ_accepts_only_at_jwt() {
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk], |o| {
        o.require_access_token_typ = true;
    })
    .await;
    let key = rsa_a();
    for typ in [Some("at+jwt"), Some("At+Jwt"), Some("application/at+jwt")] {
        let token = mint_typed(&key, typ, &good_claims());
        auth.authenticate(Some(&bearer(&token)))
            .await
            .unwrap_or_else(|e| panic!("{typ:?}: {e}"));
    }
    for typ in [None, Some("JWT"), Some("application/jwt"), Some("id+jwt")] {
        let token = mint_typed(&key, typ, &good_claims());
        assert_eq!(
            reason(&refusal(&auth, &token).await),
            FailureReason::BadType,
            "{typ:?}"
        );
    }
}
