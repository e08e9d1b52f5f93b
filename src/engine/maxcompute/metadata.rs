//! Metadata reads: table schemas, partitions, and project facts
//! (docs/maxcompute-rest.md §3).
//!
//! Every name is a path segment or a parameter, never spliced into SQL, and
//! nothing here decides what the agent may see: callers filter by policy.
//! "Newest" means the greatest value in string order, level by level, the
//! order MaxCompute's `MAX_PT` uses. Which partition *holds data* is read
//! from the listing's record counts and sizes when it has them
//! ([`newest_with_data`]); when it does not, the engine asks `MAX_PT`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::ColumnInfo;

use super::client::{Call, Plane, RestClient};
use super::endpoint::Resource;
use super::error::McError;

/// Partitions asked for per page (the Go SDK's choice; the server may
/// return fewer).
const PARTITION_PAGE: &str = "10000";
/// Most names one table or schema listing may return; a project with more
/// tables than this is beyond what a listing for an agent should walk.
const MAX_LISTED_NAMES: usize = 100_000;
/// MaxCompute's own cap on partitions per table; a listing longer than this
/// means a server paging loop, which must not spin forever.
const MAX_PARTITIONS: usize = 60_000;

/// A table named by a policy key: `table`, `project.table` or
/// `project.schema.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    /// Project.
    pub(crate) project: String,
    /// Schema, for 3-tier projects.
    pub(crate) schema: Option<String>,
    /// Table name.
    pub(crate) name: String,
}

impl TableRef {
    /// Split a policy key; `None` when it has more than three parts or a
    /// part that is not a MaxCompute name (letters, digits, `_`). That rule
    /// is MaxCompute's own, and it lets a name sit inside a string literal
    /// (`MAX_PT('p.t')`) with nothing to escape.
    pub(crate) fn parse(key: &str, default_project: &str) -> Option<Self> {
        let parts: Vec<&str> = key.split('.').map(str::trim).collect();
        let is_name =
            |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !parts.iter().all(is_name) {
            return None;
        }
        let (project, schema, name) = match parts.as_slice() {
            [name] => (default_project, None, *name),
            [project, name] => (*project, None, *name),
            [project, schema, name] => (*project, Some(*schema), *name),
            _ => return None,
        };
        Some(Self {
            project: project.to_owned(),
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// `project.table` or `project.schema.table`.
    pub(crate) fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{schema}.{}", self.project, self.name),
            None => format!("{}.{}", self.project, self.name),
        }
    }

    fn resource(&self) -> Resource {
        let resource = Resource::new(["projects", &self.project, "tables", &self.name]);
        match &self.schema {
            Some(schema) => resource.param("curr_schema", schema.as_str()),
            None => resource,
        }
    }
}

#[derive(Debug, Deserialize)]
struct TableDoc {
    #[serde(rename = "Schema", default)]
    schema: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SchemaJson {
    #[serde(default)]
    columns: Vec<ColumnJson>,
    #[serde(default, rename = "partitionKeys")]
    partition_keys: Vec<ColumnJson>,
}

#[derive(Debug, Deserialize)]
struct ColumnJson {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default, rename = "isNullable", alias = "nullable")]
    nullable: Option<bool>,
}

/// Every column of a table, partition keys last, or `None` when the table
/// does not exist.
pub(crate) async fn table_columns(
    client: &RestClient,
    table: &TableRef,
) -> Result<Option<Vec<ColumnInfo>>, McError> {
    let body = match client
        .text(Plane::Service, &Call::get(table.resource()))
        .await
    {
        Ok(body) => body,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error),
    };
    parse_table(&body).map(Some)
}

fn parse_table(body: &str) -> Result<Vec<ColumnInfo>, McError> {
    let doc: TableDoc = quick_xml::de::from_str(body)
        .map_err(|e| McError::Protocol(format!("table document: {e}")))?;
    let schema: SchemaJson = match doc.schema.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => serde_json::from_str(text)
            .map_err(|e| McError::Protocol(format!("table schema JSON: {e}")))?,
        _ => return Err(McError::Protocol("table document has no schema".into())),
    };
    let to_info = |column: ColumnJson, partition_key: bool| ColumnInfo {
        name: column.name,
        type_name: column.type_name.to_ascii_lowercase(),
        nullable: column.nullable.unwrap_or(true),
        comment: column.comment.filter(|c| !c.is_empty()),
        partition_key,
        // Primary keys are only in the extended `Reserved` blob of
        // transactional tables; sqlwarden does not read it.
        primary_key: false,
    };
    let columns = schema.columns.into_iter().map(|c| to_info(c, false));
    let keys = schema.partition_keys.into_iter().map(|c| to_info(c, true));
    Ok(columns.chain(keys).collect())
}

