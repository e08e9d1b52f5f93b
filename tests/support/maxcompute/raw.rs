//! A raw signing HTTP client and a minimal tunnel reader, for tests that
//! talk to the emulator below any SDK (shapes, faults, signatures).
//!
//! It is not sqlwarden's MaxCompute client and must never become one: it
//! signs with the emulator's own canonical-string builder (proven by the
//! SDK vectors and pyodps), sends exactly what a test writes, and asserts
//! nothing about the product. The tunnel reader is independent of the
//! emulator's encoder (it recomputes tags, zig-zag values and CRC32C).

use std::time::Duration;

use super::auth::{sign_v2, v4_key, SignedParts};
use super::router::parse_query;
use super::{fixture, EmulatorHandle};

/// A raw signing client for one emulator.
pub struct Raw {
    /// The HTTP client (no proxy).
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT` (paths carry `/api` for the service plane).
    pub base: String,
    /// AccessKeyId to sign with.
    pub ak: String,
    /// Secret to sign with.
    pub sk: String,
    /// STS token to send, if any.
    pub token: Option<String>,
    /// Sign V4 for this region instead of V2.
    pub v4_region: Option<String>,
    /// A fixed `Date` header (for skew tests); now when `None`.
    pub date: Option<String>,
}

/// A response, fully read.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The text of the first `<name>` element (CDATA unwrapped), empty
    /// when absent. Enough for asserting on the service's flat XML.
    pub fn xml_field(&self, name: &str) -> String {
        let text = self.text();
        // The element may carry attributes (`<Result Format="csv">`).
        let start = [format!("<{name}>"), format!("<{name} ")]
            .iter()
            .filter_map(|open| text.find(open.as_str()))
            .min()
            .and_then(|i| text[i..].find('>').map(|j| i + j + 1));
        let end = text.find(&format!("</{name}>"));
        match (start, end) {
            (Some(s), Some(e)) if e >= s => text[s..e]
                .trim_start_matches("<![CDATA[")
                .trim_end_matches("]]>")
                .to_string(),
            _ => String::new(),
        }
    }

    /// `<Code>` of an error body.
    pub fn error_code(&self) -> String {
        self.xml_field("Code")
    }
}

impl Raw {
    /// A client signing V2 with the fixture's permanent key.
    pub fn new(emu: &EmulatorHandle) -> Raw {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Raw {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            base: emu.tunnel_endpoint(),
            ak: fixture::AK.into(),
            sk: fixture::SK.into(),
            token: None,
            v4_region: None,
            date: None,
        }
    }

    /// `path` starts with `/api/...` (service) or `/projects/...` (tunnel).
    pub async fn call(&self, method: &str, path: &str, query: &str, body: &str) -> Reply {
        let date = self.date.clone().unwrap_or_else(|| {
            chrono::Utc::now()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        });
        let content_type = if body.is_empty() {
            ""
        } else {
            "application/xml"
        };
        let mut headers = vec![
            ("date".to_string(), date.clone()),
            (
                "x-odps-user-agent".to_string(),
                "sqlwarden-emulator-test".to_string(),
            ),
        ];
        if !content_type.is_empty() {
            headers.push(("content-type".into(), content_type.into()));
        }
        let resource = path
            .strip_prefix("/api")
            .unwrap_or(path)
            .replace("%20", " ");
        let params = parse_query(query);
        let canonical = SignedParts {
            method,
            resource: &resource,
            params: &params,
            headers: &headers,
        }
        .canonical_string();
        let auth = match &self.v4_region {
            None => format!("ODPS {}:{}", self.ak, sign_v2(&self.sk, &canonical)),
            Some(region) => {
                let day = chrono::Utc::now().format("%Y%m%d").to_string();
                let key = v4_key(&self.sk, &day, region);
                use base64::Engine as _;
                use hmac::Mac as _;
                let mut mac =
                    <hmac::Hmac<sha1::Sha1> as hmac::Mac>::new_from_slice(&key).expect("key");
                mac.update(canonical.as_bytes());
                let sig =
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
                format!(
                    "ODPS {}/{day}/{region}/odps/aliyun_v4_request:{sig}",
                    self.ak
                )
            }
        };
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let mut req = self
            .http
            .request(method.parse().expect("method"), url)
            .header("date", date)
            .header("x-odps-user-agent", "sqlwarden-emulator-test")
            .header("authorization", auth);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        if let Some(t) = &self.token {
            req = req.header("authorization-sts-token", t);
        }
        let resp = req.body(body.to_string()).send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path?query`.
    pub async fn get(&self, path: &str, query: &str) -> Reply {
        self.call("GET", path, query, "").await
    }

