use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::audit::{AuditRecord, Outcome, PolicyDecision};
use crate::config::Connection;
use crate::engine::{Safeguards, SharedEngine};
use crate::tools::tests::demo_policy;
use crate::tools::{AuditSink, EngineFactory};

/// Keeps records in memory so tests can read them back.
#[derive(Default)]
struct Recorded(Mutex<Vec<AuditRecord>>);

impl AuditSink for Recorded {
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

struct Unwritable;

impl AuditSink for Unwritable {
    fn append(&self, _: &mut AuditRecord) -> Result<(), AuditError> {
        Err(AuditError::Io {
            path: "audit".into(),
            source: std::io::Error::other("disk full"),
        })
    }
}

/// A sink that reports itself broken before the call, but keeps what
/// is appended anyway.
#[derive(Default)]
struct NotReady(Recorded);

impl AuditSink for NotReady {
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        self.0.append(record)
    }

    fn ready(&self) -> Result<(), AuditError> {
        Err(AuditError::Io {
            path: "audit".into(),
            source: std::io::Error::other("the last append failed: No space left on device"),
        })
    }
}

/// Engines for tests that must not reach one.
struct NoEngine {
    panic: bool,
}

impl EngineFactory for NoEngine {
    fn create(&self, name: &str, _: &Connection, _: Safeguards) -> Result<SharedEngine, ToolError> {
        assert!(!self.panic, "engine factory exploded for {name}");
        Err(ToolError::new(
            ErrorCode::BackendUnavailable,
            format!("`{name}` is not reachable in unit tests"),
            "Run the integration tests",
        ))
    }
}

fn session(extra: &str, audit: Arc<dyn AuditSink>, panic: bool) -> Session {
    Session::new(demo_policy(extra), Arc::new(NoEngine { panic }), audit)
}

