//! The output schema of every tool (MCP `outputSchema`): the envelope
//! ([`super::envelope`]) with that tool's `data`.
//!
//! Written by hand, because handlers build `data` as JSON; the stdio tests
//! validate every envelope they receive against these schemas with every
//! object closed (`tests/support/output.rs`), so a field added to a handler
//! and not here fails them. The schemas themselves stay open
//! (`additionalProperties` is not set): a client that validates results
//! must not reject an answer because a newer server says more. No
//! descriptions: the tool's description says what the data means, and
//! `tools/list` is paid for in tokens.
//!
//! An array in every query's answer that grows with the result (its rows,
//! its columns, the tables and columns it used) is declared as an array
//! without an `items` schema: a validating client checks each element of
//! such an array on every call, which in the official Python SDK costs
//! about 8 µs per element (a 12-column point answer took 444 µs to
//! validate against item schemas, 140 µs without them). The tool
//! descriptions say what `columns` and `rows` hold, and `tables_used` and
//! `columns_used` hold names; the stdio tests still check every element
//! (`tests/support/output.rs`).

use serde_json::{json, Map, Value};

/// A string.
fn string() -> Value {
    json!({"type": "string"})
}

/// A string or null.
fn opt_string() -> Value {
    json!({"type": ["string", "null"]})
}

/// A count (an integer; no `minimum`, to keep `tools/list` short).
fn count() -> Value {
    json!({"type": "integer"})
}

/// An array of strings.
fn strings() -> Value {
    json!({"type": "array", "items": string()})
}

/// An object with `properties`, all of them required except `optional`.
fn object(properties: Value, optional: &[&str]) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| {
            p.keys()
                .filter(|k| !optional.contains(&k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    json!({"type": "object", "properties": properties, "required": required})
}

/// An array of `items`.
fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// An array that grows with a query's result, one element per row,
/// column or table (see the module doc).
fn per_result() -> Value {
    json!({"type": "array"})
}

/// The envelope's `metadata`, the same for every tool.
fn metadata() -> Value {
    object(
        json!({
            "request_id": string(),
            "tool_name": string(),
            "timestamp": string(),
            "latency_ms": {"type": "number"},
            "source": opt_string(),
            "tables_used": per_result(),
            "columns_used": per_result(),
            "row_count": {"type": ["integer", "null"]},
            "truncated": {"type": "boolean"},
            "applied_limit": {"type": ["integer", "null"]},
            "partitions_used": {"type": "object", "additionalProperties": string()},
            "cached": {"type": "boolean"},
            "cache_age_seconds": {"type": "number"},
            "session_row_budget": object(json!({
                "max_session_rows": count(),
                "used": count(),
                "remaining": count(),
                "limited_this_call": {"type": "boolean"},
            }), &[]),
            "execution": object(json!({
                "mode": string(),
                "quota": opt_string(),
                "maxqa_fallback": {"type": "boolean"},
            }), &["quota", "maxqa_fallback"]),
        }),
        &["cache_age_seconds", "session_row_budget", "execution"],
    )
}

/// The envelope's `error`: an error code, a message and a hint. The codes
/// are not enumerated: the list is long and `tools/list` would repeat it
/// for every tool.
fn error() -> Value {
    object(
        json!({
            "code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$"},
            "message": string(),
            "hint": string(),
        }),
        &[],
    )
}

/// The full output schema of a tool whose successful `data` is `data`:
/// `ok` with `data` and a null `error`, or not `ok` with a null `data` and
/// an `error`.
pub(crate) fn envelope(data: Value) -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "data": {"anyOf": [data, {"type": "null"}]},
            "error": {"anyOf": [error(), {"type": "null"}]},
            "metadata": metadata(),
            "audit_id": string(),
        },
        "required": ["ok", "data", "error", "metadata", "audit_id"],
    });
    match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `list_sources`.
pub(crate) fn sources() -> Value {
    object(
        json!({"sources": array(object(json!({
            "name": string(),
            "engine": {"type": "string", "enum": ["postgres", "maxcompute"]},
            "default_namespace": string(),
            "allowed_namespaces": strings(),
            "allowed_tables": count(),
        }), &[]))}),
        &[],
    )
}

/// `list_allowed_tables`.
pub(crate) fn allowed_tables() -> Value {
    object(
        json!({
            "source": string(),
            "tables": array(object(json!({
                "table": string(),
                "domain": opt_string(),
                "owner": opt_string(),
                "sensitivity": opt_string(),
                "description": opt_string(),
                "max_limit": count(),
                "row_filtered": {"type": "boolean"},
                "requires_partition_filter": {"type": "boolean"},
                "default_partition": opt_string(),
            }), &[])),
        }),
        &[],
    )
}

/// `describe_table`.
pub(crate) fn table_description() -> Value {
    object(
        json!({
            "source": string(),
            "table": string(),
            "description": opt_string(),
            "domain": opt_string(),
            "owner": opt_string(),
            "sensitivity": opt_string(),
            "columns": array(object(json!({
                "name": string(),
                "type": string(),
                "nullable": {"type": "boolean"},
                "description": opt_string(),
                "comment": opt_string(),
                "partition_key": {"type": "boolean"},
                "primary_key": {"type": "boolean"},
            }), &[])),
            "partition_keys": strings(),
            "hidden_columns": count(),
            "row_filtered": {"type": "boolean"},
            "requires_partition_filter": {"type": "boolean"},
            "max_limit": count(),
            "approved_joins": strings(),
        }),
        &[],
    )
}

