use super::*;

#[test]
fn terminal_controls_are_escaped_and_json_stays_json() {
    let forged =
        "SELECT 1\x1b[1G\x1b[2K2026-01-09 10:00:00  ok  run_select_sql\r\u{9b}2K\u{202e}x\u{7f}";
    let escaped = escape_controls(forged);
    assert!(!escaped.chars().any(is_dangerous), "{escaped}");
    assert!(escaped.contains("\\u001b[1G"), "{escaped}");
    assert!(escaped.contains("\\u000d"), "{escaped}");
    assert!(escaped.contains("\\u009b"), "{escaped}");
    assert!(escaped.contains("\\u202e"), "{escaped}");
    assert_eq!(escape_controls("a\n\tb"), "a\n\tb");
    assert_eq!(escape_line("a\n\tb"), "a\\u000a\\u0009b");
    assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
    let json = serde_json::json!({"sql": "x\u{9b}y\u{202e}"}).to_string();
    let back: serde_json::Value =
        serde_json::from_str(&escape_controls(&json)).expect("still JSON");
    assert_eq!(back["sql"], "x\u{9b}y\u{202e}");
}

#[test]
fn table_cells_stay_on_one_line() {
    let text = table(&["c".into()], &[vec!["a\nforged | row".into()]]);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn table_aligns_columns() {
    let text = table(
        &["id".into(), "name".into()],
        &[
            vec!["1".into(), "Ann".into()],
            vec!["100".into(), "B".into()],
        ],
    );
    assert_eq!(text, "id  | name\n----+-----\n1   | Ann\n100 | B");
}

#[test]
fn streamed_json_is_escaped_as_the_whole_string_would_be() {
    let text = "{\"a\": \"x\u{85}y \u{202e}z 中文 🦀 \u{1b}[31m\"}\n";
    let bytes = text.as_bytes();
    // Every split point, through the middle of every multi-byte character.
    for cut in 0..=bytes.len() {
        let mut out = Vec::new();
        {
            let mut escaping = Escaping::new(&mut out);
            escaping.write_all(&bytes[..cut]).unwrap();
            escaping.write_all(&bytes[cut..]).unwrap();
            escaping.flush().unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            escape_controls(text),
            "cut at {cut}"
        );
    }
    // One byte at a time.
    let mut out = Vec::new();
    {
        let mut escaping = Escaping::new(&mut out);
        for byte in bytes {
            escaping.write_all(std::slice::from_ref(byte)).unwrap();
        }
        escaping.flush().unwrap();
    }
    assert_eq!(String::from_utf8(out).unwrap(), escape_controls(text));
}
