use super::*;

#[test]
fn error_documents_in_xml_json_and_text() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchObject</Code><Message><![CDATA[ODPS-0130131:Table not found - t]]></Message><RequestId>r1</RequestId><HostId>h</HostId></Error>";
    let doc = parse_error_doc(xml);
    assert_eq!(doc.code.as_deref(), Some("NoSuchObject"));
    assert_eq!(
        doc.message.as_deref(),
        Some("ODPS-0130131:Table not found - t")
    );
    assert_eq!(doc.request_id.as_deref(), Some("r1"));
    let json = parse_error_doc(r#"{"Code":"QPSExceeded","Message":"slow down","RequestId":"r2"}"#);
    assert_eq!(json.code.as_deref(), Some("QPSExceeded"));
    let text = parse_error_doc("Bad Gateway");
    assert_eq!(text.code, None);
    assert_eq!(text.message.as_deref(), Some("Bad Gateway"));
}

#[test]
fn client_builds_without_network() {
    let keys = MaxComputeKeys {
        access_key_id: "ak".into(),
        access_key_secret: crate::secrets::Secret::new("sk"),
        security_token: None,
    };
    let client = RestClient::new(
        Endpoint::parse("https://service.cn-hangzhou.maxcompute.aliyun.com/api").unwrap(),
        keys,
        SignatureVersion::V2,
        "p".into(),
        None,
    )
    .unwrap();
    assert_eq!(client.project(), "p");
}
