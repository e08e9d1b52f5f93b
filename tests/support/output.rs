//! Every envelope a test receives, checked against the `outputSchema` its
//! tool declares in `tools/list`.
//!
//! The declared schemas stay open, so that a client of an older schema
//! keeps working with a newer server; here every object schema that lists
//! its properties is closed (`additionalProperties: false`), so a field a
//! handler adds and the schema does not declare fails the test that saw it.
//! The arrays a query's answer declares without an `items` schema (they
//! grow with the result, and a validating client would check every
//! element on every call) get their element schemas back here, so every
//! row, column and name a test receives is still checked.

use std::collections::HashMap;

use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use sqlwarden::cli::demo::{config_files, write_files, DemoArgs};

/// Each tool's `outputSchema` as the binary lists it.
static LISTED: OnceCell<HashMap<String, Value>> = OnceCell::const_new();
/// The same, closed and with the element schemas the test checks.
static DECLARED: OnceCell<HashMap<String, Value>> = OnceCell::const_new();

/// The output schemas as `tools/list` of the real binary gives them, read
/// once per test process (over the demo config; listing tools touches no
/// database).
async fn listed_all() -> &'static HashMap<String, Value> {
    LISTED
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
                    (tool.name.to_string(), Value::Object((*schema).clone()))
                })
                .collect()
        })
        .await
}

/// `tool`'s output schema exactly as a client sees it.
pub async fn listed(tool: &str) -> Value {
    listed_all().await[tool].clone()
}

/// The declared output schemas, each closed and with element schemas for
/// the arrays it leaves open.
pub async fn declared() -> &'static HashMap<String, Value> {
    let listed = listed_all().await;
    DECLARED
        .get_or_init(|| async {
            listed
                .iter()
                .map(|(tool, schema)| (tool.clone(), closed(with_elements(schema.clone()))))
                .collect()
        })
        .await
}

/// `schema` with element schemas for the arrays that grow with a result:
/// `metadata.tables_used` and `.columns_used` (names), and in `data`,
/// `columns` (`{name, type}`) and `rows` (arrays of cells).
fn with_elements(mut schema: Value) -> Value {
    let name = json!({"type": "string"});
    let column = json!({
        "type": "object",
        "properties": {"name": name, "type": name},
        "required": ["name", "type"],
    });
    let elements = [
        ("tables_used", &name),
        ("columns_used", &name),
        ("columns", &column),
        ("rows", &json!({"type": "array"})),
    ];
    let metadata = schema.pointer_mut("/properties/metadata/properties");
    add_items(metadata, &elements[..2]);
    if let Some(Value::Array(branches)) = schema.pointer_mut("/properties/data/anyOf") {
        for branch in branches {
            add_items(branch.pointer_mut("/properties"), &elements[2..]);
        }
    }
    schema
}

/// Give each of `elements` that `properties` declares as an array
/// without `items` its element schema.
fn add_items(properties: Option<&mut Value>, elements: &[(&str, &Value)]) {
    let Some(Value::Object(properties)) = properties else {
        return;
    };
    for (name, items) in elements {
        if let Some(Value::Object(array)) = properties.get_mut(*name) {
            if array.get("type") == Some(&json!("array")) && !array.contains_key("items") {
                array.insert("items".into(), (*items).clone());
            }
        }
    }
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

/// Where `envelope` breaks `schema` (draft 2020-12); empty when it matches.
pub fn violations(schema: &Value, envelope: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema).expect("a valid draft 2020-12 schema");
    validator
        .iter_errors(envelope)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Assert that `envelope` matches `schema` (draft 2020-12).
pub fn assert_valid_against(tool: &str, schema: &Value, envelope: &Value) {
    let errors = violations(schema, envelope);
    assert!(
        errors.is_empty(),
        "`{tool}` returned an envelope its outputSchema does not allow:\n{}\n{envelope:#}",
        errors.join("\n")
    );
}
