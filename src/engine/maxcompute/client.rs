//! The one HTTP client of a MaxCompute engine: builds, signs and sends
//! requests, retries what [`retry`](super::retry) says to, and turns error
//! answers into [`McError`].
//!
//! It knows the wire conventions every request shares (the `Date` header,
//! `x-odps-user-agent`, `curr_project` / `curr_schema`, the STS header) and
//! nothing about what a request means; the phase modules (metadata,
//! instance, tunnel) build the resources.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, Response};
use serde::Deserialize;

use crate::secrets::MaxComputeKeys;

use super::endpoint::{Endpoint, Resource};
use super::error::McError;
use super::retry::{self, Outcome, Verdict};
use super::sign::{self, SignatureVersion, SignedParts};

/// TCP + TLS handshake budget: a regional endpoint answers well under a
/// second; 10 s leaves room for slow VPN links without hanging a tool call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence while reading a response: tunnel streams can pause while
/// the server reads storage, but a minute of nothing means a dead peer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Whole-request budget for metadata calls, which return small documents.
pub(crate) const METADATA_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle pooled connections are dropped before typical 60 s load-balancer
/// idle cut-offs, so a reused connection is not already dead.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);
/// Error bodies are small XML documents; never buffer more than this.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The protocol version the instance tunnel speaks (pyodps, Java: 6).
const TUNNEL_VERSION: &str = "6";

/// Which plane a request goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Plane<'a> {
    /// The service endpoint (`…/api`), signed with the connection's version.
    Service,
    /// A tunnel endpoint. Signed V2, as pyodps does: tunnel servers accept
    /// V2 even where the service plane is V4 (docs/maxcompute-rest.md §8.1).
    Tunnel(&'a Endpoint),
}

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    resource: Resource,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    headers: Vec<(String, String)>,
}

impl Call {
    /// A GET of `resource` with the metadata timeout.
    pub(crate) fn get(resource: Resource) -> Self {
        Self {
            method: Method::GET,
            resource,
            body: None,
            timeout: Some(METADATA_TIMEOUT),
            headers: Vec::new(),
        }
    }

    /// A request with an XML body (or none), with the metadata timeout.
    pub(crate) fn new(method: Method, resource: Resource, body: Option<String>) -> Self {
        Self {
            method,
            resource,
            body: body.map(String::into_bytes),
            timeout: Some(METADATA_TIMEOUT),
            headers: Vec::new(),
        }
    }

    /// Add a request header. Headers named `x-odps-…` are signed, as the
    /// protocol requires (the MaxQA connection, cookie and fallback ones).
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Drop the whole-request timeout (for streams bounded by the query's
    /// own deadline instead).
    pub(crate) fn streaming(mut self) -> Self {
        self.timeout = None;
        self
    }
}

/// A successful answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    /// HTTP status (2xx).
    pub(crate) status: u16,
    /// Response headers.
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub(crate) body: String,
}

impl Answer {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The signing HTTP client of one connection.
#[derive(Clone)]
pub(crate) struct RestClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    service: Endpoint,
    keys: MaxComputeKeys,
    version: SignatureVersion,
    user_agent: String,
    project: String,
    schema: Option<String>,
}

/// The error document MaxCompute sends (XML; some endpoints send the same
/// keys as JSON).
#[derive(Debug, Default, Deserialize)]
struct ErrorDoc {
    #[serde(rename = "Code", default)]
    code: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
    #[serde(rename = "RequestId", default)]
    request_id: Option<String>,
}

/// The HTTP client could not be built (a local problem: nothing was sent).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientSetupError {
    /// rustls refused its own configuration.
    #[error("TLS setup failed: {0}")]
    Tls(rustls::Error),
    /// reqwest could not build the client.
    #[error("building the HTTP client failed: {0}")]
    Http(reqwest::Error),
}

