//! The `auth:` section of `server.yaml`: which bearer tokens team mode
//! accepts, and how a JWT's claims become an identity.
//!
//! The section is a typed struct with `deny_unknown_fields` (a misspelt key
//! is an error); [`AuthConfig::validate`] then checks what serde cannot
//! (URLs, exactly one key source, attribute names), reporting every problem
//! with a hint. Algorithms are an enum that has no `none` and no HMAC
//! variant, so a config cannot even name the algorithms an attacker would
//! pick for a confusion attack.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::AuthError;

/// The token store's file name in the config directory, when
/// `static_tokens.file` does not name one.
pub(crate) const DEFAULT_TOKEN_FILE: &str = "tokens.json";

/// The largest `clock_skew_seconds` allowed: skew is for clocks that drift,
/// not for accepting tokens long after they expired.
pub(crate) const MAX_CLOCK_SKEW_SECONDS: u64 = 300;

/// How team mode authenticates callers. At least one method must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthConfig {
    /// Static bearer tokens made with `sqlwarden token create`, stored as
    /// hashes. `static_tokens: {}` uses `tokens.json` in the config
    /// directory.
    #[serde(default)]
    pub(crate) static_tokens: Option<StaticTokensConfig>,
    /// OAuth 2.1 access tokens (JWTs) from one issuer, per the MCP
    /// authorization spec.
    #[serde(default)]
    pub(crate) oauth: Option<OAuthConfig>,
}

/// Where the static token store lives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaticTokensConfig {
    /// The token store, relative to the config directory (default
    /// `tokens.json`).
    #[serde(default)]
    pub(crate) file: Option<PathBuf>,
}

/// The OAuth resource-server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthConfig {
    /// The authorization server's issuer identifier; a token's `iss` must
    /// equal it exactly.
    pub(crate) issuer: String,
    /// This server's resource URI (what clients send as `resource`); a
    /// token's `aud` (a string or a list) must contain it.
    pub(crate) audience: String,
    /// A JWKS document on disk, relative to the config directory. Exactly
    /// one of `jwks_file` and `jwks_uri`.
    #[serde(default)]
    pub(crate) jwks_file: Option<PathBuf>,
    /// The issuer's `jwks_uri` (https; http only for a loopback host).
    #[serde(default)]
    pub(crate) jwks_uri: Option<String>,
    /// Signature algorithms accepted (default RS256, ES256, EdDSA). HMAC
    /// and `none` cannot be named.
    #[serde(default = "default_algorithms")]
    pub(crate) algorithms: Vec<JwtAlgorithm>,
    /// Seconds of clock difference tolerated on `exp` and `nbf` (default
    /// 60, at most 300).
    #[serde(default = "default_clock_skew")]
    pub(crate) clock_skew_seconds: u64,
    /// Seconds a fetched key set is used before it is fetched again
    /// (default 3600).
    #[serde(default = "default_jwks_cache")]
    pub(crate) jwks_cache_seconds: u64,
    /// Least seconds between two fetches caused by a token whose `kid` is
    /// not in the key set (default 30), so random `kid`s cannot make the
    /// server hammer the issuer.
    #[serde(default = "default_jwks_refetch")]
    pub(crate) jwks_min_refetch_seconds: u64,
    /// Accept only tokens whose header says `typ: at+jwt` (RFC 9068 access
    /// tokens; `application/at+jwt` too). Default false: `typ: JWT` or no
    /// `typ` is accepted as well, as many issuers send. Either way a token
    /// whose `typ` names another kind of token (an ID token's `id+jwt`,
    /// say) is refused.
    #[serde(default)]
    pub(crate) require_access_token_typ: bool,
    /// Authorization servers listed in the protected resource metadata
    /// (default: the issuer).
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    /// Scopes listed in the protected resource metadata (with
    /// `required_scopes` added).
    #[serde(default)]
    pub(crate) scopes_supported: Vec<String>,
    /// Scopes every token must grant, in its `scope` claim (a
    /// space-separated string) or `scp` (a list, or a space-separated
    /// string, as some issuers write it). A token lacking one is refused
    /// with 403 `insufficient_scope`. Default: none required. Static
    /// tokens have no scopes and are not affected.
    #[serde(default)]
    pub(crate) required_scopes: Vec<String>,
    /// A human-readable name for the protected resource metadata.
    #[serde(default)]
    pub(crate) resource_name: Option<String>,
    /// Which claims become the identity policy uses.
    #[serde(default)]
    pub(crate) claims: ClaimMapping,
}

