use super::*;

/// A column of `ty` with modifier `typmod`.
fn column(ty: Type, typmod: i32) -> ColumnType {
    ColumnType { ty, typmod }
}

#[test]
fn each_column_is_bounded_and_cut_text_trails() {
    let sql = wrap(
        "SELECT a, b FROM t -- note",
        &[Sent::Bounded, Sent::Bounded],
        10,
        101,
    );
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
    let sql = wrap(
        "SELECT a, b, c, d FROM t",
        &[
            Sent::Whole(Type::INT4),
            Sent::Bounded,
            Sent::Whole(Type::DATE),
            Sent::Held(column(Type::VARCHAR, 44 + 4)),
        ],
        4096,
        11,
    );
    assert_eq!(
        sql,
        "SELECT q.c1, CASE WHEN q.w2 THEN q.c2 END, q.c3, q.c4::pg_catalog.varchar(44), \
         CASE WHEN NOT q.w2 THEN ARRAY[NULL, \
         CASE WHEN NOT q.w2 THEN pg_catalog.left(pg_catalog.to_json(q.c2)::pg_catalog.text, 8193) END, \
         NULL, NULL]::pg_catalog.text[] END\n\
         FROM (SELECT q0.c1, q0.c2, q0.c3, q0.c4, \
         pg_catalog.octet_length(q0.c2::pg_catalog.text) <= 4096 AS w2 \
         FROM (\nSELECT a, b, c, d FROM t\n) AS q0 (c1, c2, c3, c4) OFFSET 0) AS q\nLIMIT 11"
    );
    // Nothing to measure: one derived table, no flag, no array.
    let sql = wrap(
        "SELECT a, b FROM t",
        &[
            Sent::Whole(Type::INT8),
            Sent::Held(column(Type::NUMERIC, (15 << 16) + 2 + 4)),
        ],
        4096,
        11,
    );
    assert_eq!(
        sql,
        "SELECT q0.c1, q0.c2::pg_catalog.numeric(15, 2), NULL::pg_catalog.text[]\n\
         FROM (\nSELECT a, b FROM t\n) AS q0 (c1, c2)\nLIMIT 11"
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
        Type::INET,
        Type::MACADDR8,
    ] {
        // Whatever the modifier (`timestamptz(3)`).
        for typmod in [-1, 3] {
            let short = column(ty.clone(), typmod);
            assert_eq!(sent(&short, 4096), Sent::Whole(ty.clone()), "{ty}");
            assert_eq!(sent(&short, 64), Sent::Whole(ty.clone()), "{ty}");
            assert_eq!(sent(&short, 63), Sent::Bounded, "{ty}");
        }
    }
    for ty in [
        Type::NUMERIC,
        Type::BPCHAR,
        Type::BIT,
        Type::INTERVAL,
        Type::MONEY,
        Type::INT4_ARRAY,
        Type::VARCHAR_ARRAY,
        Type::JSONB,
        Type::BYTEA,
        Type::POINT,
    ] {
        assert_eq!(
            sent(&column(ty.clone(), -1), u64::MAX),
            Sent::Bounded,
            "{ty}"
        );
    }
    // A modifier bounds only the types it counts characters, digits or
    // bits of; an array's modifier is its elements'.
    for ty in [Type::INTERVAL, Type::VARCHAR_ARRAY, Type::TIMESTAMP_ARRAY] {
        assert_eq!(
            sent(&column(ty.clone(), 14), u64::MAX),
            Sent::Bounded,
            "{ty}"
        );
    }
}

#[test]
fn a_modifier_bounds_the_text_of_strings_numbers_and_bits() {
    // (type, modifier, the longest text in bytes, its SQL type)
    let cases = [
        (Type::VARCHAR, 44 + 4, 176, "pg_catalog.varchar(44)"),
        (Type::VARCHAR, 1 + 4, 4, "pg_catalog.varchar(1)"),
        (Type::BPCHAR, 25 + 4, 100, "pg_catalog.bpchar(25)"),
        // numeric(15, 2): sign, 13 digits, point, 2 digits.
        (
            Type::NUMERIC,
            (15 << 16) + 2 + 4,
            18,
            "pg_catalog.numeric(15, 2)",
        ),
        // numeric(3, 3): `-0.999`.
        (
            Type::NUMERIC,
            (3 << 16) + 3 + 4,
            6,
            "pg_catalog.numeric(3, 3)",
        ),
        // numeric(3, 5) (PostgreSQL 15): `-0.00999`.
        (
            Type::NUMERIC,
            (3 << 16) + 5 + 4,
            8,
            "pg_catalog.numeric(3, 5)",
        ),
        // numeric(2, -3) (PostgreSQL 15): `-99000`, the scale in 11 bits.
        (
            Type::NUMERIC,
            (2 << 16) + 0x7fd + 4,
            8,
            "pg_catalog.numeric(2, -3)",
        ),
        (Type::BIT, 12, 12, "pg_catalog.bit(12)"),
        (Type::VARBIT, 7, 7, "pg_catalog.varbit(7)"),
    ];
    for (ty, typmod, longest, sql) in cases {
        let held = column(ty.clone(), typmod);
        assert_eq!(longest_by_modifier(&held), Some(longest), "{ty}({typmod})");
        assert_eq!(held_type(&held), sql);
        assert_eq!(sent(&held, longest), Sent::Held(held.clone()), "{sql}");
        let over = if ty == Type::VARCHAR {
            Sent::Prefix(Type::VARCHAR)
        } else {
            Sent::Bounded
        };
        assert_eq!(sent(&held, longest - 1), over, "{sql}");
    }
    // No modifier, or none a column of the type can have.
    for (ty, typmod) in [
        (Type::VARCHAR, -1),
        (Type::VARCHAR, 4),
        (Type::NUMERIC, -1),
        (Type::NUMERIC, 3),
        (Type::BIT, 0),
        (Type::VARBIT, -1),
    ] {
        assert_eq!(
            longest_by_modifier(&column(ty.clone(), typmod)),
            None,
            "{ty}({typmod})"
        );
    }
}

