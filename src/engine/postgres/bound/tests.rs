use super::*;

#[test]
fn each_column_is_bounded_and_cut_text_trails() {
    let sql = wrap("SELECT a, b FROM t -- note", &[false, false], 10, 101);
    assert_eq!(
        sql,
        "SELECT CASE WHEN q.w1 THEN q.c1 END, CASE WHEN q.w2 THEN q.c2 END, \
         CASE WHEN NOT q.w1 OR NOT q.w2 THEN ARRAY[\
         CASE WHEN NOT q.w1 THEN pg_catalog.left(pg_catalog.to_json(q.c1)::pg_catalog.text, 21) END, \
         CASE WHEN NOT q.w2 THEN pg_catalog.left(pg_catalog.to_json(q.c2)::pg_catalog.text, 21) END\
         ]::pg_catalog.text[] END\n\
         FROM (SELECT q0.c1, q0.c2, \
         pg_catalog.octet_length(q0.c1::pg_catalog.text) <= 10 AS w1, \
         pg_catalog.octet_length(q0.c2::pg_catalog.text) <= 10 AS w2 \
         FROM (\nSELECT a, b FROM t -- note\n) AS q0 (c1, c2) OFFSET 0) AS q\nLIMIT 101"
    );
    assert!(!sql.contains("pg_typeof"), "no choice on the server: {sql}");
    assert!(!sql.contains("pg_type "), "no catalog lookup: {sql}");
}

#[test]
fn a_column_that_always_fits_is_sent_as_it_is() {
    let sql = wrap("SELECT a, b, c FROM t", &[true, false, true], 4096, 11);
    assert_eq!(
        sql,
        "SELECT q.c1, CASE WHEN q.w2 THEN q.c2 END, q.c3, \
         CASE WHEN NOT q.w2 THEN ARRAY[NULL, \
         CASE WHEN NOT q.w2 THEN pg_catalog.left(pg_catalog.to_json(q.c2)::pg_catalog.text, 8193) END, \
         NULL]::pg_catalog.text[] END\n\
         FROM (SELECT q0.c1, q0.c2, q0.c3, \
         pg_catalog.octet_length(q0.c2::pg_catalog.text) <= 4096 AS w2 \
         FROM (\nSELECT a, b, c FROM t\n) AS q0 (c1, c2, c3) OFFSET 0) AS q\nLIMIT 11"
    );
    // Nothing to bound: no flag, no array.
    let sql = wrap("SELECT a FROM t", &[true], 4096, 11);
    assert_eq!(
        sql,
        "SELECT q.c1, NULL::pg_catalog.text[]\nFROM (SELECT q0.c1 FROM (\nSELECT a FROM t\n) \
         AS q0 (c1) OFFSET 0) AS q\nLIMIT 11"
    );
}

#[test]
fn only_short_types_always_fit_and_only_a_cap_above_their_text() {
    for ty in [
        Type::INT4,
        Type::INT8,
        Type::BOOL,
        Type::TIMESTAMPTZ,
        Type::UUID,
        Type::FLOAT8,
    ] {
        assert!(always_fits(&ty, 4096), "{ty}");
        assert!(always_fits(&ty, 64), "{ty}");
        assert!(!always_fits(&ty, 63), "{ty}");
    }
    for ty in [
        Type::TEXT,
        Type::NUMERIC,
        Type::INTERVAL,
        Type::MONEY,
        Type::INT4_ARRAY,
        Type::JSONB,
        Type::BYTEA,
        Type::INET,
    ] {
        assert!(!always_fits(&ty, u64::MAX), "{ty}");
    }
}

#[test]
fn a_string_reads_back_as_its_own_text_from_a_cut_json_string() {
    let cases = [
        // Cut anywhere: inside the text, right after the opening quote.
        ("\"abcdef", "abcdef"),
        ("\"", ""),
        // Whole, with the closing quote (and nothing after it kept).
        ("\"ab\"", "ab"),
        // Every short escape.
        (
            r#""q\"b\\s\/b\bf\fn\nr\rt\t""#,
            "q\"b\\s/b\u{8}f\u{c}n\nr\rt\t",
        ),
        // Unicode escapes, a surrogate pair joined, a lone one replaced.
        (r#""\u0001\u00e9\ud83d\ude00\ud800x""#, "\u{1}é😀\u{FFFD}x"),
        // Non-ASCII as it is.
        ("\"日本語", "日本語"),
        // The cut fell inside an escape: up to the last whole one.
        (r#""ab\"#, "ab"),
        (r#""ab\u00"#, "ab"),
        (r#""ab\ud83d"#, "ab\u{FFFD}"),
        (r#""ab\ud83d\ude0"#, "ab"),
    ];
    for (sent, own) in cases {
        assert_eq!(cut_text(&Type::TEXT, sent.to_owned()), own, "{sent}");
    }
    // Not a JSON string (it cannot come from `to_json` of a string): as it
    // is.
    assert_eq!(cut_text(&Type::TEXT, r"ab\".to_owned()), "ab\\");
}

#[test]
fn other_types_keep_their_json_text() {
    for ty in [
        Type::JSON,
        Type::JSONB,
        Type::INT4_ARRAY,
        Type::RECORD,
        Type::INT4_RANGE,
    ] {
        for sent in ["\"[1,2", "{\"a\": \"b", "[1,2,3"] {
            assert_eq!(cut_text(&ty, sent.to_owned()), sent, "{ty}");
        }
    }
    for ty in [
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::CHAR,
        Type::BYTEA,
        Type::XML,
    ] {
        assert_eq!(cut_text(&ty, "\"\\\\x0001".to_owned()), "\\x0001", "{ty}");
    }
}
