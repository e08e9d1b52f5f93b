use super::*;
use serde_json::json;

/// Values whose JSON is easy to get subtly wrong: floats at the edges of
/// the double range, integers at the edges of 64 bits, numerics and NaN
/// as the engines render them (text), bytea, nested arrays and JSON
/// documents with keys out of order, NULLs, and text with line breaks,
/// escapes, C1 controls, bidi marks and characters of every width.
fn tricky() -> Vec<Vec<Value>> {
    vec![
        vec![
            json!(0.1),
            json!(-0.0),
            json!(1e300),
            json!(5e-324),
            json!(f64::MAX),
            json!(f64::MIN_POSITIVE),
            json!(123_456_789.123_456_79),
            json!(3.0),
        ],
        vec![
            json!(u64::MAX),
            json!(i64::MIN),
            json!(0),
            json!("NaN"),
            json!("Infinity"),
            json!("-Infinity"),
            json!("123456789012345678901234567890.000000000000000000001"),
            json!("1e400"),
        ],
        vec![
            json!("\\x00ff10"),
            json!([[1, 2], [3, null]]),
            json!({"b": 1, "a": [true, {"z": "y", "c": null}]}),
            Value::Null,
            json!("line\nbreak\r\ttab \"quoted\" back\\slash"),
            json!("\u{2028}\u{2029}\u{85}\u{9b}\u{202e}\u{1}\u{7f}"),
            json!("héllo 中文 🦀"),
            json!(""),
        ],
        vec![],
        vec![Value::Null],
    ]
}

#[test]
fn rows_serialize_exactly_as_the_values_did() {
    let values = tricky();
    let rows = Rows::from(values.clone());
    assert_eq!(rows.len(), values.len());
    assert_eq!(
        serde_json::to_string(&rows).unwrap(),
        serde_json::to_string(&values).unwrap()
    );
    assert_eq!(
        serde_json::to_string_pretty(&rows).unwrap(),
        serde_json::to_string_pretty(&values).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&rows).unwrap(),
        serde_json::to_value(&values).unwrap()
    );
    assert_eq!(rows.to_value(), serde_json::to_value(&values).unwrap());
    assert_eq!(rows.to_vec(), values);
    assert_eq!(rows, values);
    assert_eq!(
        rows.json_len(),
        serde_json::to_string(&values).unwrap().len() as u64
    );
    let lines: Vec<&str> = rows.json_rows().collect();
    let expected: Vec<String> = values
        .iter()
        .map(|row| serde_json::to_string(row).unwrap())
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(rows.first(), Some(values[0].clone()));
    assert_eq!(rows.get(2), Some(values[2].clone()));
    assert_eq!(rows.get(5), None);
}

#[test]
fn push_returns_the_rows_compact_bytes() {
    let mut rows = Rows::new();
    for row in tricky() {
        let bytes = rows.push(&row);
        assert_eq!(bytes, serde_json::to_string(&row).unwrap().len() as u64);
    }
}

#[test]
fn doubles_read_back_bit_for_bit() {
    // Without the `float_roundtrip` feature serde_json may read a double
    // one unit in the last place off, and the written rows would change.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut values = Vec::new();
    while values.len() < 20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state);
        if x.is_finite() {
            values.push(vec![json!(x), json!(x as f32 as f64)]);
        }
    }
    let rows = Rows::from(values.clone());
    for (got, want) in rows.iter().zip(&values) {
        for (g, w) in got.iter().zip(want) {
            assert_eq!(
                g.as_f64().map(f64::to_bits),
                w.as_f64().map(f64::to_bits),
                "{w}"
            );
        }
    }
    assert_eq!(
        serde_json::to_string_pretty(&rows).unwrap(),
        serde_json::to_string_pretty(&values).unwrap()
    );
}

#[test]
fn no_rows_is_an_empty_array() {
    let rows = Rows::new();
    assert!(rows.is_empty());
    assert_eq!(serde_json::to_string(&rows).unwrap(), "[]");
    assert_eq!(rows.json_len(), 2);
    assert_eq!(rows.first(), None);
}

#[test]
fn pop_takes_back_only_the_last_row() {
    let mut rows = Rows::from(vec![vec![json!("a\nb")], vec![json!(2)]]);
    rows.pop();
    assert_eq!(rows, vec![vec![json!("a\nb")]]);
    rows.pop();
    assert!(rows.is_empty());
    rows.pop();
    assert!(rows.is_empty());
    rows.push(&[json!(3)]);
    assert_eq!(rows, vec![vec![json!(3)]]);
    assert_eq!(serde_json::to_string(&rows).unwrap(), "[[3]]");
}

#[test]
fn a_cell_too_deep_to_read_back_is_kept_as_its_text() {
    let mut deep = json!(1);
    for _ in 0..MAX_CELL_DEPTH + 1 {
        deep = json!([deep]);
    }
    let mut shallow = json!(1);
    for _ in 0..MAX_CELL_DEPTH {
        shallow = json!([shallow]);
    }
    let rows = Rows::from(vec![vec![deep.clone(), shallow.clone()]]);
    assert_eq!(
        rows.first(),
        Some(vec![Value::String(deep.to_string()), shallow])
    );
    // The envelope still writes and reads.
    let written = serde_json::to_string(&rows).unwrap();
    let read: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(read, rows.to_value());
}