#[tokio::test]
async fn every_outcome_is_audited() {
    let audit = Arc::new(Recorded::default());
    let session = session("", audit.clone(), false);
    let ok = session
        .call("list_allowed_tables", None, CallContext::default())
        .await;
    assert!(!ok.is_error, "{}", ok.envelope());
    let tables = ok.envelope()["data"]["tables"].as_array().unwrap().len();
    assert_eq!(tables, 4);
    let unknown = session
        .call("drop_table", Some(json!({})), CallContext::default())
        .await;
    assert_eq!(unknown.envelope()["error"]["code"], "INVALID_ARGUMENT");
    let bad = session
        .call(
            "run_select_sql",
            Some(json!({"sql": 1})),
            CallContext::default(),
        )
        .await;
    assert_eq!(bad.envelope()["error"]["code"], "INVALID_ARGUMENT");
    let down = session
        .call(
            "describe_table",
            Some(json!({"table": "public.orders"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(down.envelope()["error"]["code"], "BACKEND_UNAVAILABLE");

    let records = audit.0.lock().unwrap();
    let summary: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.tool_name.as_str(),
                r.outcome,
                r.policy_decision,
                r.error_code,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "list_allowed_tables",
                Outcome::Ok,
                PolicyDecision::Allow,
                None
            ),
            (
                "drop_table",
                Outcome::Error,
                PolicyDecision::NotApplicable,
                Some(ErrorCode::InvalidArgument)
            ),
            (
                "run_select_sql",
                Outcome::Error,
                PolicyDecision::NotApplicable,
                Some(ErrorCode::InvalidArgument)
            ),
            (
                "describe_table",
                Outcome::Error,
                PolicyDecision::Allow,
                Some(ErrorCode::BackendUnavailable)
            ),
        ]
    );
    assert_eq!(records[2].request_params, json!({"sql": 1}));
    assert_eq!(records[3].source.as_deref(), Some("demo"));
    assert_eq!(records[0].user_id.as_deref(), Some("demo_analyst"));
    assert_eq!(
        records[0].audit_id,
        ok.envelope()["audit_id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_huge_unknown_tool_name_is_cut_short() {
    let audit = Arc::new(Recorded::default());
    let session = session("", audit.clone(), false);
    let name = "x".repeat(100_000);
    let out = session.call(&name, None, CallContext::default()).await;
    assert_eq!(out.envelope()["error"]["code"], "INVALID_ARGUMENT");
    assert!(out.envelope().to_string().len() < 4096);
    assert_eq!(audit.0.lock().unwrap()[0].tool_name.len(), 128);
}

#[tokio::test]
async fn an_unwritable_audit_log_fails_the_call_and_drops_its_data() {
    let session = session("", Arc::new(Unwritable), false);
    let out = session
        .call("list_sources", None, CallContext::default())
        .await;
    assert!(out.is_error);
    assert_eq!(out.envelope()["error"]["code"], "INTERNAL_ERROR");
    assert!(out.envelope()["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("SQLWARDEN_AUDIT_DIR"));
    assert_eq!(out.envelope()["data"], serde_json::Value::Null);
    assert!(!out.text().contains("demo_analyst"));
}

#[tokio::test]
async fn a_sink_that_is_not_ready_stops_the_call_before_any_engine() {
    let audit = Arc::new(NotReady::default());
    // The engine factory panics if it is reached at all.
    let session = session("", audit.clone(), true);
    let out = session
        .call(
            "run_select_sql",
            Some(json!({"sql": "SELECT order_id FROM public.orders"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(out.envelope()["error"]["code"], "INTERNAL_ERROR");
    assert!(out.envelope()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("could not write the audit log"));
    let records = audit.0 .0.lock().unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0]
        .error_detail
        .as_deref()
        .unwrap()
        .contains("No space left"));
}

#[tokio::test]
async fn a_disabled_tool_is_refused_as_a_policy_decision() {
    let audit = Arc::new(Recorded::default());
    let session = session("tools:\n  get_join_paths: false\n", audit.clone(), false);
    let out = session
        .call(
            "get_join_paths",
            Some(json!({"table": "public.orders"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(out.envelope()["error"]["code"], "TOOL_DISABLED");
    assert!(!out.envelope()["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("get_join_paths"));
    let records = audit.0.lock().unwrap();
    assert_eq!(records[0].policy_decision, PolicyDecision::Deny);
    assert_eq!(records[0].outcome, Outcome::Denied);
}

#[tokio::test]
async fn tables_outside_policy_are_refused_with_near_misses() {
    let session = session("", Arc::new(Recorded::default()), false);
    let out = session
        .call(
            "get_join_paths",
            Some(json!({"table": "sales.orders"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(out.envelope()["error"]["code"], "TABLE_NOT_ALLOWED");
    assert!(out.envelope()["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("`public.orders`"));
    let unqualified = session
        .call(
            "get_join_paths",
            Some(json!({"table": "orders"})),
            CallContext::default(),
        )
        .await;
    assert!(!unqualified.is_error, "{}", unqualified.envelope());
    let envelope = unqualified.envelope();
    let ids: Vec<&str> = envelope["data"]["joins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["orders_to_customers", "orders_to_products"]);
    let missing = session
        .call(
            "list_allowed_tables",
            Some(json!({"source": "crm"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(missing.envelope()["error"]["code"], "SOURCE_NOT_FOUND");
    assert!(missing.envelope()["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("`demo`"));
}

#[tokio::test]
async fn a_panic_inside_a_tool_is_an_audited_internal_error() {
    let audit = Arc::new(Recorded::default());
    let session = session("", audit.clone(), true);
    let out = session
        .call(
            "describe_table",
            Some(json!({"table": "public.orders"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(out.envelope()["error"]["code"], "INTERNAL_ERROR");
    assert!(!out.text().contains("exploded"));
    let records = audit.0.lock().unwrap();
    assert!(records[0]
        .error_detail
        .as_deref()
        .unwrap()
        .contains("exploded"));
}