/// One partition as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionEntry {
    /// `(key, value)` per level, first level first.
    pub(crate) values: Vec<(String, String)>,
    /// `PartitionRecordCount`, when the server reports it (`-1`: unknown).
    pub(crate) records: Option<i64>,
    /// `PartitionSize` in bytes, when the server reports it.
    pub(crate) size: Option<i64>,
}

/// What partition statistics say about the newest first-level partition
/// that holds data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NewestWithData {
    /// This first-level value.
    Value(String),
    /// No partition holds data (or there are none).
    Empty,
    /// A partition at or above the answer has no usable statistics.
    Unknown,
}

impl PartitionEntry {
    /// Whether statistics say it holds data: `Some(true)` / `Some(false)`,
    /// `None` when they cannot say.
    fn holds_data(&self) -> Option<bool> {
        match (
            self.records.filter(|r| *r >= 0),
            self.size.filter(|s| *s >= 0),
        ) {
            (Some(records), _) => Some(records > 0),
            (None, Some(size)) => Some(size > 0),
            (None, None) => None,
        }
    }
}

/// The newest first-level partition that holds data, as `MAX_PT` defines
/// it (empty partitions skipped), from entries sorted newest first.
pub(crate) fn newest_with_data(entries: &[PartitionEntry]) -> NewestWithData {
    let mut index = 0;
    while let Some(first) = entries.get(index) {
        let Some((_, value)) = first.values.first() else {
            return NewestWithData::Unknown;
        };
        let group: Vec<&PartitionEntry> = entries[index..]
            .iter()
            .take_while(|e| e.values.first().map(|(_, v)| v) == Some(value))
            .collect();
        index += group.len();
        let verdicts: Vec<Option<bool>> = group.iter().map(|e| e.holds_data()).collect();
        if verdicts.contains(&Some(true)) {
            return NewestWithData::Value(value.clone());
        }
        if verdicts.contains(&None) {
            return NewestWithData::Unknown;
        }
    }
    NewestWithData::Empty
}

impl PartitionEntry {
    /// `pt=20240101` or `pt=20240101,region=east`.
    pub(crate) fn spec(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Deserialize)]
