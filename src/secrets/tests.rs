use super::*;

fn keys() -> MaxComputeKeys {
    MaxComputeKeys {
        access_key_id: "LTAI5tExampleId".into(),
        access_key_secret: Secret::new("very-secret-value"),
        security_token: Some(Secret::new("sts-token-value")),
    }
}

#[test]
fn secrets_never_print() {
    let doc = SecretDoc::MaxCompute(keys());
    let shown = format!(
        "{doc:?} {:?} {}",
        Secret::new("pw-value"),
        Secret::new("pw-value")
    );
    for value in [
        "very-secret-value",
        "sts-token-value",
        "LTAI5tExampleId",
        "pw-value",
    ] {
        assert!(!shown.contains(value), "{shown}");
    }
    assert!(shown.contains("LTAI***"), "{shown}");
}

#[test]
fn documents_round_trip_as_json() {
    let pg = SecretDoc::Postgres {
        password: Secret::new("p\"w"),
    };
    assert_eq!(pg.to_json(), r#"{"password":"p\"w"}"#);
    assert_eq!(SecretDoc::from_json(&pg.to_json()), Some(pg));
    let mc = SecretDoc::MaxCompute(keys());
    assert_eq!(SecretDoc::from_json(&mc.to_json()), Some(mc));
    let no_token = r#"{"access_key_id":"a","access_key_secret":"b"}"#;
    assert!(SecretDoc::from_json(no_token).is_some());
}

#[test]
fn malformed_documents_are_refused() {
    for text in [
        "",
        "pw",
        "{}",
        r#"{"password":"a","access_key_id":"b"}"#,
        r#"{"access_key_id":"b"}"#,
        r#"{"password":"a","extra":1}"#,
    ] {
        assert_eq!(SecretDoc::from_json(text), None, "{text}");
    }
}

#[test]
fn hints_name_the_fix() {
    let err = unavailable(
        "crm",
        Unusable("no session keyring".into()),
        Some(EngineKind::Postgres),
    );
    assert!(
        err.hint()
            .contains("`SQLWARDEN_CRM_PASSWORD` (or `PGPASSWORD`)"),
        "{}",
        err.hint()
    );
    let err = SecretsError::Malformed {
        connection: "dw".into(),
    };
    assert!(err.hint().contains("`sqlwarden auth set dw`"));
}
