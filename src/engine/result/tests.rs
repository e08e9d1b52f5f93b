use super::*;
use serde_json::json;

fn builder(limit: u64, cell: u64, total: u64) -> ResultBuilder {
    let columns = vec![ResultColumn {
        name: "a".into(),
        type_name: "string".into(),
    }];
    ResultBuilder::new(columns, limit, cell, total)
}

#[test]
fn the_extra_row_marks_row_limit() {
    let mut b = builder(2, 100, 1000);
    assert!(b.push(vec![json!("x")]));
    assert!(b.push(vec![json!("y")]));
    assert!(!b.push(vec![json!("z")]));
    let result = b.finish();
    assert_eq!(result.rows.len(), 2);
    assert_eq!(result.truncation, Some(Truncation::RowLimit));
}

#[test]
fn cells_are_cut_at_char_boundaries() {
    let mut b = builder(10, 4, 1000);
    assert!(b.push(vec![json!("héllo")]));
    assert!(b.push(vec![json!([1, 2, 3])]));
    assert!(b.push(vec![json!(123456789)]));
    let result = b.finish();
    assert_eq!(result.rows.to_vec()[0], vec![json!("hél")]);
    assert_eq!(result.rows.to_vec()[1], vec![json!("[1,2")]);
    assert_eq!(result.rows.to_vec()[2], vec![json!(123456789)]);
    assert_eq!(result.cells_truncated, 2);
    assert_eq!(result.truncation, None);
}

#[test]
fn the_byte_cap_stops_before_the_row_that_crosses_it() {
    let mut b = builder(10, 100, 20);
    assert!(b.push(vec![json!("0123456789")])); // 14 bytes
    assert!(!b.push(vec![json!("0123456789")]));
    let result = b.finish();
    assert_eq!(result.rows.len(), 1);
    assert_eq!(result.bytes, 14);
    assert_eq!(result.truncation, Some(Truncation::ResultBytes));
}

fn capped(mut value: Value, max: usize) -> (Value, bool) {
    let cut = cap_cell(&mut value, max);
    (value, cut)
}

#[test]
fn cells_are_cut_on_char_boundaries() {
    assert_eq!(capped(json!("aé€"), 4), (json!("aé"), true));
    assert_eq!(capped(json!("abc"), 3), (json!("abc"), false));
    assert_eq!(cut_str("é", 1), "");
    let mut text = String::from("a€b");
    assert!(cut_string(&mut text, 3));
    assert_eq!(text, "a");
}

#[test]
fn oversized_arrays_become_cut_text() {
    assert_eq!(capped(json!([1, 2, 3, 4]), 5), (json!("[1,2,"), true));
    assert_eq!(capped(json!([1, 2]), 5), (json!([1, 2]), false));
    assert_eq!(capped(json!(12345678), 2), (json!(12345678), false));
}

#[test]
fn json_len_counts_compact_bytes() {
    assert_eq!(json_len(&json!(["ab", null, 1])), 13);
    let mut rows = crate::engine::Rows::new();
    assert_eq!(rows.push(&[json!("ab"), json!(null), json!(1)]), 13);
}

#[test]
fn cells_cut_at_the_source_count_once() {
    let mut b = builder(10, 4, 1000);
    assert!(b.push_cut(vec![json!("abcd")], 1));
    assert!(b.push_cut(vec![json!("abcdef")], 0));
    let result = b.finish();
    assert_eq!(result.cells_truncated, 2);
    assert_eq!(result.rows.to_vec()[1], vec![json!("abcd")]);
}
