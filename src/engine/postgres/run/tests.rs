use super::*;
use serde_json::json;

#[test]
fn cells_are_cut_on_char_boundaries() {
    let (value, cut) = cap_cell(json!("aé€"), 4);
    assert_eq!((value, cut), (json!("aé"), true));
    let (value, cut) = cap_cell(json!("abc"), 3);
    assert_eq!((value, cut), (json!("abc"), false));
}

#[test]
fn oversized_arrays_become_cut_text() {
    let (value, cut) = cap_cell(json!([1, 2, 3, 4]), 5);
    assert_eq!((value, cut), (json!("[1,2,"), true));
    let (value, cut) = cap_cell(json!(12345678), 2);
    assert_eq!((value, cut), (json!(12345678), false));
}

#[test]
fn json_size_counts_compact_bytes() {
    assert_eq!(json_size(&json!(["ab", null, 1])), 13);
    assert_eq!(row_size(&[json!("ab"), json!(null), json!(1)]), 13);
}
