//! Keys fetched from a `jwks_uri` served by a local HTTP server: fetched
//! once at start, fetched again for a new `kid` (key rotation), not more
//! than once per `jwks_min_refetch_seconds`, and kept when the issuer
//! fails.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use super::*;

/// The issuer's key endpoint: what it serves, and how often it was asked.
#[derive(Clone)]
struct Issuer {
    body: Arc<Mutex<(StatusCode, String)>>,
    hits: Arc<AtomicUsize>,
}

impl Issuer {
    fn serve(&self, status: StatusCode, body: String) {
        *self.body.lock().unwrap() = (status, body);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn jwks_endpoint(State(issuer): State<Issuer>) -> (StatusCode, String) {
    issuer.hits.fetch_add(1, Ordering::SeqCst);
    issuer.body.lock().unwrap().clone()
}

/// A local issuer serving `keys` at `/jwks`; returns it and the URL.
async fn start_issuer(keys: &[Value]) -> (Issuer, String) {
    let issuer = Issuer {
        body: Arc::new(Mutex::new((StatusCode::OK, jwks(keys)))),
        hits: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/jwks", get(jwks_endpoint))
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [("location", "/jwks")]) }),
        )
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (issuer, format!("http://{addr}"))
}

async fn uri_authenticator(
    uri: String,
    adjust: impl FnOnce(&mut OAuthConfig),
) -> Result<Authenticator, crate::auth::AuthError> {
    let dir = tempfile::tempdir().unwrap();
    let mut o = oauth("unused.json");
    o.jwks_file = None;
    o.jwks_uri = Some(uri);
    adjust(&mut o);
    let cfg = AuthConfig {
        static_tokens: None,
        oauth: Some(o),
    };
    Authenticator::from_config(&cfg, dir.path()).await
}

#[tokio::test]
async fn rotation_fetches_the_new_key_at_most_once_per_interval() {
    let (issuer, base) = start_issuer(&[rsa_a().jwk]).await;
    let auth = uri_authenticator(format!("{base}/jwks"), |o| o.jwks_min_refetch_seconds = 1)
        .await
        .unwrap();
    assert_eq!(issuer.hits(), 1, "fetched once at start");
    let old_token = mint(&rsa_a(), &good_claims());
    for _ in 0..3 {
        auth.authenticate(Some(&bearer(&old_token))).await.unwrap();
    }
    assert_eq!(issuer.hits(), 1, "served from the cache");

    // Tokens naming kids nobody has, minted now: signing is slow in a
    // debug build and must not eat into the refetch interval below.
    let random_kids: Vec<String> = (0..20)
        .map(|n| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(format!("random-{n}"));
            jsonwebtoken::encode(&header, &good_claims(), &rsa_b().key).unwrap()
        })
        .collect();
    let new_token = mint(&rsa_b(), &good_claims());

    // The issuer rotates: key b replaces key a.
    issuer.serve(StatusCode::OK, jwks(&[rsa_b().jwk]));
    auth.authenticate(Some(&bearer(&new_token))).await.unwrap();
    assert_eq!(issuer.hits(), 2, "the unknown kid fetched the set again");

    // Key a is gone from the set (the token verified with it before is
    // not remembered past the refresh); a flood of unknown kids right
    // after a fetch sends nothing more to the issuer.
    assert_eq!(
        reason(&refusal(&auth, &old_token).await),
        FailureReason::UnknownKey
    );
    for token in &random_kids {
        assert_eq!(
            reason(&refusal(&auth, token).await),
            FailureReason::UnknownKey
        );
    }
    assert_eq!(issuer.hits(), 2, "rate limited");
    auth.authenticate(Some(&bearer(&new_token))).await.unwrap();

    // After the interval, an unknown kid may fetch again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    issuer.serve(StatusCode::OK, jwks(&[rsa_a().jwk, rsa_b().jwk]));
    auth.authenticate(Some(&bearer(&old_token))).await.unwrap();
    assert_eq!(issuer.hits(), 3);
}

#[tokio::test]
async fn a_failing_issuer_keeps_the_keys_already_held() {
    let (issuer, base) = start_issuer(&[rsa_a().jwk]).await;
    let auth = uri_authenticator(format!("{base}/jwks"), |o| {
        o.jwks_min_refetch_seconds = 1;
        o.jwks_cache_seconds = 1;
    })
    .await
    .unwrap();
    issuer.serve(StatusCode::INTERNAL_SERVER_ERROR, "down".into());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The set is stale, the refresh fails, the held key still verifies.
    auth.authenticate(Some(&bearer(&mint(&rsa_a(), &good_claims()))))
        .await
        .unwrap();
    assert_eq!(issuer.hits(), 2);
    // A garbage answer is no better, and changes nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    issuer.serve(StatusCode::OK, "{\"keys\": \"nope\"}".into());
    auth.authenticate(Some(&bearer(&mint(&rsa_a(), &good_claims()))))
        .await
        .unwrap();
    assert_eq!(issuer.hits(), 3);
    // A stale set refreshed with the issuer back up picks up its change.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    issuer.serve(StatusCode::OK, jwks(&[rsa_b().jwk]));
    let failure = refusal(&auth, &mint(&rsa_a(), &good_claims())).await;
    assert_eq!(reason(&failure), FailureReason::UnknownKey);
    assert_eq!(issuer.hits(), 4);
}

#[tokio::test]
async fn a_start_without_keys_fails_with_the_reason() {
    let (issuer, base) = start_issuer(&[rsa_a().jwk]).await;
    issuer.serve(StatusCode::NOT_FOUND, "no".into());
    let err = uri_authenticator(format!("{base}/jwks"), |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AUTH_KEYS");
    assert!(err.to_string().contains("404"), "{err}");

    // Redirects are not followed: keys come from the configured URL only.
    let err = uri_authenticator(format!("{base}/moved"), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("302"), "{err}");

    // Too large a document.
    issuer.serve(
        StatusCode::OK,
        format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20)),
    );
    let err = uri_authenticator(format!("{base}/jwks"), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");

    // Nobody listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let err = uri_authenticator(format!("http://{closed}/jwks"), |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AUTH_KEYS");

    // Plain http to a host that is not loopback is refused before any
    // connection.
    let err = uri_authenticator("http://keys.example.test/jwks".into(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AUTH_CONFIG_INVALID");
    assert!(err.to_string().contains("https"), "{err}");
}
