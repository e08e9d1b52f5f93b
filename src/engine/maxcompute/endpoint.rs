//! Endpoints and resource addresses: where a request goes, and the decoded
//! resource path and parameters its signature covers.
//!
//! A MaxCompute endpoint may carry a path prefix (`…/api` for the service
//! plane, none for the tunnel plane); signatures cover the path *after* that
//! prefix, percent-decoded (docs/maxcompute-rest.md §1.1, §2.2). This module
//! keeps both forms side by side so that the URL sent and the string signed
//! can never disagree. It does no I/O and knows nothing of signing.

use reqwest::Url;

/// A base URL plus the path prefix that signing strips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    /// Path prefix such as `/api`, or empty.
    prefix: String,
}

/// Why an endpoint string is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EndpointError {
    /// Not an absolute http(s) URL.
    #[error("`{0}` is not an http:// or https:// URL")]
    NotHttp(String),
    /// The URL carries a query or fragment, which no endpoint has.
    #[error("`{0}` must not have a query string or fragment")]
    HasQuery(String),
}

impl Endpoint {
    /// Parse a configured endpoint such as
    /// `https://service.cn-hangzhou.maxcompute.aliyun.com/api`.
    pub(crate) fn parse(text: &str) -> Result<Self, EndpointError> {
        let url = Url::parse(text.trim()).map_err(|_| EndpointError::NotHttp(text.into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(EndpointError::NotHttp(text.into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(EndpointError::HasQuery(text.into()));
        }
        let origin = url.origin().ascii_serialization();
        let prefix = url.path().trim_end_matches('/').to_owned();
        Ok(Self { origin, prefix })
    }

    /// The tunnel endpoint named by the service's `?tunnel&service` answer
    /// (`host[:port]`, no scheme): same scheme as `self`, no prefix.
    pub(crate) fn tunnel_from_host(&self, host_port: &str) -> Result<Self, EndpointError> {
        let scheme = self.origin.split("://").next().unwrap_or("https");
        Self::parse(&format!("{scheme}://{}", host_port.trim()))
    }

    /// The host part, for error messages.
    pub(crate) fn host(&self) -> &str {
        self.origin.split("://").nth(1).unwrap_or(&self.origin)
    }

    /// The region id in a standard service host name, as pyodps infers it;
    /// `None` for IP literals, `localhost` and other hosts.
    pub(crate) fn region_from_host(&self) -> Option<String> {
        // `service.<region>[-vpc|-internal].maxcompute.aliyun[-inc].com`
        let host = self.host().split(':').next()?;
        let mut labels = host.split('.');
        if labels.next()? != "service" {
            return None;
        }
        let region = labels.next()?;
        let region = region
            .strip_suffix("-vpc")
            .or_else(|| region.strip_suffix("-internal"))
            .unwrap_or(region);
        (labels.count() >= 2 && region.contains('-')).then(|| region.to_owned())
    }

    /// The full URL for a resource: encoded segments after the prefix, then
    /// the encoded parameters (bare flags stay bare).
    pub(crate) fn url(&self, resource: &Resource) -> String {
        let mut out = format!("{}{}", self.origin, self.prefix);
        for segment in &resource.segments {
            out.push('/');
            out.push_str(&encode(segment));
        }
        for (index, (name, value)) in resource.params.iter().enumerate() {
            out.push(if index == 0 { '?' } else { '&' });
            out.push_str(&encode(name));
            if !value.is_empty() {
                out.push('=');
                out.push_str(&encode(value));
            }
        }
        out
    }
}

/// A resource: decoded path segments and parameters, in sending order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resource {
    segments: Vec<String>,
    params: Vec<(String, String)>,
}

impl Resource {
    /// A resource from decoded path segments, e.g. `["projects", "p"]`.
    pub(crate) fn new<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            segments: segments.into_iter().map(Into::into).collect(),
            params: Vec::new(),
        }
    }

    /// Add a parameter; an empty value is sent as a bare flag. A later
    /// parameter of the same name replaces the earlier one, because the
    /// SDKs disagree on which duplicate wins (§2.2).
    pub(crate) fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
        self
    }

    /// Add a bare flag such as `partitions`.
    pub(crate) fn flag(self, name: &str) -> Self {
        self.param(name, "")
    }

    /// Add a parameter only when it is not already present.
    pub(crate) fn param_default(self, name: &str, value: &str) -> Self {
        if self.params.iter().any(|(n, _)| n == name) {
            self
        } else {
            self.param(name, value)
        }
    }

    /// The decoded path as signed: `/seg/seg`.
    pub(crate) fn signed_path(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            out.push_str(segment);
        }
        out
    }

    /// The decoded parameters as signed.
    pub(crate) fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// Percent-encode everything outside RFC 3986's unreserved set, so the
/// server decodes back exactly the value that was signed.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
