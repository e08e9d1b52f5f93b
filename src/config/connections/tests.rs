use super::*;

#[test]
fn the_default_rule_keeps_passwords_inside_verified_tls() {
    let rule = AuthRule::new(None);
    for channel in [Channel::Plain, Channel::UnverifiedTls] {
        assert!(rule.permits(AuthMethod::ScramSha256, channel));
        assert!(rule.permits(AuthMethod::None, channel));
        assert!(!rule.permits(AuthMethod::Password, channel));
        assert!(!rule.permits(AuthMethod::Md5, channel));
    }
    assert!(rule.permits(AuthMethod::Password, Channel::VerifiedTls));
    assert!(rule.permits(AuthMethod::Md5, Channel::VerifiedTls));
}

#[test]
fn an_explicit_list_is_exactly_what_is_accepted() {
    let rule = AuthRule::new(Some(vec![AuthMethod::ScramSha256]));
    assert!(!rule.permits(AuthMethod::None, Channel::VerifiedTls));
    assert!(!rule.permits(AuthMethod::Password, Channel::VerifiedTls));
    assert!(rule.permits(AuthMethod::ScramSha256, Channel::Plain));
    let rule = AuthRule::new(Some(vec![AuthMethod::Md5]));
    assert!(rule.permits(AuthMethod::Md5, Channel::Plain));
}

fn parse(yaml: &str) -> PostgresConnection {
    match serde_saphyr::from_str::<Connection>(yaml) {
        Ok(Connection::Postgres(pg)) => pg,
        other => panic!("not a postgres connection: {other:?}"),
    }
}

#[test]
fn sslmode_defaults_to_verify_full_off_the_machine() {
    let base = "engine: postgres\ndbname: crm\nuser: agent\n";
    for (host, expected) in [
        ("db.example.com", SslMode::VerifyFull),
        ("10.0.0.7", SslMode::VerifyFull),
        ("localhost", SslMode::Prefer),
        ("127.0.0.1", SslMode::Prefer),
        ("::1", SslMode::Prefer),
        ("/var/run/postgresql", SslMode::Prefer),
    ] {
        let pg = parse(&format!("{base}host: \"{host}\"\n"));
        assert_eq!(pg.sslmode, expected, "{host}");
    }
    let pg = parse(&format!("{base}host: db.example.com\nsslmode: require\n"));
    assert_eq!(pg.sslmode, SslMode::Require);
    assert_eq!(pg.require_auth, None);
    let pg = parse(&format!(
        "{base}host: db.example.com\nrequire_auth: [scram-sha-256, md5]\n"
    ));
    assert_eq!(
        pg.require_auth,
        Some(vec![AuthMethod::ScramSha256, AuthMethod::Md5])
    );
    assert!(serde_saphyr::from_str::<Connection>(&format!(
        "{base}host: h\nrequire_auth: [kerberos]\n"
    ))
    .is_err());
}

#[test]
fn acceptance_names_the_transport_and_the_methods() {
    let base = "engine: postgres\ndbname: crm\nuser: agent\n";
    let local = parse(&format!("{base}host: 127.0.0.1\n")).acceptance();
    assert!(local.contains("sslmode `prefer`"), "{local}");
    assert!(
        local.contains("with TLS (certificate not verified): none, scram-sha-256; without TLS: none, scram-sha-256;"),
        "{local}"
    );
    let remote = parse(&format!("{base}host: db.example.com\n")).acceptance();
    assert!(
        remote.contains("sslmode `verify-full` (TLS always)"),
        "{remote}"
    );
    assert!(
        remote.contains("none, scram-sha-256, md5, password"),
        "{remote}"
    );
    assert!(!remote.contains("without TLS"), "{remote}");
    let socket = parse(&format!("{base}host: /tmp\nsslmode: verify-full\n")).acceptance();
    assert!(socket.contains("sslmode `disable`"), "{socket}");
}
