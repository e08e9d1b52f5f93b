//! What a 401 tells an MCP client: the OAuth 2.0 Protected Resource
//! Metadata document (RFC 9728) and the `WWW-Authenticate` challenge
//! (RFC 6750 §3, with RFC 9728 §5.1's `resource_metadata`) that points to
//! it, so the client can find the authorization server and get a token.

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
        if !oauth.scopes_supported.is_empty() {
            document["scopes_supported"] = json!(oauth.scopes_supported);
        }
        if let Some(name) = &oauth.resource_name {
            document["resource_name"] = json!(name);
        }
        let (url, path) = metadata_location(&oauth.audience);
        Self {
            document,
            url,
            path,
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
/// metadata is (or a realm without OAuth), then, unless no token was sent
/// at all (RFC 6750 §3.1), `error="invalid_token"` and a fixed
/// description of the reason.
pub(crate) fn challenge(metadata: Option<&ResourceMetadata>, failure: &AuthFailure) -> String {
    let mut params = Vec::new();
    match metadata {
        Some(metadata) => params.push(format!("resource_metadata={}", quoted(metadata.url()))),
        None => params.push(format!("realm={}", quoted(REALM))),
    }
    if !failure.is_missing() {
        params.push("error=\"invalid_token\"".to_owned());
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
