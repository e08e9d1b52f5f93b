use super::*;

#[test]
fn parses_session_json_in_both_spellings() {
    let lower = parse_session(r#"{"DownloadID":"d1","Status":"normal","RecordCount":2,"Schema":{"columns":[{"name":"id","type":"BIGINT","nullable":true}],"partitionKeys":[]}}"#).unwrap();
    assert_eq!(lower.id, "d1");
    assert_eq!(lower.record_count, 2);
    assert_eq!(lower.columns[0].type_name, "bigint");
    let upper = parse_session(r#"{"DownloadID":"d2","Status":"NORMAL","RecordCount":0,"Schema":{"DataColumns":[{"Name":"n","Type":"string"}]}}"#).unwrap();
    assert_eq!(upper.columns[0].name, "n");
    assert!(parse_session(r#"{"DownloadID":"d3","Status":"EXPIRED","RecordCount":1}"#).is_err());
    assert!(parse_session("<Error/>").is_err());
}

#[test]
fn refusals_that_fall_back() {
    let error = |status: u16, code: &str| McError::Service {
        status,
        code: code.into(),
        message: String::new(),
        request_id: None,
    };
    assert!(refused(&error(400, "InvalidArgument")));
    assert!(refused(&error(404, "")));
    assert!(!refused(&error(403, "SignatureNotMatch")));
    assert!(!refused(&error(500, "InternalServerError")));
    assert!(!refused(&McError::Protocol("x".into())));
}

#[test]
fn feed_waits_for_doubling() {
    let mut feed = Feed::default();
    feed.push(b"abcd");
    assert!(feed.ready());
    feed.wait_for_more();
    feed.push(b"ef");
    assert!(!feed.ready());
    feed.push(b"gh");
    assert!(feed.ready());
    feed.consume(6);
    assert_eq!(feed.pending(), b"gh");
    feed.push(b"i");
    assert_eq!(feed.pending(), b"ghi");
}