impl RestClient {
    /// A client for `project` on `service`; builds the TLS stack, sends
    /// nothing.
    pub(crate) fn new(
        service: Endpoint,
        keys: MaxComputeKeys,
        version: SignatureVersion,
        project: String,
        schema: Option<String>,
    ) -> Result<Self, ClientSetupError> {
        let user_agent = format!("sqlwarden/{}", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .user_agent(user_agent.clone())
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .map_err(ClientSetupError::Http)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                service,
                keys,
                version,
                user_agent,
                project,
                schema,
            }),
        })
    }

    /// The service endpoint.
    pub(crate) fn service(&self) -> &Endpoint {
        &self.inner.service
    }

    /// The connection's default project.
    pub(crate) fn project(&self) -> &str {
        &self.inner.project
    }

    /// The connection's default schema (3-tier projects).
    pub(crate) fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// The access key id with its middle hidden, for `sqlwarden check`.
    pub(crate) fn masked_key_id(&self) -> String {
        let id: Vec<char> = self.inner.keys.access_key_id.chars().collect();
        if id.len() <= 8 {
            "****".into()
        } else {
            let head: String = id[..4].iter().collect();
            let tail: String = id[id.len() - 4..].iter().collect();
            format!("{head}****{tail}")
        }
    }

    /// Send `call`, retrying per the retry policy; a 2xx response is
    /// returned with its body unread, anything else becomes an [`McError`].
    pub(crate) async fn send(&self, plane: Plane<'_>, call: &Call) -> Result<Response, McError> {
        let (endpoint, version) = match plane {
            Plane::Service => (&self.inner.service, &self.inner.version),
            Plane::Tunnel(endpoint) => (endpoint, &SignatureVersion::V2),
        };
        let tunnel = matches!(plane, Plane::Tunnel(_));
        let mut attempt = 1;
        loop {
            let (error, transport, retry_after) =
                match self.send_once(endpoint, version, tunnel, call).await {
                    Ok(response) if response.status().is_success() => return Ok(response),
                    Ok(response) => {
                        let retry_after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        (read_error(response).await, None, retry_after)
                    }
                    Err(error) => {
                        // A connect failure means nothing was sent.
                        let transport = if error.is_connect() {
                            Outcome::NotSent
                        } else {
                            Outcome::Broken
                        };
                        let error = McError::Network {
                            host: endpoint.host().to_owned(),
                            detail: error_chain(&error),
                        };
                        (error, Some(transport), None)
                    }
                };
            let outcome = match (&error, transport) {
                (_, Some(transport)) => transport,
                (McError::Service { status, code, .. }, None) => Outcome::Answered {
                    status: *status,
                    code,
                    retry_after,
                },
                _ => Outcome::Broken,
            };
            match retry::decide(call.method.as_str(), attempt, &outcome, retry::jitter()) {
                Verdict::RetryAfter(wait) => {
                    tracing::debug!(%error, attempt, ?wait, "retrying MaxCompute request");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Verdict::GiveUp => return Err(error),
            }
        }
    }

    /// Send `call` and read the whole body as text.
    pub(crate) async fn text(&self, plane: Plane<'_>, call: &Call) -> Result<String, McError> {
        self.answer(plane, call).await.map(|answer| answer.body)
    }

    /// Send `call` and read the status, headers and whole body.
    pub(crate) async fn answer(&self, plane: Plane<'_>, call: &Call) -> Result<Answer, McError> {
        let response = self.send(plane, call).await?;
        let host = response.url().authority().to_owned();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|error| McError::Network {
            host,
            detail: error_chain(&error),
        })?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn send_once(
        &self,
        endpoint: &Endpoint,
        version: &SignatureVersion,
        tunnel: bool,
        call: &Call,
    ) -> Result<Response, reqwest::Error> {
        let inner = &*self.inner;
        let mut resource = call
            .resource
            .clone()
            .param_default("curr_project", &inner.project);
        if let Some(schema) = &inner.schema {
            resource = resource.param_default("curr_schema", schema);
        }
        let now = Utc::now();
        let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let content_type = if call.body.is_some() {
            "application/xml"
        } else {
            ""
        };
        let mut signed_headers = vec![("x-odps-user-agent".to_owned(), inner.user_agent.clone())];
        signed_headers.extend(call.headers.iter().cloned());
        if tunnel {
            signed_headers.push((
                "x-odps-tunnel-version".to_owned(),
                TUNNEL_VERSION.to_owned(),
            ));
        }
        let path = resource.signed_path();
        let canonical = sign::canonical_string(&SignedParts {
            method: call.method.as_str(),
            content_md5: "",
            content_type,
            date: &date,
            headers: &signed_headers,
            resource: &path,
            params: resource.params(),
        });
        let authorization = sign::authorization(
            &inner.keys.access_key_id,
            inner.keys.access_key_secret.expose(),
            version,
            &now.format("%Y%m%d").to_string(),
            &canonical,
        );
        let mut request = inner
            .http
            .request(call.method.clone(), endpoint.url(&resource))
            .header("Date", date)
            .header("Authorization", authorization);
        for (name, value) in signed_headers {
            request = request.header(name, value);
        }
        if let Some(token) = &inner.keys.security_token {
            request = request.header("authorization-sts-token", token.expose());
        }
        if let Some(body) = &call.body {
            request = request
                .header("Content-Type", content_type)
                .body(body.clone());
        } else if call.method == Method::POST || call.method == Method::PUT {
            request = request.header("Content-Length", "0");
        }
        if let Some(timeout) = call.timeout {
            request = request.timeout(timeout);
        }
        request.send().await
    }
}

/// Read an error answer into [`McError::Service`].
async fn read_error(mut response: Response) -> McError {
    let status = response.status().as_u16();
    let header_id = response
        .headers()
        .get("x-odps-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    let doc = parse_error_doc(&text);
    McError::Service {
        status,
        code: doc.code.unwrap_or_default().trim().to_owned(),
        message: doc.message.unwrap_or_default().trim().to_owned(),
        request_id: header_id.or(doc.request_id),
    }
}

fn parse_error_doc(text: &str) -> ErrorDoc {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).unwrap_or_default()
    } else if trimmed.starts_with('<') {
        quick_xml::de::from_str(trimmed).unwrap_or_default()
    } else {
        ErrorDoc {
            message: Some(trimmed.chars().take(1000).collect()),
            ..ErrorDoc::default()
        }
    }
}

/// The error and its sources on one line; reqwest's top-level message alone
/// ("error sending request") does not say what failed.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// rustls with the ring provider, and both the bundled Mozilla roots and
/// the OS store (corporate proxies often add their own CA there).
fn tls_config() -> Result<rustls::ClientConfig, ClientSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        // A malformed OS certificate should not make every request fail.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ClientSetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
