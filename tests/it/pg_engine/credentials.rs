//! `CREDENTIALS_MISSING` against a server that really asks for a password:
//! the shared test server trusts every local login, so these tests start a
//! private cluster with `scram-sha-256` authentication.

use sqlwarden::config::SslMode;
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::Engine;
use sqlwarden::error::ErrorCode;
use sqlwarden::secrets::Secret;

use super::{connection, trusting};
use crate::support::pg_cluster::{Auth, PgCluster};

/// A private cluster that requires `scram-sha-256` passwords.
struct PasswordServer {
    cluster: PgCluster,
}

const SERVER_PASSWORD: &str = "correct horse battery staple";

impl PasswordServer {
    fn start() -> PasswordServer {
        PasswordServer {
            cluster: PgCluster::start(Auth::Password(SERVER_PASSWORD)),
        }
    }

    fn engine(&self, password: Option<&str>) -> PostgresEngine {
        self.engine_with_tls(password, SslMode::Disable)
    }

    fn engine_with_tls(&self, password: Option<&str>, sslmode: SslMode) -> PostgresEngine {
        let mut conn = connection("postgres");
        conn.host = "127.0.0.1".into();
        conn.port = self.cluster.port();
        conn.sslmode = sslmode;
        PostgresEngine::new("pwdb", &conn, password.map(Secret::new), trusting())
    }
}

#[tokio::test]
async fn password_prompt_without_a_stored_password_is_credentials_missing() {
    let server = PasswordServer::start();

    let error = server.engine(None).probe().await.expect_err("no password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing, "{error:?}");
    assert!(
        error.message.contains("none is stored"),
        "{}",
        error.message
    );
    assert!(
        error.hint.contains("sqlwarden auth set pwdb"),
        "{}",
        error.hint
    );
    assert!(
        error.hint.contains("SQLWARDEN_PWDB_PASSWORD"),
        "{}",
        error.hint
    );
    assert!(error.hint.contains("PGPASSWORD"), "{}", error.hint);

    let error = server
        .engine(Some("wrong"))
        .probe()
        .await
        .expect_err("wrong password");
    assert_eq!(error.code, ErrorCode::CredentialsMissing);
    assert!(
        error.message.contains("refused the stored password"),
        "{}",
        error.message
    );
    assert!(
        !format!("{error:?}").contains("wrong\""),
        "the secret never appears"
    );

    let report = server
        .engine(Some(SERVER_PASSWORD))
        .probe()
        .await
        .expect("right password");
    assert_eq!(report.login, "postgres");
}

/// The private cluster has no TLS: `prefer` falls back to plain TCP (as
/// libpq does), `require` refuses to connect.
#[tokio::test]
async fn prefer_falls_back_and_require_refuses_without_server_tls() {
    let server = PasswordServer::start();
    server
        .engine_with_tls(Some(SERVER_PASSWORD), SslMode::Prefer)
        .probe()
        .await
        .expect("prefer connects without TLS");
    let error = server
        .engine_with_tls(Some(SERVER_PASSWORD), SslMode::Require)
        .probe()
        .await
        .expect_err("require needs TLS");
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
    assert!(error.message.contains("TLS"), "{}", error.message);
}
