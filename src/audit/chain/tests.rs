use super::*;

#[test]
fn a_sealed_line_checks_and_any_change_breaks_it() {
    let record: Value =
        serde_json::from_str(r#"{"b": 0.5, "a": {"y": [1, 2.5], "x": "s"}, "prev_hash": "p"}"#)
            .unwrap();
    let (hash, line) = seal(GENESIS, &record).unwrap();
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
    assert_eq!(seal(GENESIS, &reordered).unwrap(), (hash, line));
}

/// The canonical text as the chain first defined it: a copy of the value
/// with every object rebuilt in sorted key order, printed by serde_json.
fn rebuilt(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), rebuilt(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(rebuilt).collect()),
        other => other.clone(),
    }
}

/// Lines written before the canonical text was written directly must
/// still be what a new seal writes, byte for byte: a changed byte would
/// fork the chain's format between versions.
#[test]
fn the_direct_canonical_text_is_the_rebuilt_one() {
    let texts = [
        r#"{"z": 1, "a": 2, "hash": "old", "prev_hash": "p"}"#,
        r#"{"prev_hash": "p", "nested": {"b": [{"d": 1, "c": 2}, [], {}], "a": null}}"#,
        r#"{"prev_hash": "p", "f": [0.1, 1e300, -0.0, 5e-324, 1.7976931348623157e308, 123456789012345678901234567890]}"#,
        r#"{"prev_hash": "p", "i": [18446744073709551615, -9223372036854775808, 0]}"#,
        r#"{"prev_hash": "p", "s": "quote \" backslash \\ tab \t nul \u0000 del \u007f é 😀 \ud83d\ude00 </script>"}"#,
        r#"{"prev_hash": "p", "\u00e9": 1, "e": 2, "E": 3, "": 4, "é\n": 5, "hash": {"inner": "kept"}}"#,
        r#"{"prev_hash": "p", "deep": {"hash": "an inner hash member stays", "x": [{"hash": 1}]}}"#,
        r#"{"prev_hash": "p", "b": true, "c": false, "n": null, "o": {}, "a": []}"#,
    ];
    for text in texts {
        let value: Value = serde_json::from_str(text).unwrap();
        let mut without_hash = value.clone();
        if let Value::Object(map) = &mut without_hash {
            map.remove("hash");
        }
        let body = rebuilt(&without_hash).to_string();
        let (hash, line) = seal(GENESIS, &value).unwrap();
        let open = body.strip_suffix('}').unwrap();
        assert_eq!(line, format!("{open},\"hash\":\"{hash}\"}}"), "{text}");
        assert_eq!(hash, digest(GENESIS, body.as_bytes()), "{text}");
        assert_eq!(is_sealed(&line, GENESIS), Some(true), "{text}");
    }
}

/// A record that is a real `AuditRecord` seals the same both ways.
#[test]
fn a_whole_record_seals_as_before() {
    let mut record = crate::audit::AuditRecord::new("run_select_sql", "req", "session", "policy");
    record.request_params = serde_json::json!({
        "source": "bench", "sql": "SELECT \"ä\" FROM t WHERE x = '\u{1}'", "limit": 3.5,
    });
    record.prev_hash = GENESIS.to_string();
    record.hash = "stale".to_string();
    let value = serde_json::to_value(&record).unwrap();
    let mut without_hash = value.clone();
    if let Value::Object(map) = &mut without_hash {
        map.remove("hash");
    }
    let body = rebuilt(&without_hash).to_string();
    let (hash, line) = seal(GENESIS, &value).unwrap();
    assert_eq!(hash, digest(GENESIS, body.as_bytes()));
    assert!(line.starts_with(body.strip_suffix('}').unwrap()));
}
