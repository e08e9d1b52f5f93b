use super::*;

#[test]
fn keys_default_to_the_schema() {
    assert_eq!(split_key("sales.orders", "public"), ("sales", "orders"));
    assert_eq!(split_key("orders", "public"), ("public", "orders"));
}

#[test]
fn bounds_sort_newest_first_with_default_last() {
    let mut bounds = vec![
        "DEFAULT",
        "FOR VALUES FROM (2) TO (10)",
        "FOR VALUES FROM (10) TO (100)",
        "FOR VALUES FROM (MINVALUE) TO (2)",
    ];
    bounds.sort_by(|a, b| newest_first(a, b));
    assert_eq!(
        bounds,
        [
            "FOR VALUES FROM (10) TO (100)",
            "FOR VALUES FROM (2) TO (10)",
            "FOR VALUES FROM (MINVALUE) TO (2)",
            "DEFAULT"
        ]
    );
}

#[test]
fn date_bounds_sort_as_text() {
    assert_eq!(
        newest_first(
            "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')",
            "FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')"
        ),
        Ordering::Greater
    );
}
