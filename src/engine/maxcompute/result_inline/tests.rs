use super::*;
use serde_json::json;

#[test]
fn safe_types_type_like_the_tunnel() {
    let t = |ty: &str, text: &str| typed_cell(&McType::parse(ty).unwrap(), text);
    assert_eq!(t("bigint", "-7"), Some(json!(-7)));
    assert_eq!(t("boolean", "true"), Some(json!(true)));
    assert_eq!(t("double", "2.5"), Some(types::double_value(2.5)));
    assert_eq!(t("float", "0.5"), Some(types::float_value(0.5)));
    assert_eq!(t("decimal(10,2)", "12.34"), Some(json!("12.34")));
    assert_eq!(t("varchar(8)", "A-1"), Some(json!("A-1")));
    assert_eq!(t("date", "1969-12-31"), Some(json!("1969-12-31")));
    assert_eq!(t("bigint", "x"), None);
    assert_eq!(t("datetime", "2024-01-02 03:04:05"), None);
    assert!(!inline_safe(&McType::parse("binary").unwrap()));
    assert!(!inline_safe(&McType::parse("array<string>").unwrap()));
    assert!(inline_safe(&McType::parse("char(3)").unwrap()));
}
