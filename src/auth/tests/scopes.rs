//! `required_scopes`: a verified token must grant each, in `scope` or
//! `scp`; lacking one is `insufficient_scope` (403), with a challenge that
//! names the scopes.

use super::*;

const METADATA: &str =
    "resource_metadata=\"https://sqlwarden.example.test/.well-known/oauth-protected-resource/mcp\"";

/// An authenticator requiring `sqlwarden.query` and `sqlwarden:read`.
async fn requiring() -> (tempfile::TempDir, Authenticator) {
    jwt_authenticator(&[rsa_a().jwk], |o| {
        o.required_scopes = vec!["sqlwarden.query".into(), "sqlwarden:read".into()];
    })
    .await
}

fn with_scopes(claim: &str, value: Value) -> Value {
    let mut claims = good_claims();
    claims[claim] = value;
    claims
}

#[tokio::test]
async fn a_token_granting_every_required_scope_is_accepted_in_either_claim() {
    let (_dir, auth) = requiring().await;
    for claims in [
        with_scopes("scope", json!("openid sqlwarden:read sqlwarden.query")),
        // Doubled and trailing spaces name nothing.
        with_scopes("scope", json!("sqlwarden.query  sqlwarden:read ")),
        with_scopes("scp", json!(["sqlwarden:read", "sqlwarden.query", "x"])),
        with_scopes("scp", json!("sqlwarden:read sqlwarden.query")),
        // Both claims: a token grants what either names.
        {
            let mut c = with_scopes("scope", json!("sqlwarden.query"));
            c["scp"] = json!(["sqlwarden:read"]);
            c
        },
    ] {
        let token = mint(&rsa_a(), &claims);
        let caller = auth
            .authenticate(Some(&bearer(&token)))
            .await
            .unwrap_or_else(|e| panic!("{claims}: {e}"));
        assert_eq!(caller.identity.user_id, "alice");
    }
}

#[tokio::test]
async fn a_token_lacking_a_required_scope_is_insufficient_scope() {
    let (_dir, auth) = requiring().await;
    for claims in [
        with_scopes("scope", json!("openid sqlwarden.query")),
        with_scopes("scp", json!(["sqlwarden:read"])),
        // No scope claim at all.
        good_claims(),
        // Scopes compare exactly: no case folding, no prefixes.
        with_scopes("scope", json!("SQLWARDEN.QUERY sqlwarden:read")),
        with_scopes("scope", json!("sqlwarden sqlwarden:read")),
        // One list item holding both is one (odd) scope, not two.
        with_scopes("scp", json!(["sqlwarden.query sqlwarden:read"])),
    ] {
        let token = mint(&rsa_a(), &claims);
        let failure = refusal(&auth, &token).await;
        assert_eq!(
            reason(&failure),
            FailureReason::InsufficientScope,
            "{claims}"
        );
        assert!(failure.is_insufficient_scope());
        // The signature verified: the token is known for sure.
        assert_eq!(failure.token_id(), Some("jwt:token-1"));
        // The log names what is missing, from config.
        assert!(failure.to_string().contains("missing `"), "{failure}");
        assert_eq!(
            auth.www_authenticate(&failure),
            format!("Bearer {METADATA}, scope=\"sqlwarden.query sqlwarden:read\", error=\"insufficient_scope\", error_description=\"The token does not grant the scope this resource requires\"")
        );
    }
}

#[tokio::test]
async fn a_scope_claim_of_another_type_is_a_bad_claim() {
    let (_dir, auth) = requiring().await;
    for claims in [
        with_scopes("scope", json!(7)),
        with_scopes("scp", json!(["sqlwarden.query", 1])),
        with_scopes("scp", json!({"sqlwarden.query": true})),
    ] {
        let token = mint(&rsa_a(), &claims);
        assert_eq!(
            reason(&refusal(&auth, &token).await),
            FailureReason::BadClaim,
            "{claims}"
        );
    }
    // Without required scopes, the scope claims are not looked at.
    let (_dir, lenient) = jwt_authenticator(&[rsa_a().jwk], |_| {}).await;
    let token = mint(&rsa_a(), &with_scopes("scope", json!(7)));
    lenient.authenticate(Some(&bearer(&token))).await.unwrap();
}

#[tokio::test]
async fn other_refusals_come_first_and_the_401_names_the_scopes_too() {
    let (_dir, auth) = requiring().await;
    // Expired and lacking the scope: the token is not valid, 401.
    let mut claims = good_claims();
    claims["exp"] = json!(now() - 3600);
    let expired = refusal(&auth, &mint(&rsa_a(), &claims)).await;
    assert_eq!(reason(&expired), FailureReason::Expired);
    assert_eq!(
        auth.www_authenticate(&expired),
        format!("Bearer {METADATA}, scope=\"sqlwarden.query sqlwarden:read\", error=\"invalid_token\", error_description=\"The token has expired\"")
    );
    // No token: the scopes to ask for, and no error code.
    let missing = auth.authenticate(None).await.unwrap_err();
    assert_eq!(
        auth.www_authenticate(&missing),
        format!("Bearer {METADATA}, scope=\"sqlwarden.query sqlwarden:read\"")
    );
}

#[tokio::test]
async fn the_metadata_lists_the_required_scopes() {
    let (_dir, auth) = requiring().await;
    let doc = auth.protected_resource_metadata().unwrap();
    // `scopes_supported` first, then each required scope not among them.
    assert_eq!(
        doc["scopes_supported"],
        json!(["sqlwarden", "sqlwarden.query", "sqlwarden:read"])
    );
    let (_dir, only_required) = jwt_authenticator(&[rsa_a().jwk], |o| {
        o.scopes_supported = vec!["sqlwarden.query".into()];
        o.required_scopes = vec!["sqlwarden.query".into()];
    })
    .await;
    assert_eq!(
        only_required.protected_resource_metadata().unwrap()["scopes_supported"],
        json!(["sqlwarden.query"])
    );
}
