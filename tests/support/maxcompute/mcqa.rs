//! MaxQA (MCQA 2.0): the connection lookup (`GET /connection/mcqa`), the
//! quota lookup (`GET /quotas/{q}?version=wlm`, the value in the
//! `x-odps-mcqa-conn` response header), and job submission on
//! `/mcqa/projects/{p}/instances` with that header and the optional
//! `x-odps-fallback-infos` (docs/maxcompute-maxqa.md §2).
//!
//! Status views, cancel and results are `instances.rs`, on the same
//! instances. The one idea: a connection value names its quota and the
//! generation it was handed out in, so a test can expire every connection
//! at once and see the client look up a fresh one.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::json;

use super::instances::{self, Mode};
use super::job::Job;
use super::reply::{esc, respond, set_header, xml, OdpsError};
use super::Shared;

/// The task failure of a MaxQA job MaxQA cannot run, without fallback.
pub const UNSUPPORTED_FAILURE: &str =
    "ODPS-1850001:MaxQA does not support this query - run it offline or allow fallback";

fn conn_value(quota: &str, generation: u32) -> String {
    BASE64.encode(format!("mcqa-conn:{quota}:{generation}"))
}

/// The quota a `x-odps-mcqa-conn` value names, if it is current.
fn conn_quota(shared: &Shared, value: &str) -> Result<String, OdpsError> {
    let refused = |why: &str| {
        OdpsError::new(
            400,
            "InvalidParameter",
            format!("ODPS-0420031:Invalid parameter - x-odps-mcqa-conn {why}; look the connection up again"),
        )
    };
    let text = BASE64
        .decode(value.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| refused("is malformed"))?;
    let mut parts = text.splitn(3, ':');
    let (Some("mcqa-conn"), Some(quota), Some(generation)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(refused("is malformed"));
    };
    if generation != shared.faults.mcqa_conn_generation().to_string() {
        return Err(refused("has expired"));
    }
    Ok(quota.to_string())
}

/// The interactive quota `nickname` (or the default), or why not.
fn interactive_quota(shared: &Shared, nickname: Option<&str>) -> Result<String, OdpsError> {
    let nickname = match nickname.filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => shared.config.default_mcqa_quota.clone().ok_or_else(|| {
            OdpsError::not_found(
                "ODPS-0420111:Quota not found - the project has no default MaxQA connection",
            )
        })?,
    };
    match shared.config.quotas.get(&nickname) {
        None => Err(OdpsError::not_found(format!(
            "ODPS-0420111:Quota not found - {nickname}"
        ))),
        Some(false) => Err(OdpsError::new(
            400,
            "InvalidParameter",
            format!(
                "ODPS-0420031:Invalid parameter - quota {nickname} is not an interactive quota"
            ),
        )),
        Some(true) => Ok(nickname),
    }
}

/// `GET /connection/mcqa?project=p[&quota=q]`.
pub fn connection(shared: &Shared, quota: Option<&str>) -> Result<Response<Body>, OdpsError> {
    if shared.faults.connection_api_is_missing() {
        return Err(OdpsError::new(
            405,
            "MethodNotAllowed",
            "ODPS-0420041:Method not allowed - the connection API is not available on this server",
        ));
    }
    let quota = interactive_quota(shared, quota)?;
    let body = json!({
        "connInfo": conn_value(&quota, shared.faults.mcqa_conn_generation()),
        "quotaNickName": quota,
        "quotaType": "FUXI_VW",
        "regionId": shared.config.region,
    });
    Ok(respond(
        200,
        "application/json",
        body.to_string().into_bytes(),
    ))
}

/// `GET /quotas/{q}?project=p&version=wlm`: the quota document, with the
/// connection value in `x-odps-mcqa-conn` for an interactive quota.
pub fn quota(shared: &Shared, nickname: &str) -> Result<Response<Body>, OdpsError> {
    let interactive = *shared.config.quotas.get(nickname).ok_or_else(|| {
        OdpsError::not_found(format!("ODPS-0420111:Quota not found - {nickname}"))
    })?;
    let kind = if interactive {
        "FUXI_VW"
    } else {
        "FUXI_OFFLINE"
    };
    let mut resp = xml(format!(
        "<Quota><Name>{n}</Name><Nickname>{n}</Nickname><ID>{n}</ID><IsEnabled>true</IsEnabled><ResourceSystemType>{kind}</ResourceSystemType><Status>ON</Status><TenantId>1</TenantId><Region>{}</Region></Quota>",
        esc(&shared.config.region),
        n = esc(nickname),
    ));
    if interactive {
        let value = conn_value(nickname, shared.faults.mcqa_conn_generation());
        set_header(&mut resp, "x-odps-mcqa-conn", &value);
    }
    Ok(resp)
}

/// `POST /mcqa/projects/{p}/instances`: check the connection, then run the
/// job on MaxQA, or offline when MaxQA cannot and the client allowed it.
pub fn submit(
    shared: &Arc<Shared>,
    project: &str,
    job: Job,
    headers: &[(String, String)],
) -> Result<Response<Body>, OdpsError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let conn = header("x-odps-mcqa-conn").ok_or_else(|| {
        OdpsError::new(
            400,
            "InvalidParameter",
            "ODPS-0420031:Invalid parameter - x-odps-mcqa-conn is required on /mcqa",
        )
    })?;
    let quota = conn_quota(shared, conn)?;
    if shared.faults.take_mcqa_refusal() {
        return Err(OdpsError::new(
            400,
            "InvalidParameter",
            format!("ODPS-1830001:MaxQA quota {quota} cannot accept queries now"),
        ));
    }
    let fallback: Option<serde_json::Value> = header("x-odps-fallback-infos")
        .and_then(|text| serde_json::from_str(text).ok())
        .filter(|v: &serde_json::Value| v["Fallback"] == "true");
    if shared.faults.mcqa_is_unsupported() {
        return Ok(match fallback {
            Some(info) => {
                let quota = info["FallbackQuota"]
                    .as_str()
                    .or_else(|| info["FallBackQuota"].as_str())
                    .unwrap_or_default()
                    .to_string();
                instances::create(shared, project, job, Mode::FellBack { quota }, None)
            }
            None => {
                let mode = Mode::Maxqa {
                    quota,
                    cookie: new_cookie(),
                };
                instances::create(shared, project, job, mode, Some(UNSUPPORTED_FAILURE.into()))
            }
        });
    }
    let mode = Mode::Maxqa {
        quota,
        cookie: new_cookie(),
    };
    Ok(instances::create(shared, project, job, mode, None))
}

fn new_cookie() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
