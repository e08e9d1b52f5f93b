use super::*;
use serde_json::json;

#[test]
fn reads_the_top_node() {
    let plan = json!([{"Plan": {"Node Type": "Seq Scan", "Total Cost": 35.5, "Plan Rows": 2550, "Startup Cost": 0.0}}]);
    let estimate = from_plan(&plan).expect("test value");
    assert_eq!(estimate.cost, Some(35.5));
    assert_eq!(estimate.estimated_rows, Some(2550.0));
    assert_eq!(estimate.details["node_type"], json!("Seq Scan"));
}

#[test]
fn missing_plan_is_internal() {
    assert!(from_plan(&json!([])).is_err());
}
