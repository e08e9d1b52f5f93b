use super::*;

#[test]
fn a_sealed_line_checks_and_any_change_breaks_it() {
    let record: Value =
        serde_json::from_str(r#"{"b": 0.5, "a": {"y": [1, 2.5], "x": "s"}, "prev_hash": "p"}"#)
            .unwrap();
    let (hash, line) = seal(GENESIS, &record);
    assert_eq!(hash.len(), 64);
    assert!(
        line.starts_with(r#"{"a":{"x":"s","y":[1,2.5]},"b":0.5,"prev_hash":"p","hash":""#),
        "{line}"
    );
    let parsed: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed["hash"], hash.as_str());
    assert_eq!(is_sealed(&line, GENESIS), Some(true));
    assert_eq!(is_sealed(&line, &"1".repeat(64)), Some(false));
    assert_eq!(is_sealed(&line.replace("2.5", "2.6"), GENESIS), Some(false));
    assert_eq!(is_sealed(r#"{"a":1}"#, GENESIS), None);
    let reordered: Value = serde_json::from_str(
        r#"{"prev_hash": "p", "a": {"x": "s", "y": [1, 2.5]}, "b": 0.5, "hash": "old"}"#,
    )
    .unwrap();
    assert_eq!(seal(GENESIS, &reordered), (hash, line));
}
