//! The HTTP front: one handler that, per request, applies faults, checks
//! the signature, dispatches by plane, method and path, and records what
//! happened.
//!
//! It holds no business logic: metadata is `meta.rs`, instances
//! `instances.rs`, records `tunnel.rs`. The one idea: routing is done by
//! hand on the decoded path segments and the bare query flags
//! (`?partitions`, `?taskstatus`, `?downloads`), because that is how the
//! service distinguishes resources, and because the signature needs the
//! raw request anyway.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, Response};
use axum::Router;

use super::auth::{SignedParts, Verifier};
use super::catalog::TableId;
use super::instances::{Mode, Plane};
use super::reply::{respond, OdpsError};
use super::tunnel::{self, Damage};
use super::{instances, job, lock, mcqa, meta, RecordedRequest, Shared};

/// The largest request body accepted (instance XML is small).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// The axum app serving both planes.
pub fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Percent-decode (no `+` to space: pyodps's `unquote` does not do that).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded query parameters; a bare flag has an empty value; the last of
/// duplicate names wins (as pyodps and Java sign them).
pub fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response<Body> {
    let received = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let (tunnel, rel) = match raw_path.strip_prefix("/api") {
        Some(r) if r.is_empty() || r.starts_with('/') => (false, r.to_string()),
        _ => (true, raw_path.clone()),
    };
    let resource = percent_decode(&rel);
    let params = parse_query(&raw_query);
    let verdict = shared.faults.verdict(&format!("{raw_path}?{raw_query}"));
    if let Some(delay) = verdict.delay {
        tokio::time::sleep(delay).await;
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return OdpsError::invalid("ODPS-0420031:Invalid argument - body too large")
                .into_response()
        }
    };
    let mut signature = None;
    let response = if let Some(err) = verdict.error {
        err.into_response()
    } else {
        let verifier = Verifier {
            credentials: &shared.config.credentials,
            region: &shared.config.region,
            now: chrono::Utc::now(),
        };
        let signed = SignedParts {
            method: parts.method.as_str(),
            resource: &resource,
            params: &params,
            headers: &headers,
        };
        match verifier.verify(&signed) {
            Err(e) => {
                let (code, status) = e.code_and_status();
                OdpsError::new(status, code, e.to_string()).into_response()
            }
            Ok(auth) => {
                signature = Some(auth.version);
                let segments: Vec<String> = rel
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(percent_decode)
                    .collect();
                if !tunnel && parts.method == Method::GET && params.contains_key("instancestatus") {
                    if let [.., instances, id] = segments.as_slice() {
                        if instances == "instances" {
                            hold(&shared, id).await;
                        }
                    }
                }
                let route = Route {
                    shared: &shared,
                    method: &parts.method,
                    segments: &segments,
                    params: &params,
                    headers: &headers,
                    body: &String::from_utf8_lossy(&body),
                };
                let result = if tunnel {
                    route.tunnel()
                } else {
                    route.service()
                };
                result.unwrap_or_else(OdpsError::into_response)
            }
        }
    };
    lock(&shared.requests).push(RecordedRequest {
        method: parts.method.to_string(),
        tunnel,
        path: resource,
        params,
        headers: headers
            .into_iter()
            .filter(|(n, _)| n != "authorization")
            .collect(),
        signature,
        status: response.status().as_u16(),
        handled_in: received.elapsed(),
    });
    response
}

/// Hold a `?instancestatus` request while instance `id` runs, at most the
/// configured hold: the service answers as soon as the job ends.
async fn hold(shared: &Shared, id: &str) {
    let deadline = tokio::time::Instant::now() + shared.config.status_hold;
    loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if !instances::is_running(shared, id) {
            return;
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            return;
        }
    }
}

struct Route<'a> {
    shared: &'a Arc<Shared>,
    method: &'a Method,
    segments: &'a [String],
    params: &'a BTreeMap<String, String>,
    headers: &'a [(String, String)],
    body: &'a str,
}

impl Route<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn job(&self) -> Result<job::Job, OdpsError> {
        job::parse(self.body).map_err(|e| {
            OdpsError::invalid(format!("ODPS-0420031:Invalid xml in the request - {e}"))
        })
    }
}

fn no_such_resource() -> OdpsError {
    OdpsError::not_found("ODPS-0420111:Resource not found - the emulator does not serve this path")
}