#[test]
fn a_string_over_the_cap_is_sent_as_a_prefix_of_one_character_more() {
    // `text` whatever its modifier, `varchar` without one or with one
    // above the cap; never `bpchar`, whose padding `left` would drop.
    for (ty, typmod) in [
        (Type::TEXT, -1),
        (Type::TEXT, 14),
        (Type::VARCHAR, -1),
        (Type::VARCHAR, 2000 + 4),
    ] {
        assert_eq!(
            sent(&column(ty.clone(), typmod), 4096),
            Sent::Prefix(ty.clone()),
            "{ty}({typmod})"
        );
    }
    // `left` takes a 32-bit count.
    for ty in [Type::TEXT, Type::VARCHAR] {
        assert_eq!(
            sent(&column(ty.clone(), -1), u64::from(u32::MAX)),
            Sent::Bounded,
            "{ty}"
        );
    }
    assert_eq!(
        sent(&column(Type::VARCHAR, -1), i32::MAX as u64 - 1),
        Sent::Prefix(Type::VARCHAR)
    );
    assert_eq!(sent(&column(Type::BPCHAR, -1), 4096), Sent::Bounded);
    assert_eq!(sent(&column(Type::BPCHAR, 2000 + 4), 4096), Sent::Bounded);
    let sql = wrap(
        "SELECT a, b, c FROM t",
        &[
            Sent::Prefix(Type::TEXT),
            Sent::Prefix(Type::VARCHAR),
            Sent::Whole(Type::INT4),
        ],
        10,
        2,
    );
    assert_eq!(
        sql,
        "SELECT pg_catalog.left(q0.c1, 11), \
         pg_catalog.left(q0.c2, 11)::pg_catalog.varchar, q0.c3, \
         NULL::pg_catalog.text[]\n\
         FROM (\nSELECT a, b, c FROM t\n) AS q0 (c1, c2, c3)\nLIMIT 2"
    );
    // Beside a measured column, the prefix is taken of the flagged table's
    // copy, once.
    let sql = wrap(
        "SELECT a, b FROM t",
        &[Sent::Prefix(Type::TEXT), Sent::Bounded],
        10,
        2,
    );
    assert!(
        sql.starts_with("SELECT pg_catalog.left(q.c1, 11), CASE WHEN q.w2 THEN q.c2 END, "),
        "{sql}"
    );
    assert!(!sql.contains("w1"), "the prefix is not measured: {sql}");
    assert!(sql.contains("ARRAY[NULL, CASE WHEN NOT q.w2"), "{sql}");
}

#[test]
fn the_server_description_must_keep_a_held_modifier() {
    let held = Sent::Held(column(Type::VARCHAR, 14));
    assert!(held.describes(&Type::VARCHAR, 14));
    assert!(
        !held.describes(&Type::VARCHAR, -1),
        "a set operation widened it"
    );
    assert!(!held.describes(&Type::VARCHAR, 20));
    assert!(!held.describes(&Type::TEXT, 14));
    let whole = Sent::Whole(Type::TIMESTAMP);
    assert!(
        whole.describes(&Type::TIMESTAMP, 3),
        "any precision is short"
    );
    assert!(!whole.describes(&Type::TIMESTAMPTZ, -1));
    assert!(Sent::Bounded.describes(&Type::TEXT, -1));
    let prefix = Sent::Prefix(Type::TEXT);
    assert!(prefix.describes(&Type::TEXT, -1));
    assert!(
        !prefix.describes(&Type::VARCHAR, -1),
        "left would make it text"
    );
    assert!(!prefix.describes(&Type::JSONB, -1));
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
