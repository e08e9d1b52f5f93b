use serde_json::json;

use super::*;
use crate::tools::TOOLS;

fn walk<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(value);
    match value {
        Value::Object(map) => map.values().for_each(|v| walk(v, out)),
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

/// No tool's input schema offers null: no type arrays, no null in an enum
/// or an `anyOf`, no `default: null`; and no root `$schema` or `title`.
#[test]
fn input_schemas_have_no_nullable_types() {
    for tool in TOOLS {
        let schema = Value::Object(tool.input_schema());
        jsonschema::draft202012::meta::validate(&schema).unwrap();
        assert!(schema.get("$schema").is_none() && schema.get("title").is_none());
        let mut nodes = Vec::new();
        walk(&schema, &mut nodes);
        for node in nodes {
            if let Some(map) = node.as_object() {
                assert!(
                    !map.get("type").is_some_and(Value::is_array),
                    "{}: {node}",
                    tool.name
                );
                assert_ne!(map.get("default"), Some(&Value::Null), "{}", tool.name);
                assert_ne!(
                    map.get("type"),
                    Some(&json!("null")),
                    "{}: {node}",
                    tool.name
                );
            }
        }
    }
}

/// An optional argument is its plain type and simply not required.
#[test]
fn optional_arguments_are_plain_and_not_required() {
    let spec = TOOLS.iter().find(|t| t.name == "list_partitions").unwrap();
    let schema = spec.input_schema();
    assert_eq!(schema["properties"]["limit"]["type"], "integer");
    assert_eq!(schema["properties"]["source"]["type"], "string");
    assert_eq!(schema["required"], json!(["table"]));
    let metric = TOOLS.iter().find(|t| t.name == "run_metric_query").unwrap();
    let schema = Value::Object(metric.input_schema());
    let grain = &schema["properties"]["grain"];
    assert!(grain.get("anyOf").is_none(), "{grain}");
    assert!(
        grain.get("$ref").is_some() || grain.get("enum").is_some(),
        "{grain}"
    );
}

/// What the rewrite leaves alone: a nullable type with two other types, and
/// a non-null `anyOf`.
#[test]
fn only_null_alternatives_are_removed() {
    let mut value = json!({
        "a": {"type": ["string", "integer", "null"]},
        "b": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "c": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}], "description": "d"},
    });
    plain_optionals(&mut value);
    assert_eq!(value["a"]["type"], json!(["string", "integer"]));
    assert_eq!(value["b"]["anyOf"].as_array().unwrap().len(), 2);
    assert_eq!(value["c"], json!({"$ref": "#/$defs/X", "description": "d"}));
}
