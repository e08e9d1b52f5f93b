use super::*;

#[test]
fn values_compare_as_media_types() {
    for (typ, kind) in [
        ("at+jwt", TokenType::AccessToken),
        ("AT+JWT", TokenType::AccessToken),
        ("application/at+jwt", TokenType::AccessToken),
        ("Application/At+JWT", TokenType::AccessToken),
        ("JWT", TokenType::Jwt),
        ("jwt", TokenType::Jwt),
        ("application/jwt", TokenType::Jwt),
        ("id+jwt", TokenType::Other),
        ("logout+jwt", TokenType::Other),
        ("JOSE", TokenType::Other),
        ("text/at+jwt", TokenType::Other),
        ("application/at+jwt; x=1", TokenType::Other),
        (" at+jwt", TokenType::Other),
        ("", TokenType::Other),
    ] {
        assert_eq!(TokenType::parse(typ), kind, "{typ:?}");
    }
}

#[test]
fn the_rule_with_and_without_the_requirement() {
    use TokenType::*;
    for (kind, lenient, strict) in [
        (AccessToken, true, true),
        (Jwt, true, false),
        (Unstated, true, false),
        (Other, false, false),
    ] {
        assert_eq!(kind.check(false).is_ok(), lenient, "{kind:?}");
        assert_eq!(kind.check(true).is_ok(), strict, "{kind:?}");
    }
    let refused = Other.check(false).unwrap_err();
    assert_eq!(refused.reason(), FailureReason::BadType);
}

#[test]
fn a_typ_that_is_not_a_string_is_malformed() {
    let header: Map<String, Value> =
        serde_json::from_value(serde_json::json!({"alg": "RS256", "typ": 1})).unwrap();
    let refused = TokenType::of(&header).unwrap_err();
    assert_eq!(refused.reason(), FailureReason::Malformed);
    assert_eq!(TokenType::of(&Map::new()).unwrap(), TokenType::Unstated);
}
