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