impl Route<'_> {
    fn service(&self) -> Result<Response<Body>, OdpsError> {
        let shared = self.shared;
        let seg: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let params = self.params;
        let catalog = || lock(&shared.catalog);
        match (self.method.clone(), seg.as_slice()) {
            (Method::GET, ["logview" | "webconsole", "host"]) => Ok(respond(
                200,
                "text/plain",
                format!("http://{}/logview", shared.addr).into_bytes(),
            )),
            (Method::GET, ["tenants"]) => Ok(meta::tenant(shared)),
            (Method::GET, ["projects"]) => meta::projects(shared, &catalog(), params),
            (Method::GET, ["projects", p]) => meta::project(shared, &catalog(), p, params),
            (Method::PUT, ["projects", p, "logs"]) => {
                meta::find_project(&catalog(), p)?;
                Ok(respond(200, "application/xml", Vec::new()))
            }
            (Method::GET, ["projects", p, "schemas"]) => {
                meta::schemas(shared, &catalog(), p, None, params)
            }
            (Method::GET, ["projects", p, "schemas", s]) => {
                meta::schemas(shared, &catalog(), p, Some(s), params)
            }
            (Method::GET, ["projects", p, "tables"]) => meta::tables(
                shared,
                &catalog(),
                p,
                &meta::schema_of(None, params),
                params,
            ),
            (Method::GET, ["projects", p, "schemas", s, "tables"]) => meta::tables(
                shared,
                &catalog(),
                p,
                &meta::schema_of(Some(s), params),
                params,
            ),
            (Method::GET, ["projects", p, "tables", t]) => {
                let id = TableId::new(p, &meta::schema_of(None, params), t);
                meta::table(shared, &catalog(), &id, params)
            }
            (Method::GET, ["projects", p, "schemas", s, "tables", t]) => {
                let id = TableId::new(p, s, t);
                meta::table(shared, &catalog(), &id, params)
            }
            (Method::POST, ["projects", p, "instances"]) => {
                let project = meta::find_project(&catalog(), p)?.name.clone();
                let job = self.job()?;
                Ok(instances::create(
                    shared,
                    &project,
                    job,
                    Mode::Offline,
                    None,
                ))
            }
            (Method::GET, ["projects", p, "instances", id]) => {
                instances::view(shared, p, id, params, Plane::Offline)
            }
            (Method::PUT, ["projects", p, "instances", id]) => {
                instances::terminate(shared, p, id, self.body, Plane::Offline)
            }
            (Method::GET, ["connection", "mcqa"]) => {
                if let Some(p) = params.get("project") {
                    meta::find_project(&catalog(), p)?;
                }
                mcqa::connection(shared, params.get("quota").map(String::as_str))
            }
            (Method::GET, ["quotas", q]) => mcqa::quota(shared, q),
            (Method::POST, ["mcqa", "projects", p, "instances"]) => {
                let project = meta::find_project(&catalog(), p)?.name.clone();
                let job = self.job()?;
                mcqa::submit(shared, &project, job, self.headers)
            }
            (Method::GET, ["mcqa", "projects", p, "instances", id]) => {
                let plane = Plane::Maxqa {
                    cookie: self.header("x-odps-mcqa-query-cookie"),
                };
                instances::view(shared, p, id, params, plane)
            }
            (Method::PUT, ["mcqa", "projects", p, "instances", id]) => {
                let plane = Plane::Maxqa {
                    cookie: self.header("x-odps-mcqa-query-cookie"),
                };
                instances::terminate(shared, p, id, self.body, plane)
            }
            (Method::GET, ["projects", p, "tunnel"]) if params.contains_key("service") => {
                meta::find_project(&catalog(), p)?;
                Ok(respond(
                    200,
                    "text/plain",
                    shared.addr.to_string().into_bytes(),
                ))
            }
            _ => Err(no_such_resource()),
        }
    }

    fn tunnel(&self) -> Result<Response<Body>, OdpsError> {
        let shared = self.shared;
        let seg: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let params = self.params;
        match (self.method.clone(), seg.as_slice()) {
            (Method::POST, ["projects", p, "instances", id])
                if params.contains_key("downloads") =>
            {
                let (download_id, rows) = instances::open_download(shared, p, id)?;
                Ok(respond(
                    200,
                    "application/json",
                    tunnel::session_json(&download_id, &rows).into_bytes(),
                ))
            }
            (Method::GET, ["projects", p, "instances", id]) => {
                let download_id = params.get("downloadid").ok_or_else(no_such_resource)?;
                let rows = instances::download(shared, p, id, download_id)?;
                if !params.contains_key("data") {
                    return Ok(respond(
                        200,
                        "application/json",
                        tunnel::session_json(download_id, &rows).into_bytes(),
                    ));
                }
                self.record_stream(&rows)
            }
            _ => Err(no_such_resource()),
        }
    }

    fn record_stream(&self, rows: &super::exec::ResultSet) -> Result<Response<Body>, OdpsError> {
        let bad_range = || {
            OdpsError::invalid(
                "ODPS-0420031:Invalid argument - rowrange must be (start,count) within the result",
            )
        };
        let (start, count) = match self.params.get("rowrange") {
            Some(r) => {
                let inner = r
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad_range)?;
                let (s, c) = inner.split_once(',').ok_or_else(bad_range)?;
                let s: usize = s.trim().parse().map_err(|_| bad_range())?;
                let c: usize = c.trim().parse().map_err(|_| bad_range())?;
                (s, c)
            }
            None => (0, rows.rows.len()),
        };
        let end = start.checked_add(count).ok_or_else(bad_range)?;
        if end > rows.rows.len() {
            return Err(bad_range());
        }
        let selected: Vec<usize> = match self.params.get("columns").filter(|c| !c.is_empty()) {
            Some(names) => names
                .split(',')
                .map(|n| {
                    rows.columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(n.trim()))
                        .ok_or_else(|| {
                            OdpsError::invalid(format!(
                                "ODPS-0420031:Invalid argument - unknown column {n}"
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
            None => (0..rows.columns.len()).collect(),
        };
        let columns: Vec<_> = selected.iter().map(|&i| rows.columns[i].clone()).collect();
        let slice: Vec<Vec<_>> = rows.rows[start..end]
            .iter()
            .map(|r| selected.iter().map(|&i| r[i].clone()).collect())
            .collect();
        let (truncate, corrupt_crc) = self.shared.faults.tunnel_damage();
        let bytes = tunnel::encode(
            &columns,
            &slice,
            Damage {
                truncate,
                corrupt_crc,
            },
        );
        Ok(respond(200, "application/octet-stream", bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_keeps_bare_flags_and_last_duplicate() {
        let q = parse_query("partitions&expectmarker=true&curr_project=my%20proj&a=1&a=2&data=");
        assert_eq!(q["partitions"], "");
        assert_eq!(q["curr_project"], "my proj");
        assert_eq!(q["a"], "2");
        assert_eq!(q["data"], "");
        assert_eq!(percent_decode("%280%2C2%29+x%"), "(0,2)+x%");
    }
}
