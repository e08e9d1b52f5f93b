//! Static tokens through the store the CLI writes: made, used, revoked,
//! expired, and the store's own safety.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use super::*;
use crate::auth::store::{self, NewToken};
use crate::auth::AuthError;
use crate::config::{AttributeValue, Scalar};

fn alice() -> NewToken {
    NewToken {
        user_id: "alice".into(),
        roles: vec!["analyst".into()],
        attributes: BTreeMap::from([(
            "region_codes".to_owned(),
            AttributeValue::List(vec![
                Scalar::Text("EAST".into()),
                Scalar::Text("NORTH".into()),
            ]),
        )]),
        expires: None,
        description: Some("test".into()),
    }
}

async fn static_authenticator(dir: &Path) -> Result<Authenticator, AuthError> {
    let cfg = AuthConfig {
        static_tokens: Some(Default::default()),
        oauth: None,
    };
    Authenticator::from_config(&cfg, dir).await
}

#[tokio::test]
async fn a_created_token_is_the_identity_it_was_made_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let created = store::create(&path, alice()).unwrap();
    assert!(created.token.starts_with("sqlw_"));
    assert_eq!(created.token.len(), "sqlw_".len() + 43);
    assert!(!format!("{created:?}").contains(&created.token));

    let auth = static_authenticator(dir.path()).await.unwrap();
    let caller = auth
        .authenticate(Some(&bearer(&created.token)))
        .await
        .unwrap();
    assert_eq!(
        caller.identity,
        Identity {
            user_id: "alice".into(),
            roles: vec!["analyst".into()],
            attributes: alice().attributes,
        }
    );
    assert_eq!(caller.token_id, created.record.id);

    // The store holds the hash, never the token.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&created.token));
    assert!(!text.contains(&created.token["sqlw_".len()..]));
    assert!(text.contains(&hex::encode(store::token_hash(&created.token))));
}

#[cfg(unix)]
#[test]
fn the_store_is_private_and_replaced_whole() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    store::create(&path, alice()).unwrap();
    let first = std::fs::metadata(&path).unwrap();
    assert_eq!(first.permissions().mode() & 0o777, 0o600);
    store::create(&path, alice()).unwrap();
    let second = std::fs::metadata(&path).unwrap();
    assert_eq!(second.permissions().mode() & 0o777, 0o600);
    // A rename, not an in-place rewrite.
    assert_ne!(first.ino(), second.ino());
    assert_eq!(store::read(&path).unwrap().tokens.len(), 2);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "tokens.json" || n == "tokens.json.lock"),
        "{names:?}"
    );
}

#[test]
fn concurrent_creates_lose_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..5 {
                    store::create(&path, alice()).unwrap();
                }
            });
        }
    });
    let file = store::read(&path).unwrap();
    assert_eq!(file.tokens.len(), 40);
    let ids: std::collections::BTreeSet<_> = file.tokens.iter().map(|t| &t.id).collect();
    assert_eq!(ids.len(), 40);
}

#[tokio::test]
async fn revoking_takes_effect_on_the_next_request_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let kept = store::create(&path, alice()).unwrap();
    let revoked = store::create(&path, alice()).unwrap();
    let auth = static_authenticator(dir.path()).await.unwrap();
    auth.authenticate(Some(&bearer(&revoked.token)))
        .await
        .unwrap();

    let record = store::revoke(&path, &revoked.record.id).unwrap();
    assert!(record.revoked.is_some());
    let failure = refusal(&auth, &revoked.token).await;
    assert_eq!(reason(&failure), FailureReason::Revoked);
    auth.authenticate(Some(&bearer(&kept.token))).await.unwrap();

    // A token made after the server started works too.
    let later = store::create(&path, alice()).unwrap();
    auth.authenticate(Some(&bearer(&later.token)))
        .await
        .unwrap();

    // Revoking twice keeps the first time; an unknown id is an error.
    let again = store::revoke(&path, &revoked.record.id).unwrap();
    assert_eq!(again.revoked, record.revoked);
    let err = store::revoke(&path, "tok_0000000000000000").unwrap_err();
    assert_eq!(err.code(), "AUTH_TOKEN_NOT_FOUND");

    // A removed store accepts nothing.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        reason(&refusal(&auth, &kept.token).await),
        FailureReason::UnknownToken
    );
}

