use super::*;

#[test]
fn gate_mismatch_detail_is_kept_for_the_administrator() {
    let mut record = AuditRecord::new("run_select_sql", "r", "s", "p");
    record.fail(
        &ToolError::new(ErrorCode::GateMismatch, "differs", "hint")
            .with_internal("column `phone`: gate 0, engine 1; rendered: SELECT …"),
    );
    assert_eq!(record.outcome, Outcome::Denied);
    assert_eq!(record.policy_decision, PolicyDecision::Deny);
    assert!(record.error_detail.unwrap().contains("engine 1"));
}

#[test]
fn failures_set_outcome_and_decision() {
    let mut denied = AuditRecord::new("run_select_sql", "r", "s", "p");
    denied.fail(&ToolError::new(ErrorCode::TableNotAllowed, "no", "hint"));
    assert_eq!(denied.outcome, Outcome::Denied);
    assert_eq!(denied.policy_decision, PolicyDecision::Deny);
    assert_eq!(denied.deny_reason.as_deref(), Some("no"));

    let mut failed = AuditRecord::new("run_select_sql", "r", "s", "p");
    failed.policy_decision = PolicyDecision::Allow;
    failed.fail(&ToolError::internal("disk on fire"));
    assert_eq!(failed.outcome, Outcome::Error);
    assert_eq!(failed.policy_decision, PolicyDecision::Allow);
    assert_eq!(failed.error_detail.as_deref(), Some("disk on fire"));
    assert_eq!(failed.deny_reason, None);

    let mut bad_args = AuditRecord::new("run_select_sql", "r", "s", "p");
    bad_args.fail(&ToolError::new(
        ErrorCode::InvalidArgument,
        "no sql",
        "give sql",
    ));
    assert_eq!(bad_args.outcome, Outcome::Error);
    assert_eq!(bad_args.policy_decision, PolicyDecision::NotApplicable);
}

#[test]
fn the_wire_spelling_matches_the_design() {
    let record = AuditRecord::new("list_sources", "r", "s", "p");
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["outcome"], "ok");
    assert_eq!(json["policy_decision"], "not_applicable");
    assert!(chrono::DateTime::parse_from_rfc3339(json["timestamp"].as_str().unwrap()).is_ok());
    let mut denied = record;
    denied.fail(&ToolError::new(ErrorCode::JoinNotApproved, "m", "h"));
    assert_eq!(
        serde_json::to_value(&denied).unwrap()["error_code"],
        "JOIN_NOT_APPROVED"
    );
}