/// Where the identity's parts are found in a token's claims.
///
/// A claim is named as it appears at the top level (`sub`, `roles`,
/// `https://example.com/roles`), or as a JSON pointer into nested claims
/// when it starts with `/` (`/realm_access/roles`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimMapping {
    /// The claim holding the user id (default `sub`); a token without it
    /// is refused.
    #[serde(default = "default_user_claim")]
    pub(crate) user_id: String,
    /// The claim holding the roles: a list of strings, or one string of
    /// space- or comma-separated roles. None: no roles.
    #[serde(default)]
    pub(crate) roles: Option<String>,
    /// Claim → identity attribute name (what row policies use as
    /// `${user.<name>}`).
    #[serde(default)]
    pub(crate) attributes: BTreeMap<String, String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            user_id: default_user_claim(),
            roles: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// A JWS algorithm a token may be signed with: asymmetric only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    /// The `alg` header value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The algorithm a token header names, if it is one of these.
    pub(crate) fn from_header(alg: &str) -> Option<Self> {
        [
            Self::RS256,
            Self::RS384,
            Self::RS512,
            Self::PS256,
            Self::PS384,
            Self::PS512,
            Self::ES256,
            Self::ES384,
            Self::EdDSA,
        ]
        .into_iter()
        .find(|a| a.as_str() == alg)
    }

    /// The same algorithm in `jsonwebtoken`'s terms.
    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as A;
        match self {
            Self::RS256 => A::RS256,
            Self::RS384 => A::RS384,
            Self::RS512 => A::RS512,
            Self::PS256 => A::PS256,
            Self::PS384 => A::PS384,
            Self::PS512 => A::PS512,
            Self::ES256 => A::ES256,
            Self::ES384 => A::ES384,
            Self::EdDSA => A::EdDSA,
        }
    }
}

fn default_algorithms() -> Vec<JwtAlgorithm> {
    vec![
        JwtAlgorithm::RS256,
        JwtAlgorithm::ES256,
        JwtAlgorithm::EdDSA,
    ]
}

fn default_clock_skew() -> u64 {
    60
}

fn default_jwks_cache() -> u64 {
    3600
}

fn default_jwks_refetch() -> u64 {
    30
}

fn default_user_claim() -> String {
    "sub".into()
}

impl AuthConfig {
    /// Every problem serde could not see, each with a hint; empty when the
    /// section is sound. Reads no file and sends nothing.
    pub(crate) fn validate(&self) -> Vec<AuthError> {
        let mut problems = Vec::new();
        if self.static_tokens.is_none() && self.oauth.is_none() {
            problems.push(AuthError::NoMethod);
        }
        if let Some(oauth) = &self.oauth {
            oauth.validate(&mut problems);
        }
        problems
    }

    /// The token store's path: `static_tokens.file` (relative to
    /// `config_dir`), else [`DEFAULT_TOKEN_FILE`] there.
    pub(crate) fn token_file(&self, config_dir: &std::path::Path) -> Option<PathBuf> {
        self.static_tokens.as_ref().map(|s| {
            config_dir.join(
                s.file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE)),
            )
        })
    }
}

