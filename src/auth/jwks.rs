//! The issuer's public keys: a JWKS document read from a file or fetched
//! from `jwks_uri`, kept in memory, and read again when it is older than
//! `jwks_cache_seconds` or when a token names a `kid` the set does not
//! have (key rotation), at most once per `jwks_min_refetch_seconds`.
//!
//! Only verification keys the configured algorithms can use are kept:
//! RSA (2048 bits or more), EC P-256 and P-384, Ed25519. A symmetric
//! (`oct`) key in the set is dropped, never turned into an HMAC secret,
//! and so is a key marked for encryption. A failed refresh keeps the keys
//! already held, so an issuer outage does not log everyone out.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};

use super::config::JwtAlgorithm;
use super::error::AuthError;

/// Largest JWKS document accepted (real ones are a few KiB).
const MAX_JWKS_BYTES: usize = 1 << 20;
/// How long one fetch of `jwks_uri` may take in all.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to the issuer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// What kind of public key a JWK holds, which decides the algorithms it
/// can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA: RS* and PS*.
    Rsa,
    /// EC on P-256: ES256.
    P256,
    /// EC on P-384: ES384.
    P384,
    /// OKP Ed25519: EdDSA.
    Ed25519,
}

impl KeyKind {
    /// Whether a key of this kind may verify `alg`.
    pub(crate) fn fits(self, alg: JwtAlgorithm) -> bool {
        use JwtAlgorithm as A;
        match self {
            Self::Rsa => matches!(
                alg,
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
            ),
            Self::P256 => alg == A::ES256,
            Self::P384 => alg == A::ES384,
            Self::Ed25519 => alg == A::EdDSA,
        }
    }
}

/// One usable verification key.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    /// The JWK's `kid`.
    pub(crate) kid: Option<String>,
    /// The JWK's `alg`, when it names one: the only algorithm it verifies.
    pub(crate) alg: Option<JwtAlgorithm>,
    /// What kind of key it is.
    pub(crate) kind: KeyKind,
    /// The key in `jsonwebtoken`'s terms.
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// A JWKS file.
    File(PathBuf),
    /// The issuer's `jwks_uri`.
    Uri(reqwest::Url),
}

impl KeySource {
    fn name(&self) -> String {
        match self {
            Self::File(path) => format!("`{}`", path.display()),
            Self::Uri(url) => format!("`{url}`"),
        }
    }
}

/// The keys in a JWKS document that can verify one of `algorithms`, and
/// a note for each key left out.
pub(crate) fn parse_jwks(
    bytes: &[u8],
    algorithms: &[JwtAlgorithm],
) -> Result<(Vec<VerifyKey>, Vec<String>), String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Some(list) = doc.get("keys").and_then(|k| k.as_array()) else {
        return Err("not a JWKS document: no `keys` list".into());
    };
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (index, raw) in list.iter().enumerate() {
        // One key this build cannot read (a new key type, an encryption
        // key) must not make the whole set unusable.
        let jwk: Jwk = match serde_json::from_value(raw.clone()) {
            Ok(jwk) => jwk,
            Err(e) => {
                skipped.push(format!("key {index}: unreadable ({e})"));
                continue;
            }
        };
        match usable_key(&jwk, algorithms) {
            Ok(key) => keys.push(key),
            Err(why) => skipped.push(format!(
                "key {index} (kid {}): {why}",
                jwk.common.key_id.as_deref().unwrap_or("none")
            )),
        }
    }
    Ok((keys, skipped))
}

fn usable_key(jwk: &Jwk, algorithms: &[JwtAlgorithm]) -> Result<VerifyKey, String> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Err("not a signature key (`use`)".into());
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.contains(&jsonwebtoken::jwk::KeyOperations::Verify) {
            return Err("`key_ops` does not allow `verify`".into());
        }
    }
    let alg =
        match jwk.common.key_algorithm {
            None => None,
            Some(declared) => Some(key_algorithm(declared).ok_or_else(|| {
                format!("`alg` {declared:?} is not an allowed signature algorithm")
            })?),
        };
    let (kind, key) = match &jwk.algorithm {
        AlgorithmParameters::RSA(params) => {
            let key = DecodingKey::from_rsa_components(&params.n, &params.e)
                .map_err(|e| format!("bad RSA parameters ({e})"))?;
            let modulus = match key.kind() {
                jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, .. } => {
                    n.iter().skip_while(|b| **b == 0).count()
                }
                jsonwebtoken::DecodingKeyKind::SecretOrDer(_) => 0,
            };
            if modulus < MIN_RSA_MODULUS_BYTES {
                return Err(format!("RSA key of {} bits, fewer than 2048", modulus * 8));
            }
            (KeyKind::Rsa, key)
        }
        AlgorithmParameters::EllipticCurve(params) => {
            let kind = match &params.curve {
                EllipticCurve::P256 => KeyKind::P256,
                EllipticCurve::P384 => KeyKind::P384,
                other => return Err(format!("EC curve {other:?} is not supported")),
            };
            let key = DecodingKey::from_ec_components(&params.x, &params.y)
                .map_err(|e| format!("bad EC parameters ({e})"))?;
            (kind, key)
        }
        AlgorithmParameters::OctetKeyPair(params) => {
            if params.curve != EllipticCurve::Ed25519 {
                return Err(format!("OKP curve {:?} is not supported", params.curve));
            }
            let key = DecodingKey::from_ed_components(&params.x)
                .map_err(|e| format!("bad Ed25519 parameters ({e})"))?;
            (KeyKind::Ed25519, key)
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric (`oct`) key; HMAC tokens are never accepted".into())
        }
        _ => return Err("unsupported key type".into()),
    };
    if let Some(alg) = alg {
        if !kind.fits(alg) {
            return Err(format!(
                "`alg` {} does not fit a {kind:?} key",
                alg.as_str()
            ));
        }
    }
    if !algorithms
        .iter()
        .any(|a| kind.fits(*a) && alg.is_none_or(|own| own == *a))
    {
        return Err("verifies none of the configured `algorithms`".into());
    }
    Ok(VerifyKey {
        kid: jwk.common.key_id.clone(),
        alg,
        kind,
        key,
    })
}

