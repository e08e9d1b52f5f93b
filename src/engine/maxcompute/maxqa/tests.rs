use super::*;

#[test]
fn parses_a_connection_and_the_descriptor() {
    let conn = parse_connection(
        r#"{"connInfo":"abc","quotaNickName":"q","quotaType":"fuxi_vw","regionId":"cn"}"#,
    )
    .unwrap();
    assert_eq!(conn.conn_info, "abc");
    assert!(conn.interactive());
    let batch =
        parse_connection(r#"{"connInfo":"x","quotaNickName":"b","quotaType":"FUXI_OFFLINE"}"#)
            .unwrap();
    assert!(!batch.interactive());
    assert!(parse_connection(r#"{"quotaNickName":"q"}"#).is_err());
    let desc = ResultDescriptor::parse(r#"{"IsSelect":true,"SelectResultStatus":"TRUNCATED","Schema":{"Columns":[{"Name":"c","Type":"BIGINT"}]}}"#).unwrap();
    assert_eq!(desc.status, SelectStatus::Truncated);
    assert_eq!(desc.columns, [("c".to_owned(), "bigint".to_owned())]);
    assert_eq!(
        ResultDescriptor::parse(r#"{"IsSelect":false}"#)
            .unwrap()
            .status,
        SelectStatus::No
    );
}

#[test]
fn fallback_header_names_the_quota_when_given() {
    assert_eq!(fallback_header(None), r#"{"Fallback":"true"}"#);
    let named: serde_json::Value = serde_json::from_str(&fallback_header(Some("b"))).unwrap();
    assert_eq!(named["FallbackQuota"], "b");
}
