//! What a 401 tells an MCP client: the OAuth 2.0 Protected Resource
//! Metadata document (RFC 9728) and the `WWW-Authenticate` challenge
//! (RFC 6750 §3, with RFC 9728 §5.1's `resource_metadata`) that points to
//! it, so the client can find the authorization server and get a token.
//! When scopes are required, the challenge names them in `scope` (as the
//! MCP authorization spec asks), and a valid token lacking one gets a 403
//! with `error="insufficient_scope"` and the same parameters, from which
//! the client can ask for a token with them.

use serde_json::{json, Value};

use super::config::OAuthConfig;
use super::error::AuthFailure;

/// The well-known path segment of RFC 9728 §3.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The realm named in the challenge when no OAuth is configured.
const REALM: &str = "sqlwarden";

/// What the resource server publishes about itself.
#[derive(Debug, Clone)]
pub(crate) struct ResourceMetadata {
    document: Value,
    url: String,
    path: String,
    /// `required_scopes`, space-separated; empty when none.
    required_scopes: String,
}

impl ResourceMetadata {
    /// The metadata for `oauth` (whose audience was checked to be an
    /// absolute http(s) URL without query or fragment).
    pub(crate) fn new(oauth: &OAuthConfig) -> Self {
        let mut document = json!({
            "resource": oauth.audience,
            "authorization_servers": oauth.listed_authorization_servers(),
            "bearer_methods_supported": ["header"],
        });
        let scopes = oauth.listed_scopes();
        if !scopes.is_empty() {
            document["scopes_supported"] = json!(scopes);
        }
        if let Some(name) = &oauth.resource_name {
            document["resource_name"] = json!(name);
        }
        let (url, path) = metadata_location(&oauth.audience);
        Self {
            document,
            url,
            path,
            required_scopes: oauth.required_scopes.join(" "),
        }
    }

    /// The document's JSON.
    pub(crate) fn document(&self) -> &Value {
        &self.document
    }

    /// Where the document is served, as an absolute URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The path part of [`url`](Self::url), for the HTTP router.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }
}

/// RFC 9728 §3.1: the well-known segment goes between the host and the
/// resource's path (a terminating `/` dropped), so `https://h/mcp` is
/// described at `https://h/.well-known/oauth-protected-resource/mcp`.
fn metadata_location(resource: &str) -> (String, String) {
    match reqwest::Url::parse(resource) {
        Ok(url) => {
            let resource_path = url.path().trim_end_matches('/');
            let path = format!("{WELL_KNOWN}{resource_path}");
            let mut origin = url.origin().ascii_serialization();
            origin.push_str(&path);
            (origin, path)
        }
        // Not reached: the audience was validated as a URL.
        Err(_) => (WELL_KNOWN.to_owned(), WELL_KNOWN.to_owned()),
    }
}

/// The `WWW-Authenticate` value for a refusal: `Bearer`, then where the
/// metadata is (or a realm without OAuth) and the required scopes if any,
/// then, unless no token was sent at all (RFC 6750 §3.1), the error code
/// (`insufficient_scope` for a token lacking a required scope, else
/// `invalid_token`) and a fixed description of the reason.
pub(crate) fn challenge(metadata: Option<&ResourceMetadata>, failure: &AuthFailure) -> String {
    let mut params = Vec::new();
    match metadata {
        Some(metadata) => {
            params.push(format!("resource_metadata={}", quoted(metadata.url())));
            if !metadata.required_scopes.is_empty() {
                // Scope names were checked to be RFC 6749 scope-tokens,
                // which need no escaping inside the quotes.
                params.push(format!("scope={}", quoted(&metadata.required_scopes)));
            }
        }
        None => params.push(format!("realm={}", quoted(REALM))),
    }
    let error = if failure.is_insufficient_scope() {
        Some("insufficient_scope")
    } else if failure.is_missing() {
        None
    } else {
        Some("invalid_token")
    };
    if let Some(error) = error {
        params.push(format!("error={}", quoted(error)));
        params.push(format!(
            "error_description={}",
            quoted(failure.reason().description())
        ));
    }
    format!("Bearer {}", params.join(", "))
}

/// An RFC 9110 quoted-string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
