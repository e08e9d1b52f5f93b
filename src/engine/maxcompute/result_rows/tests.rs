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
    assert_eq!(result.rows[0], vec![json!("hél")]);
    assert_eq!(result.rows[1], vec![json!("[1,2")]);
    assert_eq!(result.rows[2], vec![json!(123456789)]);
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