/// `list_partitions`.
pub(crate) fn partitions() -> Value {
    object(
        json!({
            "source": string(),
            "table": string(),
            "partitions": strings(),
            "next_marker": opt_string(),
        }),
        &[],
    )
}

/// `get_join_paths`.
pub(crate) fn join_paths() -> Value {
    object(
        json!({
            "source": string(),
            "table": string(),
            "joins": array(object(json!({
                "id": string(),
                "left_table": string(),
                "right_table": string(),
                "on": array(object(json!({"left_field": string(), "right_field": string()}), &[])),
                "cardinality": opt_string(),
                "business_purpose": opt_string(),
                "example_sql": opt_string(),
            }), &[])),
        }),
        &[],
    )
}

/// Rows of a query (`preview_table`, `run_select_sql`,
/// `run_metric_query`), plus `next_cursor` for `query_table`.
fn rows(extra: Option<(&str, Value)>) -> Value {
    let mut properties = json!({
        // A `{name, type}` object per column and an array of cells per
        // row, as the description says. With a schema per row the
        // official Python SDK spent longer validating a 10,000-row answer
        // than reading it.
        "columns": per_result(),
        "rows": per_result(),
        "truncation": {"enum": ["row_limit", "result_bytes", null]},
        "cells_truncated": count(),
        "engine": {"type": "object"},
    });
    if let (Some((name, schema)), Some(map)) = (extra, properties.as_object_mut()) {
        map.insert(name.to_string(), schema);
    }
    object(properties, &[])
}

/// `preview_table`, `run_select_sql` and `run_metric_query`.
pub(crate) fn query_rows() -> Value {
    rows(None)
}

/// `query_table`: rows and the cursor of the next page.
pub(crate) fn table_rows() -> Value {
    rows(Some(("next_cursor", opt_string())))
}

/// `estimate_query_cost`.
pub(crate) fn estimate() -> Value {
    let bytes = json!({"type": ["integer", "null"]});
    let number = json!({"type": ["number", "null"]});
    object(
        json!({
            "estimate": object(json!({
                "input_bytes": bytes,
                "estimated_rows": number,
                "cost": number,
                "plan": opt_string(),
                "details": {"type": "object"},
                "withheld": string(),
            }), &["details", "withheld"]),
            "budget": object(json!({
                "max_scan_bytes": bytes,
                "max_session_scan_bytes": bytes,
                "session_scanned_bytes": count(),
                "session_remaining_bytes": bytes,
                "within_budget": {"type": ["boolean", "null"]},
                "max_session_rows": bytes,
                "session_rows_used": count(),
            }), &[]),
        }),
        &[],
    )
}

/// `list_domains`.
pub(crate) fn domains() -> Value {
    object(
        json!({"domains": array(object(json!({
            "name": string(),
            "owner": opt_string(),
            "description": opt_string(),
            "default_source": opt_string(),
            "metrics": strings(),
            "term_count": count(),
        }), &[]))}),
        &[],
    )
}

/// `search_business_terms`.
pub(crate) fn term_matches() -> Value {
    object(
        json!({"matches": array(object(json!({
            "kind": {"type": "string", "enum": ["term", "metric"]},
            "name": string(),
            "domain": opt_string(),
            "score": count(),
            "synonyms": strings(),
            "definition": string(),
            "tables": strings(),
            "columns": strings(),
            "metrics": strings(),
        }), &[]))}),
        &[],
    )
}

/// `list_metrics`.
pub(crate) fn metrics() -> Value {
    object(
        json!({"metrics": array(object(json!({
            "name": string(),
            "domain": string(),
            "description": string(),
            "unit": opt_string(),
        }), &[]))}),
        &[],
    )
}

/// A time grain.
fn grain() -> Value {
    json!({"enum": ["hour", "day", "week", "month", "quarter", "year"]})
}

/// A grain or null.
fn opt_grain() -> Value {
    json!({"enum": ["hour", "day", "week", "month", "quarter", "year", null]})
}

/// `get_metric_definition`.
pub(crate) fn metric_definition() -> Value {
    let time = object(
        json!({"column": string(), "grains": array(grain()), "default_grain": opt_grain()}),
        &[],
    );
    object(
        json!({"metric": object(json!({
            "name": string(),
            "domain": string(),
            "description": string(),
            "source": opt_string(),
            "base_table": string(),
            "expression": string(),
            "joins": strings(),
            "dimensions": array(object(json!({
                "name": string(),
                "column": string(),
                "table": opt_string(),
                "description": opt_string(),
            }), &[])),
            "time_dimension": {"anyOf": [time, {"type": "null"}]},
            "default_filters": strings(),
            "format": opt_string(),
            "unit": opt_string(),
        }), &[])}),
        &[],
    )
}

/// `get_dimensions`.
pub(crate) fn dimensions() -> Value {
    let time = object(
        json!({"column": string(), "grains": array(grain()), "default_grain": opt_grain()}),
        &[],
    );
    object(
        json!({
            "metric": string(),
            "dimensions": array(object(json!({
                "name": string(),
                "table": string(),
                "column": string(),
                "description": opt_string(),
            }), &[])),
            "time_dimension": {"anyOf": [time, {"type": "null"}]},
        }),
        &[],
    )
}

/// `generate_metric_sql`.
pub(crate) fn metric_sql() -> Value {
    object(
        json!({"sql": string(), "columns": strings(), "applied_limit": count()}),
        &[],
    )
}

/// `validate_metric_query`.
pub(crate) fn metric_validation() -> Value {
    object(
        json!({
            "valid": {"type": "boolean"},
            "problems": array(error()),
        }),
        &[],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
