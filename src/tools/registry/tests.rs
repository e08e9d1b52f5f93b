use super::*;

#[test]
fn the_tool_list_matches_the_names_policy_accepts() {
    let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
    assert_eq!(names, crate::config::TOOL_NAMES);
}

#[test]
fn every_schema_is_a_closed_object() {
    for tool in TOOLS {
        let schema = tool.input_schema();
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
    }
}

#[test]
fn semantic_schemas_require_what_the_tools_need() {
    let required = |tool: &str| spec(tool).unwrap().input_schema()["required"].clone();
    for tool in [
        "generate_metric_sql",
        "validate_metric_query",
        "run_metric_query",
        "get_metric_definition",
        "get_dimensions",
    ] {
        assert_eq!(required(tool), serde_json::json!(["metric"]), "{tool}");
    }
    assert_eq!(
        required("search_business_terms"),
        serde_json::json!(["keyword"])
    );
    assert_eq!(
        required("query_table"),
        serde_json::json!(["table", "columns"])
    );
    let metric = spec("run_metric_query").unwrap().input_schema();
    for argument in ["dimensions", "filters", "time_range", "grain", "limit"] {
        assert!(
            metric["properties"][argument]["description"].is_string(),
            "{argument}"
        );
    }
}

#[test]
fn sql_schema_documents_limit_and_requires_sql() {
    let schema = spec("run_select_sql").unwrap().input_schema();
    assert_eq!(schema["required"], serde_json::json!(["sql"]));
    let limit = schema["properties"]["limit"]["description"]
        .as_str()
        .unwrap();
    assert!(limit.contains("Default"), "{limit}");
}