struct PartitionsDoc {
    #[serde(rename = "Partition", default)]
    partitions: Vec<PartitionDoc>,
    #[serde(rename = "Marker", default)]
    marker: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PartitionDoc {
    #[serde(rename = "Column", default)]
    columns: Vec<PartitionColumnDoc>,
    #[serde(rename = "PartitionRecordCount", default)]
    records: Option<i64>,
    #[serde(rename = "PartitionSize", default)]
    size: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct PartitionColumnDoc {
    #[serde(rename = "@Name")]
    name: String,
    #[serde(rename = "@Value")]
    value: String,
}

/// Every partition of a table (all pages), newest first, or `None` when
/// the table does not exist.
pub(crate) async fn all_partitions(
    client: &RestClient,
    table: &TableRef,
) -> Result<Option<Vec<PartitionEntry>>, McError> {
    let mut entries = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut resource = table
            .resource()
            .flag("partitions")
            .param("expectmarker", "true")
            .param("maxitems", PARTITION_PAGE);
        if let Some(marker) = &marker {
            resource = resource.param("marker", marker.as_str());
        }
        let body = match client.text(Plane::Service, &Call::get(resource)).await {
            Ok(body) => body,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        let (page, next) = parse_partitions(&body)?;
        entries.extend(page);
        if entries.len() > MAX_PARTITIONS {
            return Err(McError::Protocol(format!(
                "partition listing passed {MAX_PARTITIONS} entries"
            )));
        }
        match next {
            Some(next) if marker.as_deref() != Some(next.as_str()) => marker = Some(next),
            _ => break,
        }
    }
    entries.sort_by(newest_first);
    Ok(Some(entries))
}

fn parse_partitions(body: &str) -> Result<(Vec<PartitionEntry>, Option<String>), McError> {
    let doc: PartitionsDoc = quick_xml::de::from_str(body)
        .map_err(|e| McError::Protocol(format!("partition list: {e}")))?;
    let entries = doc
        .partitions
        .into_iter()
        .map(|p| PartitionEntry {
            values: p.columns.into_iter().map(|c| (c.name, c.value)).collect(),
            records: p.records,
            size: p.size,
        })
        .collect();
    let marker = doc
        .marker
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    Ok((entries, marker))
}

/// Descending by value, level by level.
fn newest_first(a: &PartitionEntry, b: &PartitionEntry) -> Ordering {
    let values = |e: &PartitionEntry| e.values.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    values(b).cmp(&values(a))
}

#[derive(Debug, Deserialize)]
struct NamesDoc {
    #[serde(rename = "Table", alias = "Schema", default)]
    items: Vec<NamedDoc>,
    #[serde(rename = "Marker", default)]
    marker: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NamedDoc {
    #[serde(rename = "Name")]
    name: String,
}

/// What to list with [`list_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing<'a> {
    /// Tables of a project (in a schema, for 3-tier projects).
    Tables {
        /// Project.
        project: &'a str,
        /// Schema, for 3-tier projects.
        schema: Option<&'a str>,
    },
    /// Schemas of a 3-tier project.
    Schemas {
        /// Project.
        project: &'a str,
    },
}

/// Every name in a listing (all pages, by marker), sorted.
pub(crate) async fn list_names(
    client: &RestClient,
    listing: Listing<'_>,
) -> Result<Vec<String>, McError> {
    let base = match listing {
        Listing::Tables { project, schema } => {
            let resource = Resource::new(["projects", project, "tables"]);
            match schema {
                Some(schema) => resource.param("curr_schema", schema),
                None => resource,
            }
        }
        Listing::Schemas { project } => Resource::new(["projects", project, "schemas"]),
    };
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut resource = base.clone().param("expectmarker", "true");
        if let Some(marker) = &marker {
            resource = resource.param("marker", marker.as_str());
        }
        let body = client.text(Plane::Service, &Call::get(resource)).await?;
        let doc: NamesDoc = quick_xml::de::from_str(&body)
            .map_err(|e| McError::Protocol(format!("name listing: {e}")))?;
        names.extend(doc.items.into_iter().map(|i| i.name));
        if names.len() > MAX_LISTED_NAMES {
            return Err(McError::Protocol(format!(
                "listing passed {MAX_LISTED_NAMES} names"
            )));
        }
        match doc
            .marker
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
        {
            Some(next) if marker.as_deref() != Some(next.as_str()) => marker = Some(next),
            _ => break,
        }
    }
    names.sort();
    Ok(names)
}

#[derive(Debug, Deserialize)]
struct ProjectDoc {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Owner", default)]
    owner: Option<String>,
    #[serde(rename = "Region", default)]
    region: Option<String>,
    #[serde(rename = "Properties", default)]
    properties: Option<PropertiesDoc>,
}

#[derive(Debug, Default, Deserialize)]
struct PropertiesDoc {
    #[serde(rename = "Property", default)]
    property: Vec<PropertyDoc>,
}

#[derive(Debug, Deserialize)]
struct PropertyDoc {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Value", default)]
    value: Option<String>,
}

/// What `GET /projects/{p}` tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProjectInfo {
    /// Project name.
    pub(crate) name: String,
    /// Owner account.
    pub(crate) owner: Option<String>,
    /// Region id.
    pub(crate) region: Option<String>,
    /// Project properties, e.g. `odps.sql.allow.fullscan`.
    pub(crate) properties: BTreeMap<String, String>,
}

/// Read the connection's project, with every property: without
/// `properties=all` the service lists only a few, and
/// `odps.sql.allow.fullscan` is not among them.
pub(crate) async fn project_info(client: &RestClient) -> Result<ProjectInfo, McError> {
    let resource = Resource::new(["projects", client.project()]).param("properties", "all");
    let body = client.text(Plane::Service, &Call::get(resource)).await?;
    parse_project(&body)
}

fn parse_project(body: &str) -> Result<ProjectInfo, McError> {
    let doc: ProjectDoc = quick_xml::de::from_str(body)
        .map_err(|e| McError::Protocol(format!("project document: {e}")))?;
    Ok(ProjectInfo {
        name: doc.name.unwrap_or_default(),
        owner: doc.owner.filter(|o| !o.is_empty()),
        region: doc.region.filter(|r| !r.is_empty()),
        properties: doc
            .properties
            .unwrap_or_default()
            .property
            .into_iter()
            .map(|p| (p.name, p.value.unwrap_or_default()))
            .collect(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
