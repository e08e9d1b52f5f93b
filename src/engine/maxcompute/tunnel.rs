//! The instance tunnel: find the tunnel endpoint, open a download session
//! for a finished instance, and stream its records through the decoder into
//! a capped result (docs/maxcompute-rest.md §1.4, §4.5).
//!
//! Only `applied_limit + 1` rows are asked for, and reading stops as soon
//! as a cap is reached, so an unbounded result never sits in memory. Every
//! returned row passed its CRC32C; a stream that ends early or fails a
//! check is an error, never a shorter answer. This module does not decide
//! when to fall back to `?result`; it says whether the tunnel was refused.

use serde::Deserialize;

use crate::engine::result::ResultBuilder;
use crate::engine::ResultColumn;

use super::client::{Call, Plane, RestClient};
use super::endpoint::{Endpoint, Resource};
use super::error::McError;
use super::stream::{RecordDecoder, Step};

pub(crate) use super::stream::StreamError;

/// Service codes with which a tunnel refuses a download that `?result`
/// may still serve (pyodps falls back on the same ones).
const REFUSAL_CODES: &[&str] = &[
    "InvalidArgument",
    "InvalidProjectTable",
    "NoSuchProject",
    "NoPermission",
    "MethodNotAllowed",
];

/// Above this many rows the tunnel needs read permission on every source
/// table; at or below it, `instance_tunnel_limit_enabled` lets an instance
/// reader through (§4.5 item 4).
const LIMITED_DOWNLOAD_ROWS: u64 = 10_000;

/// Whether an error means "the tunnel will not serve this instance".
pub(crate) fn refused(error: &McError) -> bool {
    matches!(error, McError::Service { code, status, .. }
        if REFUSAL_CODES.contains(&code.as_str()) || *status == 404 || *status == 405)
}

/// Whether an error means "the project may open no more download sessions
/// for now" (200 per 5 minutes): an HTTP 429 that retries did not clear.
pub(crate) fn budget_spent(error: &McError) -> bool {
    matches!(error, McError::Service { status: 429, .. })
}

/// Ask the service where its tunnel is (`host[:port]`, no scheme).
pub(crate) async fn discover(client: &RestClient) -> Result<Endpoint, McError> {
    let resource = Resource::new(["projects", client.project(), "tunnel"]).flag("service");
    let host = client.text(Plane::Service, &Call::get(resource)).await?;
    client
        .service()
        .tunnel_from_host(&host)
        .map_err(|e| McError::Protocol(format!("tunnel endpoint: {e}")))
}

#[derive(Debug, Deserialize)]
struct SessionDoc {
    #[serde(rename = "DownloadID")]
    download_id: String,
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "RecordCount", default)]
    record_count: u64,
    #[serde(rename = "Schema", default)]
    schema: SessionSchema,
}

#[derive(Debug, Default, Deserialize)]
struct SessionSchema {
    #[serde(default, alias = "DataColumns")]
    columns: Vec<SessionColumn>,
}

#[derive(Debug, Deserialize)]
struct SessionColumn {
    #[serde(alias = "Name")]
    name: String,
    #[serde(rename = "type", alias = "Type")]
    type_name: String,
}

/// An open download session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownloadSession {
    /// `DownloadID`.
    pub(crate) id: String,
    /// Rows the instance produced.
    pub(crate) record_count: u64,
    /// Result columns.
    pub(crate) columns: Vec<ResultColumn>,
}

/// Open a download session for a finished instance that will read at most
/// `rows` rows.
pub(crate) async fn open_session(
    client: &RestClient,
    tunnel: &Endpoint,
    instance_id: &str,
    rows: u64,
) -> Result<DownloadSession, McError> {
    let mut resource =
        Resource::new(["projects", client.project(), "instances", instance_id]).flag("downloads");
    if rows <= LIMITED_DOWNLOAD_ROWS {
        resource = resource.flag("instance_tunnel_limit_enabled");
    }
    let call = Call::new(reqwest::Method::POST, resource, None);
    let body = client.text(Plane::Tunnel(tunnel), &call).await?;
    parse_session(&body)
}

fn parse_session(body: &str) -> Result<DownloadSession, McError> {
    let doc: SessionDoc = serde_json::from_str(body)
        .map_err(|e| McError::Protocol(format!("tunnel download session: {e}")))?;
    let status = doc.status.unwrap_or_default();
    if !status.is_empty() && !status.eq_ignore_ascii_case("normal") {
        return Err(McError::Protocol(format!(
            "tunnel download session is `{status}`, not `normal`"
        )));
    }
    Ok(DownloadSession {
        id: doc.download_id,
        record_count: doc.record_count,
        columns: doc
            .schema
            .columns
            .into_iter()
            .map(|c| ResultColumn {
                name: c.name,
                type_name: c.type_name.to_ascii_lowercase(),
            })
            .collect(),
    })
}

/// Read up to `rows` rows of the session into `builder`.
pub(crate) async fn download(
    client: &RestClient,
    tunnel: &Endpoint,
    instance_id: &str,
    session: &DownloadSession,
    rows: u64,
    builder: &mut ResultBuilder,
) -> Result<(), McError> {
    let rows = rows.min(session.record_count);
    if rows == 0 {
        return Ok(());
    }
    let types: Vec<&str> = session
        .columns
        .iter()
        .map(|c| c.type_name.as_str())
        .collect();
    let mut decoder = RecordDecoder::new(&types)?;
    let resource = Resource::new(["projects", client.project(), "instances", instance_id])
        .param("downloadid", session.id.as_str())
        .param("rowrange", format!("(0,{rows})"))
        .flag("data");
    let mut response = client
        .send(Plane::Tunnel(tunnel), &Call::get(resource).streaming())
        .await?;
    let host = tunnel.host().to_owned();
    let mut feed = Feed::default();
    loop {
        if feed.ready() {
            match decoder.next_record(feed.pending())? {
                Step::Record(values, used) => {
                    feed.consume(used);
                    if !builder.push(values) {
                        return Ok(());
                    }
                    continue;
                }
                Step::End(_) => return Ok(()),
                Step::NeedMore if feed.ended => {
                    return Err(StreamError::Truncated {
                        records: decoder.records(),
                    }
                    .into())
                }
                Step::NeedMore => feed.wait_for_more(),
            }
        }
        match response.chunk().await {
            Ok(Some(chunk)) => feed.push(&chunk),
            Ok(None) => feed.ended = true,
            Err(error) => {
                return Err(McError::Network {
                    host,
                    detail: error.to_string(),
                })
            }
        }
    }
}

/// Bytes received but not yet decoded. After the decoder asks for more, it
/// is not asked again until the pending bytes doubled (or the stream ended),
/// so a record spanning many chunks is re-parsed O(log n) times, not O(n).
#[derive(Debug, Default)]
struct Feed {
    buf: Vec<u8>,
    start: usize,
    retry_at: usize,
    ended: bool,
}

impl Feed {
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn ready(&self) -> bool {
        self.ended || self.pending().len() >= self.retry_at
    }

    fn consume(&mut self, used: usize) {
        self.start += used;
        self.retry_at = 0;
    }

    fn wait_for_more(&mut self) {
        self.retry_at = (self.pending().len() * 2).max(1);
    }

    fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
