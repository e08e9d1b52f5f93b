use super::*;

fn render(json: &str) -> Result<String, ToolError> {
    let filter: Filter = serde_json::from_str(json).unwrap();
    filter
        .to_expr(EngineKind::Postgres, &mut |n| {
            Ok(sql::column(EngineKind::Postgres, None, n))
        })
        .map(|e| e.to_string())
}

#[test]
fn every_operator_renders_with_literal_values() {
    let json = r#"{"op":"and","filters":[
            {"op":"eq","field":"status","value":"paid' OR 1=1 --"},
            {"op":"not","filter":{"op":"in","field":"region_code","values":["EAST",1,-2,true]}},
            {"op":"or","filters":[{"op":"between","field":"amount","low":1.5,"high":-3},
                                  {"op":"is_null","field":"note","negated":true}]},
            {"op":"like","field":"Name","pattern":"A%"},
            {"op":"ne","field":"a","value":1},{"op":"lt","field":"a","value":1},
            {"op":"le","field":"a","value":1},{"op":"gt","field":"a","value":1},
            {"op":"ge","field":"a","value":1}]}"#;
    assert_eq!(
        render(json).unwrap(),
        "(status = 'paid'' OR 1=1 --') AND (NOT (region_code IN ('EAST', 1, -2, true))) \
             AND ((amount BETWEEN 1.5 AND -3) OR (note IS NOT NULL)) AND (\"Name\" LIKE 'A%') \
             AND (a <> 1) AND (a < 1) AND (a <= 1) AND (a > 1) AND (a >= 1)"
    );
}

#[test]
fn backslashes_cannot_end_a_literal_early() {
    let json = r#"{"op":"eq","field":"a","value":"\\' OR true --"}"#;
    assert_eq!(render(json).unwrap(), r"a = E'\\\' OR true --'");
    let filter: Filter = serde_json::from_str(json).unwrap();
    let on_mc = filter.to_expr(EngineKind::MaxCompute, &mut |n| {
        Ok(sql::column(EngineKind::MaxCompute, None, n))
    });
    assert_eq!(on_mc.unwrap_err().code, ErrorCode::InvalidArgument);
}

#[test]
fn unknown_keys_and_ops_do_not_deserialize() {
    assert!(
        serde_json::from_str::<Filter>(r#"{"op":"eq","field":"a","value":1,"sql":"x"}"#).is_err()
    );
    assert!(serde_json::from_str::<Filter>(r#"{"op":"raw","sql":"1=1"}"#).is_err());
    assert!(serde_json::from_str::<Filter>(r#"{"op":"eq","field":"a","value":[1]}"#).is_err());
}

#[test]
fn empty_lists_and_deep_trees_are_invalid_arguments() {
    for json in [
        r#"{"op":"and","filters":[]}"#,
        r#"{"op":"in","field":"a","values":[]}"#,
    ] {
        assert_eq!(
            render(json).unwrap_err().code,
            ErrorCode::InvalidArgument,
            "{json}"
        );
    }
    let mut deep = r#"{"op":"eq","field":"a","value":1}"#.to_string();
    for _ in 0..20 {
        deep = format!(r#"{{"op":"not","filter":{deep}}}"#);
    }
    assert_eq!(render(&deep).unwrap_err().code, ErrorCode::InvalidArgument);
}