fn key_algorithm(declared: KeyAlgorithm) -> Option<JwtAlgorithm> {
    use KeyAlgorithm as K;
    Some(match declared {
        K::RS256 => JwtAlgorithm::RS256,
        K::RS384 => JwtAlgorithm::RS384,
        K::RS512 => JwtAlgorithm::RS512,
        K::PS256 => JwtAlgorithm::PS256,
        K::PS384 => JwtAlgorithm::PS384,
        K::PS512 => JwtAlgorithm::PS512,
        K::ES256 => JwtAlgorithm::ES256,
        K::ES384 => JwtAlgorithm::ES384,
        K::EdDSA => JwtAlgorithm::EdDSA,
        _ => return None,
    })
}

/// The key set as held now.
struct Held {
    keys: Arc<Vec<VerifyKey>>,
    fetched: Instant,
}

/// The cached key set of one issuer.
pub(crate) struct KeyCache {
    source: KeySource,
    algorithms: Vec<JwtAlgorithm>,
    http: Option<reqwest::Client>,
    max_age: Duration,
    min_refetch: Duration,
    held: RwLock<Held>,
    /// Bumped by every successful refresh, so what was verified with an
    /// older set can be told apart.
    generation: AtomicU64,
    /// When the last refresh was tried; held while one runs, so
    /// concurrent requests wait for it rather than fetch again.
    last_refresh: Mutex<Option<Instant>>,
}

impl KeyCache {
    /// Read or fetch the key set once; fails when that does not work or
    /// yields no usable key, so a broken setup is seen at start.
    pub(crate) async fn load(
        source: KeySource,
        algorithms: Vec<JwtAlgorithm>,
        max_age: Duration,
        min_refetch: Duration,
    ) -> Result<Self, AuthError> {
        let http = match &source {
            KeySource::Uri(_) => Some(http_client().map_err(|reason| AuthError::Keys {
                source_name: source.name(),
                reason,
            })?),
            KeySource::File(_) => None,
        };
        let mut cache = Self {
            source,
            algorithms,
            http,
            max_age,
            min_refetch,
            held: RwLock::new(Held {
                keys: Arc::new(Vec::new()),
                fetched: Instant::now(),
            }),
            last_refresh: Mutex::new(None),
            generation: AtomicU64::new(0),
        };
        let keys = cache.fetch().await.map_err(|reason| AuthError::Keys {
            source_name: cache.source.name(),
            reason,
        })?;
        cache.held = RwLock::new(Held {
            keys: Arc::new(keys),
            fetched: Instant::now(),
        });
        Ok(cache)
    }

    /// Which key set is held: changes whenever a refresh replaced it.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The keys to use now: refreshed first when older than the cache
    /// time (at most once per `min_refetch`).
    pub(crate) async fn keys(&self) -> Arc<Vec<VerifyKey>> {
        let (keys, fetched) = {
            let held = self.held.read().await;
            (Arc::clone(&held.keys), held.fetched)
        };
        if fetched.elapsed() < self.max_age {
            return keys;
        }
        self.refresh().await
    }

    /// A token named a `kid` the set lacks: fetch again (the issuer may
    /// have rotated its keys), unless a fetch was tried less than
    /// `min_refetch` ago.
    pub(crate) async fn refresh(&self) -> Arc<Vec<VerifyKey>> {
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return Arc::clone(&self.held.read().await.keys);
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.held.write().await = Held {
                    keys: Arc::clone(&keys),
                    fetched: Instant::now(),
                };
                self.generation.fetch_add(1, Ordering::AcqRel);
                keys
            }
            Err(reason) => {
                tracing::warn!(source = %self.source.name(), %reason, "refreshing the JWKS failed; keeping the keys held");
                Arc::clone(&self.held.read().await.keys)
            }
        }
    }

    /// Read the document and keep its usable keys; an empty result is an
    /// error (a set with no usable key would refuse every token).
    async fn fetch(&self) -> Result<Vec<VerifyKey>, String> {
        let bytes = match (&self.source, &self.http) {
            (KeySource::File(path), _) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("cannot read it: {e}"))?;
                if bytes.len() > MAX_JWKS_BYTES {
                    return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
                }
                bytes
            }
            (KeySource::Uri(url), Some(http)) => download(http, url).await?,
            (KeySource::Uri(_), None) => return Err("no HTTP client".into()),
        };
        let (keys, skipped) = parse_jwks(&bytes, &self.algorithms)?;
        for note in &skipped {
            tracing::debug!(source = %self.source.name(), %note, "JWKS key left out");
        }
        if keys.is_empty() {
            return Err(format!(
                "no key can verify the configured algorithms ({}){}",
                self.algorithms
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", skipped.join("; "))
                }
            ));
        }
        Ok(keys)
    }
}

/// GET the document, refusing redirects, a non-200 answer and a body over
/// [`MAX_JWKS_BYTES`].
async fn download(http: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("fetch failed: {}", error_chain(&e)))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("the server answered {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed: {}", error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An HTTPS client on rustls with the ring provider and both the bundled
/// Mozilla roots and the OS store (an in-house issuer often has a
/// company CA); it follows no redirect, so the configured URL is the
/// only place keys come from.
fn http_client() -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        // One malformed OS certificate must not break every fetch.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(format!("sqlwarden/{}", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client setup failed: {}", error_chain(&e)))
}
