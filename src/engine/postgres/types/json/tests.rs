use super::*;
use serde_json::json;

#[test]
fn ordinary_documents_become_values() {
    let text = r#"{"a": [1, 2.5, -3e10, "x\"1.23456789012345678"], "b": null}"#;
    assert_eq!(
        render(text).expect("test value"),
        json!({"a": [1, 2.5, -3e10, "x\"1.23456789012345678"], "b": null})
    );
}

#[test]
fn imprecise_numbers_keep_the_text() {
    for text in ["[3.141592653589793238]", "1e400", "99999999999999999999"] {
        assert_eq!(
            render(text).expect("test value"),
            Value::String(text.into())
        );
    }
}

#[test]
fn jsonb_needs_version_one() {
    assert_eq!(
        render_jsonb(b"\x01[true]").expect("test value"),
        json!([true])
    );
    assert!(render_jsonb(b"\x02[]").is_err());
}
