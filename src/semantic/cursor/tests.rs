use super::*;
use crate::error::ErrorCode;

#[test]
fn a_cursor_round_trips_only_for_its_query_and_key() {
    let key = CursorKey::random();
    let cursor = encode(&key, 200, "abc").unwrap();
    assert_eq!(decode(&key, &cursor, "abc").unwrap(), 200);
    let other_query = decode(&key, &cursor, "abd").unwrap_err();
    assert_eq!(other_query.code, ErrorCode::InvalidArgument);
    assert!(other_query.message.contains("different query"));
    assert!(decode(&CursorKey::random(), &cursor, "abc").is_err());
}

#[test]
fn edited_and_malformed_cursors_are_invalid_arguments() {
    let key = CursorKey::random();
    let cursor = encode(&key, 100, "q").unwrap();
    let (body, tag) = cursor.split_once('.').unwrap();
    let forged_body = URL_SAFE_NO_PAD.encode(r#"{"o":999999,"q":"q"}"#);
    let mut flipped = tag.to_string().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::new(),
        "x".into(),
        "..".into(),
        format!("{forged_body}.{tag}"),
        format!("{body}.{}", String::from_utf8(flipped).unwrap()),
        format!("{body}.{tag}x"),
        "a".repeat(4096),
    ] {
        let err = decode(&key, &bad, "q").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
    }
}

#[test]
fn the_key_never_prints() {
    assert_eq!(format!("{:?}", CursorKey::random()), "CursorKey(..)");
}
