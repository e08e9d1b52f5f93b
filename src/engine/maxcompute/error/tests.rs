use super::*;

fn service(status: u16, code: &str, message: &str) -> McError {
    McError::Service {
        status,
        code: code.into(),
        message: message.into(),
        request_id: Some("rid-1".into()),
    }
}

#[test]
fn signature_errors_name_the_auth_command() {
    let error = service(
        403,
        "SignatureNotMatch",
        "ODPS-0410042:Invalid signature value",
    )
    .to_tool_error("dw");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(error.hint.contains("sqlwarden auth set dw"));
    assert!(error.hint.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
    assert!(error.message.contains("rid-1"));
    let unknown_key = service(
        400,
        "InvalidParameter",
        "ODPS-0410051:Invalid credentials - accessKeyId not found",
    );
    assert_eq!(
        unknown_key.to_tool_error("dw").code,
        ErrorCode::CredentialsMissing
    );
}

#[test]
fn other_service_errors() {
    assert_eq!(
        service(403, "RequestTimeTooSkewd", "x")
            .to_tool_error("dw")
            .code,
        ErrorCode::BackendError
    );
    let denied = service(403, "NoPermission", "ODPS-0420095: Access Denied").to_tool_error("dw");
    assert_eq!(denied.code, ErrorCode::BackendError);
    assert!(denied.hint.contains("grant"));
    assert_eq!(
        service(503, "ServiceUnavailable", "x")
            .to_tool_error("dw")
            .code,
        ErrorCode::BackendUnavailable
    );
    assert_eq!(
        service(429, "QPSExceeded", "x").to_tool_error("dw").code,
        ErrorCode::BackendUnavailable
    );
    let odd = service(400, "Bad<Code>\nInjected", "echo: secret row");
    let mapped = odd.to_tool_error("dw");
    assert!(!mapped.message.contains('<') && !mapped.message.contains('\n'));
    assert_eq!(mapped.untrusted_detail.as_deref(), Some("echo: secret row"));
}

#[test]
fn not_found_detection() {
    assert!(service(404, "NoSuchObject", "ODPS-0130131:Table not found").is_not_found());
    assert!(service(404, "", "").is_not_found());
    assert!(!service(403, "NoPermission", "").is_not_found());
}

#[test]
fn task_failures_keep_the_message_as_untrusted() {
    let full_scan = McError::TaskFailed {
        message: "ODPS-0130071:... Table(p,t) is full scan with all partitions, please specify partition predicates.".into(),
        instance_id: "2026x".into(),
    };
    assert_eq!(
        full_scan.to_tool_error("dw").code,
        ErrorCode::PartitionFilterRequired
    );
    let parse = McError::TaskFailed {
        message: "ODPS-0130161:[1,8] Parse exception".into(),
        instance_id: "2026x".into(),
    };
    let mapped = parse.to_tool_error("dw");
    assert_eq!(mapped.code, ErrorCode::BackendError);
    assert!(mapped.untrusted_detail.unwrap().contains("Parse exception"));
    let network = McError::Network {
        host: "h:1".into(),
        detail: "refused".into(),
    };
    assert_eq!(
        network.to_tool_error("dw").code,
        ErrorCode::BackendUnavailable
    );
}
