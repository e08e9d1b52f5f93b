//! Metadata resources: tenant, projects, schemas, tables (with marker
//! paging), table schema JSON, partitions (with marker paging) and single
//! partitions, in the shapes of protocol doc §3.
//!
//! It only reads the catalog; it does not authenticate or route. The one
//! idea: paging markers are opaque (base64 of the next key), so a client
//! that works here does not depend on what a marker looks like.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::catalog::{Catalog, Column, Partition, Table, TableId, DEFAULT_SCHEMA};
use super::reply::{cdata, esc, respond, rfc1123, set_header, xml, OdpsError};
use super::Shared;

/// Page size when the client sends no `maxitems`.
const DEFAULT_PAGE: usize = 1000;

/// Query parameters of a request.
pub type Params = BTreeMap<String, String>;

/// `(page, next marker)` of `items` sorted by key.
fn page<T>(items: Vec<(String, T)>, params: &Params) -> Result<(Vec<T>, String), OdpsError> {
    let max = match params.get("maxitems") {
        Some(m) => m.parse::<usize>().ok().filter(|m| *m > 0).ok_or_else(|| {
            OdpsError::invalid(format!("ODPS-0420031:Invalid argument - maxitems={m}"))
        })?,
        None => DEFAULT_PAGE,
    };
    let start = match params.get("marker").filter(|m| !m.is_empty()) {
        Some(m) => URL_SAFE_NO_PAD
            .decode(m)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OdpsError::invalid("ODPS-0420031:Invalid argument - bad marker"))?,
        None => String::new(),
    };
    let mut rest = items.into_iter().filter(|(k, _)| *k >= start);
    let chosen: Vec<T> = rest.by_ref().take(max).map(|(_, t)| t).collect();
    let next = rest
        .next()
        .map(|(k, _)| URL_SAFE_NO_PAD.encode(k))
        .unwrap_or_default();
    Ok((chosen, next))
}

/// `GET /tenants`.
pub fn tenant(shared: &Shared) -> Response<Body> {
    let created = chrono::Utc::now().timestamp();
    let body = json!({"Tenant": {
        "Name": "emulator",
        "OwnerId": shared.config.owner,
        "TenantId": "1",
        "TenantState": "NORMAL",
        "CreateTime": created,
        "UpdateTime": created,
        "TenantMeta": "{}",
        "Parameters": {"odps.namespace.schema": shared.config.tenant_schemas.to_string()},
    }});
    respond(200, "application/json", body.to_string().into_bytes())
}

/// One `<Property>` element.
fn property_xml(name: &str, value: &str) -> String {
    format!(
        "<Property><Name>{}</Name><Value>{}</Value></Property>",
        esc(name),
        esc(value)
    )
}

/// A project document. Like the service, it lists only the schema switch
/// unless asked for every property (`?properties=all`, what pyodps'
/// `Project.get_property` and sqlwarden's doctor send).
fn project_xml(shared: &Shared, p: &super::catalog::Project, all_properties: bool) -> String {
    let mut properties = property_xml("odps.schema.model.enabled", &p.three_tier.to_string());
    if all_properties {
        for (name, value) in &p.properties {
            properties.push_str(&property_xml(name, value));
        }
    }
    format!(
        "<Project><Name>{}</Name><Type>managed</Type><Comment></Comment><Owner>{}</Owner><State>AVAILABLE</State><CreationTime>{}</CreationTime><LastModifiedTime>{}</LastModifiedTime><Region>{}</Region><Properties>{properties}</Properties></Project>",
        esc(&p.name),
        esc(&shared.config.owner),
        rfc1123(p.created),
        rfc1123(p.created),
        esc(&shared.config.region),
    )
}

/// `GET /projects`.
pub fn projects(
    shared: &Shared,
    catalog: &Catalog,
    params: &Params,
) -> Result<Response<Body>, OdpsError> {
    let prefix = params.get("name").cloned().unwrap_or_default();
    let items = catalog
        .projects
        .values()
        .filter(|p| p.name.starts_with(&prefix))
        .map(|p| (p.name.clone(), project_xml(shared, p, false)))
        .collect();
    let (chosen, marker) = page(items, params)?;
    Ok(xml(format!(
        "<Projects>{}<Marker>{marker}</Marker><MaxItems>{}</MaxItems></Projects>",
        chosen.concat(),
        chosen.len()
    )))
}

/// Look up a project or answer `NoSuchProject`.
pub fn find_project<'a>(
    catalog: &'a Catalog,
    name: &str,
) -> Result<&'a super::catalog::Project, OdpsError> {
    catalog
        .projects
        .get(&name.to_ascii_lowercase())
        .ok_or_else(|| {
            OdpsError::new(
                404,
                "NoSuchProject",
                format!("ODPS-0420111: Project not found - '{name}'."),
            )
        })
}

