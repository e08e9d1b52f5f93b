use serde_json::json;

use super::*;

#[test]
fn known_methods_with_bad_params_are_invalid_params_and_say_why() {
    let cases = [
        ("resources/read", None, "ReadResourceRequestParams"),
        ("resources/read", Some(json!({})), "uri"),
        ("resources/read", Some(json!({"uri": 5})), "string"),
        ("prompts/get", Some(json!({})), "name"),
        (
            "logging/setLevel",
            Some(json!({"level": "verbose"})),
            "verbose",
        ),
        ("completion/complete", Some(json!({})), "ref"),
    ];
    for (method, params, mentions) in cases {
        let error = answer(method, params.as_ref());
        assert_eq!(
            error.code,
            rmcp::model::ErrorCode::INVALID_PARAMS,
            "{method}"
        );
        assert!(error.message.contains(method), "{}", error.message);
        assert!(error.message.contains(mentions), "{}", error.message);
    }
}

#[test]
fn unknown_methods_are_not_found_and_long_names_are_cut() {
    let error = answer("tools/frobnicate", None);
    assert_eq!(error.code, rmcp::model::ErrorCode::METHOD_NOT_FOUND);
    assert!(
        error.message.contains("`tools/frobnicate`"),
        "{}",
        error.message
    );
    let long = "m".repeat(1 << 20);
    let error = answer(&long, None);
    assert!(error.message.len() < 400, "{}", error.message.len());
    let error = answer("resources/read", Some(&json!({"uri": "u".repeat(1 << 20)})));
    assert!(error.message.len() < 500, "{}", error.message.len());
}