    /// Submit a SQL (or SQLCost) task; returns the instance id.
    pub async fn submit(&self, task: &str, sql: &str, settings: &str) -> String {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Instance><Job><Priority>9</Priority><Tasks><{task}><Name>Anonymous{task}Task</Name><Config><Property><Name>settings</Name><Value>{}</Value></Property></Config><Query><![CDATA[{sql}]]></Query></{task}></Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job></Instance>",
            quick_xml::escape::escape(settings)
        );
        let r = self
            .call(
                "POST",
                "/api/projects/demo/instances",
                "curr_project=demo",
                &body,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert!(r.body.is_empty());
        let location = r.headers["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(location.starts_with(&format!("{}/api/projects/demo/instances/", self.base)));
        location.rsplit('/').next().expect("id").to_string()
    }

    /// Poll until the instance terminates; returns the task status.
    pub async fn wait(&self, id: &str) -> String {
        let path = format!("/api/projects/demo/instances/{id}");
        for _ in 0..200 {
            let r = self.get(&path, "instancestatus").await;
            assert_eq!(r.status, 200, "{}", r.text());
            if r.xml_field("Status") == "Terminated" {
                let t = self.get(&path, "taskstatus").await;
                let text = t.text();
                let tasks = &text[text.find("<Tasks>").expect("tasks")..];
                let start = tasks.find("<Status>").expect("status") + 8;
                let end = tasks[start..].find('<').expect("end") + start;
                return tasks[start..end].to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("instance {id} never terminated");
    }

    /// `GET …/instances/{id}?result` in project `demo`.
    pub async fn result(&self, id: &str) -> Reply {
        self.get(&format!("/api/projects/demo/instances/{id}"), "result")
            .await
    }

    /// Run `sql` in `demo` to the end: `(task status, result text)`.
    pub async fn query(&self, sql: &str, settings: &str) -> (String, String) {
        let id = self.submit("SQL", sql, settings).await;
        let status = self.wait(&id).await;
        (status, self.result(&id).await.xml_field("Result"))
    }
}

/// One decoded record: `(field index, raw value)` per non-NULL column.
pub type StreamRow = Vec<(u32, Vec<u8>)>;

/// A minimal, independent tunnel reader for integer (`i`), string (`s`)
/// and timestamp (`t`) columns: each row is `(field index, raw value)` pairs; a broken
/// stream is an error naming what broke (`truncated`, `checksum`, …).
pub fn read_stream(bytes: &[u8], kinds: &[char]) -> Result<Vec<StreamRow>, String> {
    let mut pos = 0;
    let varint = |pos: &mut usize| -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *bytes.get(*pos).ok_or("truncated")?;
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("bad varint".into())
    };
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut crc = 0u32;
    let mut crccrc = 0u32;
    loop {
        let tag = varint(&mut pos)?;
        let field = (tag >> 3) as u32;
        match field {
            33_553_408 => {
                let sent = varint(&mut pos)? as u32;
                if sent != crc {
                    return Err("checksum".into());
                }
                crccrc = crc32c::crc32c_append(crccrc, &crc.to_le_bytes());
                crc = 0;
                rows.push(std::mem::take(&mut row));
            }
            33_554_430 => {
                let n = varint(&mut pos)?;
                if (n >> 1) as usize != rows.len() {
                    return Err("count".into());
                }
                let tag = varint(&mut pos)?;
                if (tag >> 3) != 33_554_431 || varint(&mut pos)? as u32 != crccrc {
                    return Err("checksum of checksums".into());
                }
                return Ok(rows);
            }
            i => {
                crc = crc32c::crc32c_append(crc, &(i as i32).to_le_bytes());
                let kind = kinds[(i - 1) as usize];
                let zigzag = |z: u64| ((z >> 1) as i64) ^ -((z & 1) as i64);
                let raw = if kind == 'i' {
                    let v = zigzag(varint(&mut pos)?);
                    crc = crc32c::crc32c_append(crc, &v.to_le_bytes());
                    v.to_le_bytes().to_vec()
                } else if kind == 't' {
                    // Timestamp: sint64 seconds, then sint32 nanoseconds.
                    let secs = zigzag(varint(&mut pos)?);
                    let nanos = zigzag(varint(&mut pos)?) as i32;
                    crc = crc32c::crc32c_append(crc, &secs.to_le_bytes());
                    crc = crc32c::crc32c_append(crc, &nanos.to_le_bytes());
                    [secs.to_le_bytes().to_vec(), nanos.to_le_bytes().to_vec()].concat()
                } else {
                    let len = varint(&mut pos)? as usize;
                    let b = bytes.get(pos..pos + len).ok_or("truncated")?.to_vec();
                    pos += len;
                    crc = crc32c::crc32c_append(crc, &b);
                    b
                };
                row.push((i, raw));
            }
        }
    }
}

/// Open a tunnel download session for instance `id` of `demo`:
/// `(reply, download id)`, the id empty when refused.
pub async fn open_session(c: &Raw, id: &str) -> (Reply, String) {
    let path = format!("/projects/demo/instances/{id}");
    let r = c
        .call("POST", &path, "downloads&curr_project=demo", "")
        .await;
    let download_id = serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|j| j["DownloadID"].as_str().map(String::from))
        .unwrap_or_default();
    (r, download_id)
}

/// Read a session's records for `range` (`(start,count)`).
pub async fn stream(c: &Raw, id: &str, download_id: &str, range: &str) -> Reply {
    c.get(
        &format!("/projects/demo/instances/{id}"),
        &format!("downloadid={download_id}&rowrange={range}&data=&curr_project=demo"),
    )
    .await
}
