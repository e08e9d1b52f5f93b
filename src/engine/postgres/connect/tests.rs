use super::*;

fn settings(host: &str, sslmode: SslMode) -> ConnectSettings {
    let conn = PostgresConnection {
        host: host.into(),
        port: 6543,
        dbname: "crm".into(),
        user: "agent".into(),
        sslmode,
        sslrootcert: None,
        role: None,
        default_schema: "public".into(),
        connect_timeout_seconds: 5,
        require_auth: None,
    };
    ConnectSettings::new("crm", &conn, None)
}

#[test]
fn unverified_remote_connections_are_warned_about() {
    let warning = settings("db.internal", SslMode::Require).transport_warning();
    assert!(warning.is_some_and(|w| w.contains("`sslmode: require`")));
    assert!(settings("db.internal", SslMode::VerifyFull)
        .transport_warning()
        .is_none());
    assert!(settings("127.0.0.1", SslMode::Disable)
        .transport_warning()
        .is_none());
    assert!(settings("/var/run/postgresql", SslMode::Prefer)
        .transport_warning()
        .is_none());
}
