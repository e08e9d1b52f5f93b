//! The input schema of a tool (MCP `inputSchema`), from its argument type.
//!
//! schemars writes an `Option<T>` field as `"type": [T, "null"]` with
//! `"default": null`. Several clients mishandle type arrays (one sent the
//! integer `2` as the string `"2"`; strict validators warn), and an optional
//! argument needs no null: it is simply not `required`. So optional
//! arguments are rewritten to their plain type; the parser still accepts an
//! explicit `null`. The root `$schema` and `title` (a Rust type name) are
//! dropped too: MCP's default dialect is draft 2020-12, and every byte of
//! `tools/list` is paid for in tokens.

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The draft 2020-12 schema of `T`, as MCP clients read it.
pub(crate) fn schema<T: JsonSchema>() -> Map<String, Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let root = generator.into_root_schema_for::<T>();
    let mut schema = match serde_json::to_value(root) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    schema.remove("$schema");
    schema.remove("title");
    for value in schema.values_mut() {
        plain_optionals(value);
    }
    schema
}

/// Rewrite every nullable schema under `value` to its non-null form.
fn plain_optionals(value: &mut Value) {
    match value {
        Value::Object(map) => {
            without_null(map);
            for child in map.values_mut() {
                plain_optionals(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plain_optionals),
        _ => {}
    }
}

/// One schema object without its null alternative: `"type": [T, "null"]`
/// becomes `"type": T`, `anyOf: [S, {"type": "null"}]` becomes `S`, `null`
/// leaves an `enum`, and `"default": null` goes.
fn without_null(map: &mut Map<String, Value>) {
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [single] = types.as_slice() {
            let single = single.clone();
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let null = serde_json::json!({"type": "null"});
    if let Some(Value::Array(options)) = map.get("anyOf") {
        if options.len() == 2 && options.contains(&null) {
            let kept = options.iter().find(|o| **o != null).cloned();
            if let Some(Value::Object(kept)) = kept {
                map.remove("anyOf");
                for (key, value) in kept {
                    map.entry(key).or_insert(value);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
