use super::*;

#[test]
fn near_misses_are_suggested() {
    let e = table_not_allowed("public.order", &["public.orders", "public.customers"]);
    assert!(
        e.hint.starts_with("Did you mean `public.orders`?"),
        "{}",
        e.hint
    );
    let e = table_not_allowed("secrets", &["public.orders"]);
    assert_eq!(e.hint, "Allowed tables: `public.orders`");
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "ab"), 2);
}

/// A name of megabytes is neither compared letter by letter with every
/// choice nor repeated whole: the refusal stays short, and near misses of
/// ordinary length are still found.
#[test]
fn long_names_are_cut_and_not_compared() {
    let long = "z".repeat(4 << 20);
    assert_eq!(near_miss(&long, &["customer_id", "name"]), None);
    // Cut on a character boundary.
    let wide = "é".repeat(1000);
    let e = unknown_column(&wide, &[]);
    assert!(e.message.contains(&"é".repeat(100)), "{}", e.message);
    assert!(!e.message.contains(&"é".repeat(101)), "{}", e.message);
    assert_eq!(
        near_miss("custmer_id", &["customer_id", "name"]),
        Some("customer_id")
    );
    for e in [
        column_not_allowed("public.orders", &long, &["order_id"]),
        unknown_column(&long, &["order_id"]),
        table_not_allowed(&long, &["public.orders"]),
    ] {
        assert!(e.message.len() < 400, "{}", e.message.len());
        assert!(
            e.message.contains("(4194304 bytes in all)"),
            "{:.300}",
            e.message
        );
        assert!(e.hint.len() < 400, "{}", e.hint.len());
    }
}
