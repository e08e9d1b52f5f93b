//! TLS per `sslmode` against the shared test server, which offers TLS with
//! Debian's snakeoil certificate (issued to `localhost`, self-signed).

use sqlwarden::config::SslMode;
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::Engine;
use sqlwarden::error::ErrorCode;

use super::{connection, trusting};
use crate::support::pg::{self, TestDb};

/// The TLS tests need the shared server to offer TLS (Debian's default,
/// with the snakeoil certificate for `localhost`).
async fn server_certificate() -> String {
    let admin = pg::connect("postgres").await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.expect("ssl").get(0);
    assert_eq!(
        ssl, "on",
        "the TLS tests need `ssl = on` on the test server"
    );
    admin
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .expect("ssl_cert_file")
        .get(0)
}

/// Probe over TLS in `db`; whether every sqlwarden session of that
/// database is encrypted.
async fn tls_probe(
    db: &TestDb,
    host: &str,
    sslmode: SslMode,
    root: Option<&str>,
) -> Result<bool, sqlwarden::error::ToolError> {
    let mut conn = connection(&db.name);
    conn.host = host.into();
    conn.sslmode = sslmode;
    conn.sslrootcert = root.map(str::to_owned);
    let engine = PostgresEngine::new("crm", &conn, None, trusting());
    // The probe leaves its connection idle in the pool, so it is still
    // listed while we look.
    engine.probe().await?;
    let row = pg::connect("postgres")
        .await
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'sqlwarden' AND a.datname = $1",
            &[&db.name],
        )
        .await
        .expect("pg_stat_ssl");
    let (all, encrypted): (i64, i64) = (row.get(0), row.get(1));
    Ok(all > 0 && all == encrypted)
}

#[tokio::test]
async fn tls_modes_encrypt_and_verify_as_libpq() {
    let cert = server_certificate().await;
    let db = TestDb::create("tls").await;
    assert!(tls_probe(&db, "127.0.0.1", SslMode::Require, None)
        .await
        .expect("require"));
    assert!(tls_probe(&db, "127.0.0.1", SslMode::Prefer, None)
        .await
        .expect("prefer"));

    // An unknown issuer fails verification.
    let error = tls_probe(&db, "127.0.0.1", SslMode::VerifyFull, None)
        .await
        .expect_err("snakeoil is not trusted");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.message.contains("TLS"), "{}", error.message);
    assert!(error.hint.contains("sslmode"), "{}", error.hint);

    // Trusting the certificate: verify-ca ignores the host name...
    assert!(tls_probe(&db, "127.0.0.1", SslMode::VerifyCa, Some(&cert))
        .await
        .expect("verify-ca"));
    // ...verify-full does not: the certificate names `localhost`.
    let error = tls_probe(&db, "127.0.0.1", SslMode::VerifyFull, Some(&cert))
        .await
        .expect_err("wrong host name");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(
        tls_probe(&db, "localhost", SslMode::VerifyFull, Some(&cert))
            .await
            .expect("verify-full")
    );

    let error = tls_probe(
        &db,
        "127.0.0.1",
        SslMode::VerifyCa,
        Some("/nonexistent/root.pem"),
    )
    .await
    .expect_err("missing root file");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.hint.contains("sslrootcert"), "{}", error.hint);
}
