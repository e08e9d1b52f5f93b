use super::*;

#[test]
fn every_code_reads_back_from_its_wire_spelling() {
    assert_eq!(ErrorCode::ALL.len(), ErrorCode::WIRE.len());
    for (code, wire) in ErrorCode::ALL.iter().zip(ErrorCode::WIRE) {
        assert_eq!(code.as_str(), *wire);
        assert_eq!(wire.parse::<ErrorCode>().unwrap(), *code);
        let json = serde_json::to_value(code).unwrap();
        assert_eq!(json, serde_json::json!(wire));
        assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), *code);
    }
}

#[test]
fn an_unknown_spelling_is_refused() {
    assert!("column_not_allowed".parse::<ErrorCode>().is_err());
    let error = serde_json::from_str::<ErrorCode>("\"NOPE\"").unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `NOPE`"),
        "{error}"
    );
}