/// `GET /projects/{p}`.
pub fn project(
    shared: &Shared,
    catalog: &Catalog,
    name: &str,
    params: &Params,
) -> Result<Response<Body>, OdpsError> {
    let p = find_project(catalog, name)?;
    let all = params.get("properties").map(String::as_str) == Some("all");
    let mut resp = xml(project_xml(shared, p, all));
    set_header(&mut resp, "x-odps-owner", &shared.config.owner);
    set_header(&mut resp, "x-odps-creation-time", &rfc1123(p.created));
    set_header(&mut resp, "last-modified", &rfc1123(p.created));
    Ok(resp)
}

fn schema_xml(shared: &Shared, p: &super::catalog::Project, s: &str) -> String {
    format!(
        "<Schema><Name>{}</Name><Project>{}</Project><Comment></Comment><Type>MANAGED</Type><CreateTime>{}</CreateTime><ModifiedTime>{}</ModifiedTime><Owner>{}</Owner></Schema>",
        esc(s),
        esc(&p.name),
        p.created,
        p.created,
        esc(&shared.config.owner)
    )
}

fn schemas_enabled(p: &super::catalog::Project) -> Result<(), OdpsError> {
    if p.three_tier {
        Ok(())
    } else {
        Err(OdpsError::new(
            400,
            "InvalidParameter",
            format!(
                "ODPS-0420111:Invalid parameter - project {} does not use schemas",
                p.name
            ),
        ))
    }
}

/// `GET /projects/{p}/schemas` and `/projects/{p}/schemas/{s}`.
pub fn schemas(
    shared: &Shared,
    catalog: &Catalog,
    project: &str,
    one: Option<&str>,
    params: &Params,
) -> Result<Response<Body>, OdpsError> {
    let p = find_project(catalog, project)?;
    schemas_enabled(p)?;
    if let Some(s) = one {
        let s = s.to_ascii_lowercase();
        if !p.schemas.contains(&s) {
            return Err(OdpsError::new(
                404,
                "NoSuchSchema",
                format!("ODPS-0110061:Schema not found - {}.{s}", p.name),
            ));
        }
        return Ok(xml(schema_xml(shared, p, &s)));
    }
    let prefix = params.get("name").cloned().unwrap_or_default();
    let mut names: Vec<&String> = p
        .schemas
        .iter()
        .filter(|s| s.starts_with(&prefix))
        .collect();
    names.sort();
    let items = names
        .into_iter()
        .map(|s| (s.clone(), schema_xml(shared, p, s)))
        .collect();
    let (chosen, marker) = page(items, params)?;
    Ok(xml(format!(
        "<Schemas>{}<Marker>{marker}</Marker><MaxItems>{}</MaxItems></Schemas>",
        chosen.concat(),
        chosen.len()
    )))
}

/// The schema a table request addresses: the path's, else `curr_schema`,
/// else `default`.
pub fn schema_of(path_schema: Option<&str>, params: &Params) -> String {
    path_schema
        .map(str::to_string)
        .or_else(|| params.get("curr_schema").cloned())
        .unwrap_or_else(|| DEFAULT_SCHEMA.into())
        .to_ascii_lowercase()
}

fn columns_json(cols: &[Column]) -> Vec<serde_json::Value> {
    cols.iter()
        .map(|c| {
            json!({"name": c.name, "type": c.ty.to_string(), "comment": c.comment,
                   "label": "", "isNullable": true})
        })
        .collect()
}

fn schema_json(shared: &Shared, t: &Table) -> String {
    json!({
        "tableName": t.spec.id.name,
        "comment": t.spec.comment,
        "owner": shared.config.owner,
        "createTime": t.created,
        "lastModifiedTime": t.created,
        "lastDDLTime": t.created,
        "lastAccessTime": t.created,
        "isVirtualView": false,
        "isMaterializedView": false,
        "isExternal": false,
        "lifecycle": -1,
        "columns": columns_json(&t.spec.columns),
        "partitionKeys": columns_json(&t.spec.partition_keys),
    })
    .to_string()
}

fn table_xml(shared: &Shared, t: &Table, with_schema: bool) -> String {
    let id = &t.spec.id;
    let schema = if with_schema {
        format!("<Schema>{}</Schema>", cdata(&schema_json(shared, t)))
    } else {
        String::new()
    };
    format!(
        "<Table><Name>{}</Name><TableId>{}</TableId><Comment>{}</Comment><Owner>{}</Owner><Project>{}</Project><SchemaName>{}</SchemaName><Type>MANAGED_TABLE</Type><CreationTime>{}</CreationTime><LastModifiedTime>{}</LastModifiedTime>{schema}</Table>",
        esc(&id.name),
        esc(&format!("{}.{}.{}", id.project, id.schema, id.name)),
        esc(&t.spec.comment),
        esc(&shared.config.owner),
        esc(&id.project),
        esc(&id.schema),
        rfc1123(t.created),
        rfc1123(t.created)
    )
}

