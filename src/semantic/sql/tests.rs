use super::*;

#[test]
fn columns_of_an_expression_are_folded_and_deduplicated() {
    let expr = parse_expr(EngineKind::Postgres, "sum(Amount) / count(DISTINCT amount)").unwrap();
    assert_eq!(
        expr_columns(EngineKind::Postgres, &expr).unwrap(),
        ["amount"]
    );
    let quoted = parse_expr(EngineKind::Postgres, "sum(\"Amount\")").unwrap();
    assert_eq!(
        expr_columns(EngineKind::Postgres, &quoted).unwrap(),
        ["Amount"]
    );
}

#[test]
fn qualified_names_and_subqueries_are_refused() {
    for text in [
        "sum(o.amount)",
        "(SELECT max(x) FROM t)",
        "a IN (SELECT b FROM t)",
    ] {
        let expr = parse_expr(EngineKind::Postgres, text).unwrap();
        assert!(expr_columns(EngineKind::Postgres, &expr).is_err(), "{text}");
    }
}

#[test]
fn trailing_text_is_not_part_of_an_expression() {
    assert!(parse_expr(EngineKind::Postgres, "sum(amount) FROM orders").is_err());
    assert!(parse_expr(EngineKind::Postgres, "sum(amount); DROP TABLE t").is_err());
}

#[test]
fn qualify_binds_columns_to_the_alias() {
    let mut expr = parse_expr(EngineKind::Postgres, "sum(amount) FILTER (WHERE paid)").unwrap();
    qualify(&mut expr, "t0");
    assert_eq!(expr.to_string(), "sum(t0.amount) FILTER (WHERE t0.paid)");
}