impl OAuthConfig {
    fn validate(&self, problems: &mut Vec<AuthError>) {
        let mut invalid = |setting: &str, problem: String, hint: &str| {
            problems.push(AuthError::Invalid {
                setting: format!("auth.oauth.{setting}"),
                problem,
                hint: hint.into(),
            });
        };
        if let Err(problem) = check_url(&self.issuer) {
            invalid(
                "issuer",
                problem,
                "Use the issuer identifier exactly as the authorization server's metadata states it, e.g. `https://login.example.com/`",
            );
        }
        match check_url(&self.audience) {
            Err(problem) => invalid(
                "audience",
                problem,
                "Use this server's public URL as clients reach it, e.g. `https://sqlwarden.example.com/mcp`",
            ),
            Ok(url) if url.query().is_some() || url.fragment().is_some() => invalid(
                "audience",
                "the resource URI has a query or a fragment".into(),
                "Drop the `?...` and `#...` parts: a resource URI is scheme, host and path",
            ),
            Ok(_) => {}
        }
        match (&self.jwks_file, &self.jwks_uri) {
            (None, None) => invalid(
                "jwks_uri",
                "no key source: neither `jwks_uri` nor `jwks_file` is set".into(),
                "Set `jwks_uri` to the issuer's JWKS URL (its metadata lists it), or `jwks_file` to a JWKS document in the config directory",
            ),
            (Some(_), Some(_)) => invalid(
                "jwks_uri",
                "both `jwks_uri` and `jwks_file` are set".into(),
                "Keep one: `jwks_uri` to fetch keys from the issuer, or `jwks_file` for a fixed key set",
            ),
            (None, Some(uri)) => {
                if let Err(problem) = check_url(uri) {
                    invalid(
                        "jwks_uri",
                        problem,
                        "Use the `jwks_uri` from the issuer's metadata (`<issuer>/.well-known/openid-configuration` or `oauth-authorization-server`)",
                    );
                }
            }
            (Some(_), None) => {}
        }
        if self.algorithms.is_empty() {
            invalid(
                "algorithms",
                "the list is empty, so no token could be accepted".into(),
                "List the issuer's signing algorithms, e.g. `[RS256]`, or remove the key for the default `[RS256, ES256, EdDSA]`",
            );
        }
        if self.clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            invalid(
                "clock_skew_seconds",
                format!(
                    "{} seconds is more than the {MAX_CLOCK_SKEW_SECONDS} allowed",
                    self.clock_skew_seconds
                ),
                "Keep clocks in sync (NTP) and use a small skew such as 60",
            );
        }
        if self.jwks_min_refetch_seconds == 0 {
            invalid(
                "jwks_min_refetch_seconds",
                "0 would let every unknown `kid` trigger a fetch".into(),
                "Use at least 1 second (default 30)",
            );
        }
        if self.jwks_cache_seconds < self.jwks_min_refetch_seconds {
            invalid(
                "jwks_cache_seconds",
                "the key set would expire before it may be fetched again".into(),
                "Make `jwks_cache_seconds` at least `jwks_min_refetch_seconds`",
            );
        }
        for server in &self.authorization_servers {
            if let Err(problem) = check_url(server) {
                invalid(
                    "authorization_servers",
                    format!("`{server}`: {problem}"),
                    "List issuer identifiers (https URLs), or remove the key to list the issuer",
                );
            }
        }
        for scope in &self.required_scopes {
            if !is_scope_token(scope) {
                invalid(
                    "required_scopes",
                    format!("{scope:?} is not a scope name"),
                    "Write each scope as its own list item, as the issuer names it: printable ASCII without spaces, `\"` or `\\` (RFC 6749 §3.3), e.g. `[sqlwarden.query]`",
                );
            }
        }
        if self.claims.user_id.is_empty() || self.claims.user_id == "/" {
            invalid(
                "claims.user_id",
                "no claim named".into(),
                "Name the claim holding the user id, e.g. `sub` (the default) or `email`",
            );
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (claim, attribute) in &self.claims.attributes {
            if !is_attribute_name(attribute) {
                invalid(
                    "claims.attributes",
                    format!("`{attribute}` (from claim `{claim}`) is not an attribute name"),
                    "Use letters, digits and `_`, starting with a letter or `_`, as row policies write `${user.<name>}`",
                );
            }
            if let Some(other) = seen.insert(attribute, claim) {
                invalid(
                    "claims.attributes",
                    format!("claims `{other}` and `{claim}` both fill attribute `{attribute}`"),
                    "Map each attribute from one claim",
                );
            }
        }
    }

    /// The scopes the metadata document lists: `scopes_supported`, then
    /// each required scope not already among them.
    pub(crate) fn listed_scopes(&self) -> Vec<String> {
        let mut scopes = self.scopes_supported.clone();
        for scope in &self.required_scopes {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        scopes
    }

    /// The authorization servers the metadata document lists.
    pub(crate) fn listed_authorization_servers(&self) -> Vec<String> {
        if self.authorization_servers.is_empty() {
            vec![self.issuer.clone()]
        } else {
            self.authorization_servers.clone()
        }
    }
}

/// A URL that may carry tokens or keys: https, or http to a loopback host
/// (a local test issuer; nothing leaves the machine).
pub(crate) fn check_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{text}` uses http to a non-loopback host; tokens and keys need https"
        )),
        other => Err(format!("`{text}` uses `{other}`; only https is accepted")),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An RFC 6749 §3.3 scope-token: one or more of `%x21 / %x23-5B /
/// %x5D-7E` (printable ASCII but space, `"` and `\`), so it can be
/// listed in a `scope` claim and quoted in a challenge as is.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// What row-policy templates accept after `${user.`.
pub(crate) fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
