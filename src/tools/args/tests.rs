use super::*;
use serde_json::json;

const SQL_EXAMPLE: &str = r#"{"sql": "SELECT order_id, amount FROM public.orders", "limit": 20}"#;

#[test]
fn nul_anywhere_in_the_arguments_is_invalid_argument() {
    let err = parse::<SqlArgs>(
        "run_select_sql",
        SQL_EXAMPLE,
        Some(json!({"sql": "SELECT 1\u{0}"})),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("NUL"), "{}", err.message);
    assert!(err.message.contains("`sql`"), "{}", err.message);
    let nested = json!({"filters": [{"column": "a", "value": "x"}, {"value": ["ok", "b\u{0}"]}]});
    assert_eq!(
        nul_place(&nested, "").as_deref(),
        Some("`filters[1].value[1]`")
    );
    assert!(nul_place(&json!({"k\u{0}": 1}), "").is_some());
    assert!(nul_place(&json!({"sql": "SELECT 1", "n": [1, null]}), "").is_none());
}

#[test]
fn missing_sql_is_invalid_argument() {
    let err = parse::<SqlArgs>("run_select_sql", SQL_EXAMPLE, Some(json!({}))).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(
        err.message.contains("missing field `sql`"),
        "{}",
        err.message
    );
    assert!(err.hint.contains("\"sql\""));
}

#[test]
fn wrong_type_is_invalid_argument() {
    let err = parse::<SqlArgs>("run_select_sql", SQL_EXAMPLE, Some(json!({"sql": 5}))).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("invalid type"), "{}", err.message);
    let err = parse::<SqlArgs>(
        "run_select_sql",
        SQL_EXAMPLE,
        Some(json!({"sql": "x", "limit": -3})),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

#[test]
fn unknown_key_is_invalid_argument() {
    let err = parse::<SqlArgs>(
        "run_select_sql",
        SQL_EXAMPLE,
        Some(json!({"sql": "x", "role": "admin"})),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(
        err.message.contains("unknown field `role`"),
        "{}",
        err.message
    );
    let err = parse::<NoArgs>("list_sources", "{}", Some(json!({"x": 1}))).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

#[test]
fn non_object_is_invalid_argument() {
    let err = parse::<SourceArgs>(
        "list_allowed_tables",
        r#"{"source": "crm"}"#,
        Some(json!([1])),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

#[test]
fn absent_arguments_read_as_empty_object() {
    let args: SourceArgs = parse("list_allowed_tables", r#"{"source": "crm"}"#, None).unwrap();
    assert!(args.source.is_none());
}

#[test]
fn zero_limit_is_refused() {
    assert_eq!(
        positive_limit(Some(0)).unwrap_err().code,
        ErrorCode::LimitMustBePositive
    );
    assert_eq!(positive_limit(Some(3)).unwrap(), Some(3));
}
