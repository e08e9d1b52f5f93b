use crate::engine::result::json_len;

#[test]
fn json_len_is_the_compact_length() {
    let value = serde_json::json!({"rows": [[1, "é"]], "n": null});
    assert_eq!(
        json_len(&value),
        serde_json::to_string(&value).unwrap_or_default().len() as u64
    );
}