#[tokio::test]
async fn expired_unknown_and_near_miss_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let mut old = alice();
    old.expires = Some(Utc::now() - Duration::hours(1));
    let expired = store::create(&path, old).unwrap();
    let good = store::create(&path, alice()).unwrap();
    let auth = static_authenticator(dir.path()).await.unwrap();
    assert_eq!(
        reason(&refusal(&auth, &expired.token).await),
        FailureReason::Expired
    );

    // One character off, a prefix, or the token with more after it.
    let mut off = good.token.clone().into_bytes();
    let last = off.len() - 1;
    off[last] = if off[last] == b'A' { b'B' } else { b'A' };
    let off = String::from_utf8(off).unwrap();
    for token in [
        off.as_str(),
        &good.token[..good.token.len() - 1],
        &format!("{}A", good.token),
    ] {
        assert_eq!(
            reason(&refusal(&auth, token).await),
            FailureReason::UnknownToken
        );
    }
    // A JWT when only static tokens are on.
    let jwt = mint(&rsa_a(), &good_claims());
    assert_eq!(
        reason(&refusal(&auth, &jwt).await),
        FailureReason::UnknownToken
    );
}

#[tokio::test]
async fn a_missing_broken_or_other_writable_store_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = static_authenticator(dir.path()).await.unwrap_err();
    assert_eq!(err.code(), "AUTH_TOKEN_STORE_MISSING");
    assert!(
        err.hint().contains("sqlwarden token create"),
        "{}",
        err.hint()
    );

    let path = dir.path().join("tokens.json");
    std::fs::write(&path, "{\"version\": 1, \"tokens\": [], \"extra\": 1}").unwrap();
    let err = static_authenticator(dir.path()).await.unwrap_err();
    assert_eq!(err.code(), "AUTH_TOKEN_STORE");
    std::fs::write(&path, "{\"version\": 2, \"tokens\": []}").unwrap();
    let err = static_authenticator(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::remove_file(&path).unwrap();
        store::create(&path, alice()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = static_authenticator(dir.path()).await.unwrap_err();
        assert_eq!(err.code(), "AUTH_TOKEN_STORE_UNSAFE");
        assert!(err.hint().contains("chmod 600"), "{}", err.hint());
    }
}

#[tokio::test]
async fn a_configured_store_path_is_relative_to_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team/tokens.json");
    let created = store::create(&path, alice()).unwrap();
    let cfg = AuthConfig {
        static_tokens: Some(crate::auth::config::StaticTokensConfig {
            file: Some("team/tokens.json".into()),
        }),
        oauth: None,
    };
    let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
    auth.authenticate(Some(&bearer(&created.token)))
        .await
        .unwrap();
}

#[tokio::test]
async fn both_methods_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let created = store::create(&dir.path().join("tokens.json"), alice()).unwrap();
    std::fs::write(dir.path().join("jwks.json"), jwks(&[rsa_a().jwk])).unwrap();
    let cfg = AuthConfig {
        static_tokens: Some(Default::default()),
        oauth: Some(oauth("jwks.json")),
    };
    let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
    let by_static = auth
        .authenticate(Some(&bearer(&created.token)))
        .await
        .unwrap();
    let by_jwt = auth
        .authenticate(Some(&bearer(&mint(&rsa_a(), &good_claims()))))
        .await
        .unwrap();
    assert_eq!(by_static.identity.user_id, "alice");
    assert_eq!(by_jwt.identity.user_id, "alice");
    assert_ne!(by_static.token_id, by_jwt.token_id);
}
