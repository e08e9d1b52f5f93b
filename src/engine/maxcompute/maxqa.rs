//! MaxQA (MCQA 2.0): finding the connection value for an interactive
//! quota, the fallback header, and the `ResultDescriptor` a finished
//! MaxQA job reports (docs/maxcompute-maxqa.md §2).
//!
//! The connection API (`GET /connection/mcqa`) is asked first; servers
//! that do not have it answer `MethodNotAllowed`, `NoSuchObject` or
//! `InvalidParameter`, and then the quota API (`GET /quotas/{q}`) gives
//! the value in its `x-odps-mcqa-conn` header, as pyodps does. Only
//! `FUXI_VW` quotas are interactive. This module looks things up and
//! parses; caching and when to fall back are the engine's.

use serde::Deserialize;

use super::client::{Call, Plane, RestClient};
use super::endpoint::Resource;
use super::error::McError;
use super::instance::CONN_HEADER;

/// The resource type of an interactive (MaxQA) quota.
const INTERACTIVE_QUOTA_TYPE: &str = "FUXI_VW";
/// Codes with which a server without the connection API refuses it.
const NO_CONNECTION_API: &[&str] = &["MethodNotAllowed", "NoSuchObject", "InvalidParameter"];

/// A MaxQA connection for one quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connection {
    /// The opaque `x-odps-mcqa-conn` value.
    pub(crate) conn_info: String,
    /// The quota's nickname.
    pub(crate) quota: String,
    /// The quota's resource type (`FUXI_VW` for interactive quotas).
    pub(crate) quota_type: String,
}

impl Connection {
    /// Whether the quota is interactive, i.e. can run MaxQA jobs.
    pub(crate) fn interactive(&self) -> bool {
        self.quota_type.eq_ignore_ascii_case(INTERACTIVE_QUOTA_TYPE)
    }
}

#[derive(Debug, Deserialize)]
struct ConnectionDoc {
    #[serde(rename = "connInfo", default)]
    conn_info: Option<String>,
    #[serde(rename = "quotaNickName", default)]
    quota: Option<String>,
    #[serde(rename = "quotaType", default)]
    quota_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QuotaDoc {
    #[serde(rename = "Nickname", default)]
    nickname: Option<String>,
    #[serde(rename = "ResourceSystemType", default)]
    resource_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TenantDoc {
    #[serde(rename = "Tenant")]
    tenant: TenantInner,
}

#[derive(Debug, Deserialize)]
struct TenantInner {
    #[serde(rename = "TenantId", default)]
    tenant_id: Option<String>,
}

/// Look up the MaxQA connection of `quota` (or the project's default
/// connection when `None`).
pub(crate) async fn lookup(
    client: &RestClient,
    quota: Option<&str>,
) -> Result<Connection, McError> {
    let mut resource = Resource::new(["connection", "mcqa"]).param("project", client.project());
    if let Some(quota) = quota {
        resource = resource.param("quota", quota);
    }
    match client.text(Plane::Service, &Call::get(resource)).await {
        Ok(body) => parse_connection(&body),
        Err(McError::Service { status, code, .. })
            if status == 405 || NO_CONNECTION_API.contains(&code.as_str()) =>
        {
            let quota = quota.ok_or_else(|| {
                McError::Protocol(
                    "the server has no MaxQA connection API, and without it a quota must be named"
                        .into(),
                )
            })?;
            lookup_quota(client, quota).await
        }
        Err(error) => Err(error),
    }
}

fn parse_connection(body: &str) -> Result<Connection, McError> {
    let doc: ConnectionDoc = serde_json::from_str(body.trim())
        .map_err(|e| McError::Protocol(format!("MaxQA connection: {e}")))?;
    Ok(Connection {
        conn_info: doc
            .conn_info
            .filter(|c| !c.is_empty())
            .ok_or_else(|| McError::Protocol("MaxQA connection without `connInfo`".into()))?,
        quota: doc.quota.unwrap_or_default(),
        quota_type: doc.quota_type.unwrap_or_default(),
    })
}

/// The quota API, for servers without the connection API.
async fn lookup_quota(client: &RestClient, quota: &str) -> Result<Connection, McError> {
    let mut resource = Resource::new(["quotas", quota])
        .param("project", client.project())
        .param("version", "wlm");
    if let Some(tenant) = tenant_id(client).await {
        resource = resource.param("tenant", tenant);
    }
    let answer = client.answer(Plane::Service, &Call::get(resource)).await?;
    let doc: QuotaDoc = quick_xml::de::from_str(&answer.body)
        .map_err(|e| McError::Protocol(format!("quota document: {e}")))?;
    let conn_info = answer.header(CONN_HEADER).unwrap_or_default().to_owned();
    Ok(Connection {
        conn_info,
        quota: doc.nickname.unwrap_or_else(|| quota.to_owned()),
        quota_type: doc.resource_type.unwrap_or_default(),
    })
}

/// The tenant id the quota API wants, when the tenant API answers.
async fn tenant_id(client: &RestClient) -> Option<String> {
    let body = client
        .text(Plane::Service, &Call::get(Resource::new(["tenants"])))
        .await
        .ok()?;
    let doc: TenantDoc = serde_json::from_str(&body).ok()?;
    doc.tenant.tenant_id.filter(|t| !t.is_empty())
}

/// The `x-odps-fallback-infos` value: fall back, on `quota` if named.
pub(crate) fn fallback_header(quota: Option<&str>) -> String {
    let mut info = serde_json::Map::new();
    info.insert("Fallback".into(), "true".into());
    if let Some(quota) = quota {
        info.insert("FallbackQuota".into(), quota.into());
    }
    serde_json::Value::Object(info).to_string()
}

/// Whether the select result a MaxQA job reports inline is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectStatus {
    /// Every row is inline.
    Full,
    /// The inline rows are the first ones only.
    Truncated,
    /// No inline rows.
    No,
}

/// A MaxQA task's `ResultDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultDescriptor {
    /// Whether the inline result is whole.
    pub(crate) status: SelectStatus,
    /// `(name, type)` of each result column.
    pub(crate) columns: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
struct DescriptorDoc {
    #[serde(rename = "SelectResultStatus", default)]
    status: Option<String>,
    #[serde(rename = "Schema", default)]
    schema: Option<DescriptorSchema>,
}

#[derive(Debug, Deserialize)]
struct DescriptorSchema {
    #[serde(rename = "Columns", default)]
    columns: Vec<DescriptorColumn>,
}

#[derive(Debug, Deserialize)]
struct DescriptorColumn {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Type")]
    type_name: String,
}

impl ResultDescriptor {
    /// Parse the descriptor JSON.
    pub(crate) fn parse(text: &str) -> Result<Self, McError> {
        let doc: DescriptorDoc = serde_json::from_str(text.trim())
            .map_err(|e| McError::Protocol(format!("ResultDescriptor: {e}")))?;
        let status = match doc
            .status
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("FULL") => SelectStatus::Full,
            Some("TRUNCATED") => SelectStatus::Truncated,
            _ => SelectStatus::No,
        };
        Ok(Self {
            status,
            columns: doc
                .schema
                .map(|s| {
                    s.columns
                        .into_iter()
                        .map(|c| (c.name, c.type_name.to_ascii_lowercase()))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
