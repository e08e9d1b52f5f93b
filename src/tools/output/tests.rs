use serde_json::json;

use super::*;
use crate::tools::TOOLS;

fn validator(schema: Map<String, Value>) -> jsonschema::Validator {
    let schema = Value::Object(schema);
    jsonschema::draft202012::meta::validate(&schema).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn envelope_with(data: Value, error: Value) -> Value {
    json!({
        "ok": error.is_null(),
        "data": data,
        "error": error,
        "metadata": {
            "request_id": "r", "tool_name": "t", "timestamp": "2026-01-01T00:00:00Z",
            "latency_ms": 1.5, "source": null, "tables_used": [], "columns_used": [],
            "row_count": null, "truncated": false, "applied_limit": null,
            "partitions_used": {}, "cached": false,
        },
        "audit_id": "a",
    })
}

/// Every tool's output schema is a valid draft 2020-12 schema with an
/// object at its root, as MCP requires.
#[test]
fn every_output_schema_is_a_draft_2020_12_object_schema() {
    for tool in TOOLS {
        let schema = tool.output_schema();
        assert_eq!(schema["type"], "object", "{}", tool.name);
        validator(schema);
    }
}

/// A refusal fits every tool's schema; a malformed one fits none.
#[test]
fn refusals_fit_every_schema_and_malformed_envelopes_none() {
    let refusal = envelope_with(
        Value::Null,
        json!({"code": "TABLE_NOT_ALLOWED", "message": "m", "hint": "h"}),
    );
    for tool in TOOLS {
        let v = validator(tool.output_schema());
        assert!(v.is_valid(&refusal), "{}", tool.name);
        let mut no_hint = refusal.clone();
        no_hint["error"].as_object_mut().unwrap().remove("hint");
        assert!(!v.is_valid(&no_hint), "{}", tool.name);
        let mut no_audit = refusal.clone();
        no_audit.as_object_mut().unwrap().remove("audit_id");
        assert!(!v.is_valid(&no_audit), "{}", tool.name);
        let mut lower = refusal.clone();
        lower["error"]["code"] = json!("table not allowed");
        assert!(!v.is_valid(&lower), "{}", tool.name);
    }
}

/// The data schemas say what each tool returns: a row result fits the query
/// tools and not `list_sources`; the row cursor is `query_table`'s.
#[test]
fn data_schemas_tell_tools_apart() {
    let rows = json!({
        "columns": [{"name": "n", "type": "int8"}],
        "rows": [[1]],
        "truncation": null,
        "cells_truncated": 0,
        "engine": {},
    });
    let ok = envelope_with(rows.clone(), Value::Null);
    let spec = |name: &str| TOOLS.iter().find(|t| t.name == name).unwrap();
    assert!(validator(spec("run_select_sql").output_schema()).is_valid(&ok));
    assert!(!validator(spec("list_sources").output_schema()).is_valid(&ok));
    assert!(!validator(spec("query_table").output_schema()).is_valid(&ok));
    let mut paged = rows;
    paged["next_cursor"] = json!("c");
    assert!(
        validator(spec("query_table").output_schema()).is_valid(&envelope_with(paged, Value::Null))
    );
    let mut bad = ok.clone();
    bad["data"]["truncation"] = json!("some");
    assert!(!validator(spec("run_select_sql").output_schema()).is_valid(&bad));
}