/// `GET /projects/{p}/tables`.
pub fn tables(
    shared: &Shared,
    catalog: &Catalog,
    project: &str,
    schema: &str,
    params: &Params,
) -> Result<Response<Body>, OdpsError> {
    let p = find_project(catalog, project)?;
    if schema != DEFAULT_SCHEMA && !p.schemas.iter().any(|s| s == schema) {
        return Err(OdpsError::new(
            404,
            "NoSuchSchema",
            format!("ODPS-0110061:Schema not found - {}.{schema}", p.name),
        ));
    }
    let prefix = params.get("name").cloned().unwrap_or_default();
    let extended = params.contains_key("extended");
    let items = catalog
        .tables_in(&p.name, schema)
        .filter(|t| t.spec.id.name.starts_with(&prefix))
        .map(|t| (t.spec.id.name.clone(), table_xml(shared, t, extended)))
        .collect();
    let (chosen, marker) = page(items, params)?;
    Ok(xml(format!(
        "<Tables>{}<Marker>{marker}</Marker><MaxItems>{}</MaxItems></Tables>",
        chosen.concat(),
        chosen.len()
    )))
}

/// Look up a table or answer `NoSuchObject` / table not found.
pub fn find_table<'a>(catalog: &'a Catalog, id: &TableId) -> Result<&'a Table, OdpsError> {
    find_project(catalog, &id.project)?;
    catalog.tables.get(id).ok_or_else(|| {
        OdpsError::not_found(format!(
            "ODPS-0130131:Table not found - table {}.{} cannot be resolved",
            id.project, id.name
        ))
    })
}

/// Parse a partition spec `k1='v1',k2='v2'` (quotes optional).
fn parse_spec(spec: &str) -> Vec<(String, String)> {
    spec.split([',', '/'])
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches(['\'', '"']).to_string(),
            )
        })
        .collect()
}

fn matches_spec(p: &Partition, wanted: &[(String, String)]) -> bool {
    wanted.iter().all(|w| p.values.contains(w))
}

/// One `<Partition>` of a listing; `stats` adds `PartitionSize` and
/// `PartitionRecordCount` (a server without statistics leaves them out).
fn partition_xml(p: &Partition, stats: bool) -> String {
    let cols: String = p
        .values
        .iter()
        .map(|(k, v)| format!("<Column Name=\"{}\" Value=\"{}\"/>", esc(k), esc(v)))
        .collect();
    let stats = if stats {
        format!(
            "<PartitionSize>{}</PartitionSize><PartitionRecordCount>{}</PartitionRecordCount>",
            p.size, p.records
        )
    } else {
        String::new()
    };
    format!(
        "<Partition>{cols}<CreationTime>{c}</CreationTime><LastDDLTime>{c}</LastDDLTime><LastModifiedTime>{c}</LastModifiedTime>{stats}</Partition>",
        c = p.created
    )
}

/// `GET /projects/{p}/tables/{t}` with its flags: plain (schema),
/// `?partitions` (list), `?partition=spec` (one partition).
pub fn table(
    shared: &Shared,
    catalog: &Catalog,
    id: &TableId,
    params: &Params,
) -> Result<Response<Body>, OdpsError> {
    let t = find_table(catalog, id)?;
    if params.contains_key("partitions") {
        let wanted = params
            .get("partition")
            .map(|s| parse_spec(s))
            .unwrap_or_default();
        let mut items: Vec<(String, String)> = t
            .partitions
            .values()
            .filter(|p| matches_spec(p, &wanted))
            .map(|p| {
                (
                    p.spec(),
                    partition_xml(p, !shared.faults.partition_stats_hidden()),
                )
            })
            .collect();
        if params.contains_key("reverse") {
            items.reverse();
        }
        let (chosen, marker) = if params.contains_key("reverse") {
            // Markers compare by key; in reverse order page by position.
            let rest: Vec<(String, String)> = items
                .into_iter()
                .enumerate()
                .map(|(i, (_, x))| (format!("{i:010}"), x))
                .collect();
            page(rest, params)?
        } else {
            page(items, params)?
        };
        return Ok(xml(format!(
            "<Partitions>{}<Marker>{marker}</Marker><MaxItems>{}</MaxItems></Partitions>",
            chosen.concat(),
            chosen.len()
        )));
    }
    if let Some(spec) = params.get("partition") {
        let wanted = parse_spec(spec);
        let p = t
            .partitions
            .values()
            .find(|p| p.values == wanted)
            .ok_or_else(|| {
                OdpsError::new(
                    404,
                    "NoSuchPartition",
                    format!("ODPS-0130131:Partition not found - {spec}"),
                )
            })?;
        let meta = json!({"createTime": p.created, "lastDDLTime": p.created,
                          "lastModifiedTime": p.created, "lastAccessTime": p.created});
        return Ok(xml(format!(
            "<Partition><Schema>{}</Schema></Partition>",
            cdata(&meta.to_string())
        )));
    }
    Ok(xml(table_xml(shared, t, true)))
}
