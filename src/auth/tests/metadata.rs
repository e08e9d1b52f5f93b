//! The RFC 9728 document and the RFC 6750 challenge.

use super::*;
use crate::auth::store::{self, NewToken};

#[tokio::test]
async fn the_metadata_document_describes_this_resource() {
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk], |_| {}).await;
    let doc = auth.protected_resource_metadata().unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": AUDIENCE,
            "authorization_servers": [ISSUER],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["sqlwarden"],
            "resource_name": "sqlwarden test",
        })
    );
    assert_eq!(
        auth.protected_resource_metadata_path(),
        Some("/.well-known/oauth-protected-resource/mcp")
    );

    let (_dir, root) = jwt_authenticator(&[rsa_a().jwk], |o| {
        o.audience = "https://sqlwarden.example.test/".into();
        o.authorization_servers = vec![
            "https://as1.example.test".into(),
            "https://as2.example.test".into(),
        ];
        o.scopes_supported.clear();
        o.resource_name = None;
    })
    .await;
    let doc = root.protected_resource_metadata().unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": "https://sqlwarden.example.test/",
            "authorization_servers": ["https://as1.example.test", "https://as2.example.test"],
            "bearer_methods_supported": ["header"],
        })
    );
    assert_eq!(
        root.protected_resource_metadata_path(),
        Some("/.well-known/oauth-protected-resource")
    );
}

#[tokio::test]
async fn the_challenge_points_to_the_metadata_and_names_the_error() {
    let (_dir, auth) = jwt_authenticator(&[rsa_a().jwk], |_| {}).await;
    let metadata = "resource_metadata=\"https://sqlwarden.example.test/.well-known/oauth-protected-resource/mcp\"";
    let missing = auth.authenticate(None).await.unwrap_err();
    // No token sent: no error code (RFC 6750 §3.1).
    assert_eq!(
        auth.www_authenticate(&missing),
        format!("Bearer {metadata}")
    );

    let mut claims = good_claims();
    claims["exp"] = json!(now() - 3600);
    let token = mint(&rsa_a(), &claims);
    let expired = refusal(&auth, &token).await;
    let challenge = auth.www_authenticate(&expired);
    assert_eq!(
        challenge,
        format!("Bearer {metadata}, error=\"invalid_token\", error_description=\"The token has expired\"")
    );
    assert!(!challenge.contains(&token));

    // Every description is in RFC 6750's error_description characters.
    for reason in [
        FailureReason::Missing,
        FailureReason::Malformed,
        FailureReason::Expired,
        FailureReason::NotYetValid,
        FailureReason::BadIssuer,
        FailureReason::BadAudience,
        FailureReason::BadSignature,
        FailureReason::AlgNotAllowed,
        FailureReason::UnknownKey,
        FailureReason::BadType,
        FailureReason::UnknownToken,
        FailureReason::Revoked,
        FailureReason::MissingClaim,
        FailureReason::BadClaim,
        FailureReason::InsufficientScope,
    ] {
        assert!(
            reason
                .description()
                .chars()
                .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~')),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn without_oauth_there_is_no_document_and_the_challenge_names_a_realm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    store::create(
        &path,
        NewToken {
            user_id: "alice".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let cfg = AuthConfig {
        static_tokens: Some(Default::default()),
        oauth: None,
    };
    let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
    assert_eq!(auth.protected_resource_metadata(), None);
    assert_eq!(auth.protected_resource_metadata_path(), None);
    let missing = auth.authenticate(None).await.unwrap_err();
    assert_eq!(
        auth.www_authenticate(&missing),
        "Bearer realm=\"sqlwarden\""
    );
    let unknown = refusal(&auth, "sqlw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(
        auth.www_authenticate(&unknown),
        "Bearer realm=\"sqlwarden\", error=\"invalid_token\", error_description=\"The token is not known to this server\""
    );
}
