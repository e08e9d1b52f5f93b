//! Every envelope a test receives, checked against the `outputSchema` its
//! tool declares in `tools/list`.
//!
//! The declared schemas stay open, so that a client of an older schema
//! keeps working with a newer server; here every object schema that lists
//! its properties is closed (`additionalProperties: false`), so a field a
//! handler adds and the schema does not declare fails the test that saw it.

use std::collections::HashMap;

use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::Value;
use tokio::sync::OnceCell;

use sqlwarden::cli::demo::{config_files, write_files, DemoArgs};

/// Each tool's declared `outputSchema`, closed, as the binary lists it.
static DECLARED: OnceCell<HashMap<String, Value>> = OnceCell::const_new();

/// The declared output schemas, read once per test process from
/// `tools/list` of the real binary (over the demo config; listing tools
/// touches no database).
pub async fn declared() -> &'static HashMap<String, Value> {
    DECLARED
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("tempdir");
            let args = DemoArgs::unreachable("nothing_here");
            write_files(dir.path(), &config_files(&args)).expect("demo config");
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"));
            cmd.arg("serve")
                .env("SQLWARDEN_CONFIG_DIR", dir.path())
                .env("SQLWARDEN_AUDIT_DIR", dir.path().join("audit"));
            let client =
                ().serve(TokioChildProcess::new(cmd).expect("spawn"))
                    .await
                    .expect("initialize");
            let tools = client.list_all_tools().await.expect("tools/list");
            let _ = client.cancel().await;
            tools
                .into_iter()
                .map(|tool| {
                    let schema = tool
                        .output_schema
                        .unwrap_or_else(|| panic!("`{}` declares no outputSchema", tool.name));
                    (
                        tool.name.to_string(),
                        closed(Value::Object((*schema).clone())),
                    )
                })
                .collect()
        })
        .await
}

/// `schema` with every object schema that lists properties closed.
pub fn closed(mut schema: Value) -> Value {
    close(&mut schema);
    schema
}

fn close(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type") == Some(&Value::from("object"))
                && map.contains_key("properties")
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// Assert that `envelope`, the structured content of a call of `tool`,
/// matches the tool's declared output schema (a tool that does not exist
/// answers with the same error envelope every tool has).
pub async fn assert_valid(tool: &str, envelope: &Value) {
    let declared = declared().await;
    let schema = declared
        .get(tool)
        .or_else(|| declared.get("list_sources"))
        .expect("declared schemas");
    assert_valid_against(tool, schema, envelope);
}

/// Assert that `envelope` matches `schema` (draft 2020-12).
pub fn assert_valid_against(tool: &str, schema: &Value, envelope: &Value) {
    let validator = jsonschema::draft202012::new(schema).expect("a valid draft 2020-12 schema");
    let errors: Vec<String> = validator
        .iter_errors(envelope)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "`{tool}` returned an envelope its outputSchema does not allow:\n{}\n{envelope:#}",
        errors.join("\n")
    );
}
