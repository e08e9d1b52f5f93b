//! The instance-create body (`<Instance><Job>…</Job></Instance>`, protocol
//! doc §4.1): parsing it, and rendering the `<Job>` back for `?source`.
//!
//! It does not run anything. The one idea: keep every `Config` property
//! the client sent (the `settings` JSON decoded into a map), so tests can
//! assert exactly which flags a client put on a query.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::reply::{cdata, esc};

/// The kind of task, named by its XML element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// `<SQL>`: run the query.
    Sql,
    /// `<SQLCost>`: estimate it.
    SqlCost,
}

impl TaskKind {
    /// The element name and `Type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Sql => "SQL",
            TaskKind::SqlCost => "SQLCost",
        }
    }
}

/// A submitted job with its one task.
#[derive(Debug, Clone)]
pub struct Job {
    /// `<Job><Name>`, often empty.
    pub name: String,
    /// `<Priority>`.
    pub priority: String,
    /// Task kind.
    pub kind: TaskKind,
    /// Task name, e.g. `AnonymousSQLTask`.
    pub task_name: String,
    /// The SQL text as sent.
    pub query: String,
    /// The decoded `settings` property.
    pub settings: BTreeMap<String, String>,
    /// Every `Config` property as sent, in order.
    pub properties: Vec<(String, String)>,
}

/// Why a body is not a job the emulator runs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadJob(pub String);

/// Parse an instance-create body.
pub fn parse(body: &str) -> Result<Job, BadJob> {
    let mut reader = Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut job = Job {
        name: String::new(),
        priority: "9".into(),
        kind: TaskKind::Sql,
        task_name: String::new(),
        query: String::new(),
        settings: BTreeMap::new(),
        properties: Vec::new(),
    };
    let mut kind: Option<TaskKind> = None;
    let mut prop = (String::new(), String::new());
    loop {
        let event = reader
            .read_event()
            .map_err(|e| BadJob(format!("invalid XML: {e}")))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.len() == 3 && path[2] == "Tasks" {
                    kind = Some(match name.as_str() {
                        "SQL" => TaskKind::Sql,
                        "SQLCost" => TaskKind::SqlCost,
                        other => return Err(BadJob(format!("task type {other} is not supported"))),
                    });
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| BadJob(e.to_string()))?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| BadJob(e.to_string()))?),
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    let name = r.decode().map_err(|e| BadJob(e.to_string()))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(String::from)
                };
                text.push_str(&resolved.ok_or_else(|| BadJob("unknown entity".into()))?);
            }
            Event::End(_) => {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                match p.as_slice() {
                    ["Instance", "Job", "Name"] => job.name = text.clone(),
                    ["Instance", "Job", "Priority"] => job.priority = text.clone(),
                    ["Instance", "Job", "Tasks", _, "Name"] => job.task_name = text.clone(),
                    ["Instance", "Job", "Tasks", _, "Query"] => job.query = text.clone(),
                    ["Instance", "Job", "Tasks", _, "Config", "Property", "Name"] => {
                        prop.0 = text.clone()
                    }
                    ["Instance", "Job", "Tasks", _, "Config", "Property", "Value"] => {
                        prop.1 = text.clone()
                    }
                    ["Instance", "Job", "Tasks", _, "Config", "Property"] => {
                        job.properties.push(std::mem::take(&mut prop))
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    job.kind = kind.ok_or_else(|| BadJob("the job has no task".into()))?;
    if let Some((_, json)) = job.properties.iter().find(|(n, _)| n == "settings") {
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| BadJob(format!("settings is not a JSON object: {e}")))?;
        job.settings = map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
    }
    Ok(job)
}

/// The status a terminate body (`<Instance><Status>…</Status></Instance>`)
/// asks for, or `None` when the body is not that shape.
pub fn requested_status(body: &str) -> Option<String> {
    let mut reader = Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut status = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => path.push(String::from_utf8_lossy(e.name().as_ref()).into_owned()),
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) if path == ["Instance", "Status"] => {
                status = Some(t.decode().ok()?.trim().to_string());
            }
            Event::Eof => return status,
            _ => {}
        }
    }
}

/// The `<Job>` XML served by `?source`.
pub fn render(job: &Job) -> String {
    let props: String = job
        .properties
        .iter()
        .map(|(n, v)| {
            format!(
                "<Property><Name>{}</Name><Value>{}</Value></Property>",
                esc(n),
                esc(v)
            )
        })
        .collect();
    let kind = job.kind.as_str();
    format!(
        "<Job><Name>{}</Name><Priority>{}</Priority><Tasks><{kind}><Name>{}</Name><Config>{props}</Config><Query>{}</Query></{kind}></Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job>",
        esc(&job.name),
        esc(&job.priority),
        esc(&job.task_name),
        cdata(&job.query)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_pyodps_style_body() {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<Instance><Job><Priority>9</Priority><Tasks><SQL><Name>AnonymousSQLTask</Name><Config>
<Property><Name>settings</Name><Value>{"odps.sql.allow.fullscan": "false", "n": 1}</Value></Property>
<Property><Name>uuid</Name><Value>u-1</Value></Property></Config>
<Query><![CDATA[select a &amp; b from t;]]></Query></SQL></Tasks><DAG><RunMode>Sequence</RunMode></DAG></Job></Instance>"#;
        let job = parse(body).expect("job");
        assert_eq!(job.kind, TaskKind::Sql);
        assert_eq!(job.task_name, "AnonymousSQLTask");
        assert_eq!(job.query, "select a &amp; b from t;");
        assert_eq!(job.settings["odps.sql.allow.fullscan"], "false");
        assert_eq!(job.settings["n"], "1");
        assert_eq!(job.properties[1], ("uuid".to_string(), "u-1".to_string()));
        let again = parse(&format!("<Instance>{}</Instance>", render(&job))).expect("round trip");
        assert_eq!(again.query, job.query);
        assert_eq!(again.settings, job.settings);
    }

    #[test]
    fn entities_in_text_are_decoded() {
        let body = "<Instance><Job><Tasks><SQLCost><Name>c</Name><Query>select 1 &lt; 2 &#38; x</Query></SQLCost></Tasks></Job></Instance>";
        let job = parse(body).expect("job");
        assert_eq!(job.kind, TaskKind::SqlCost);
        assert_eq!(job.query, "select 1 < 2 & x");
    }

    #[test]
    fn terminate_bodies() {
        let body = "<?xml version=\"1.0\"?>\n<Instance><Status>Terminated</Status></Instance>";
        assert_eq!(requested_status(body).as_deref(), Some("Terminated"));
        assert_eq!(
            requested_status("<Instance><Job><Status>Terminated</Status></Job></Instance>"),
            None
        );
        assert_eq!(requested_status("<Instance"), None);
    }

    #[test]
    fn unknown_task_types_are_refused() {
        assert!(parse(
            "<Instance><Job><Tasks><SQLRT><Name>x</Name></SQLRT></Tasks></Job></Instance>"
        )
        .is_err());
    }
}
