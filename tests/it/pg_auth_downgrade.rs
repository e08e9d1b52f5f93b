//! No password downgrade: a fake PostgreSQL server that declines TLS and
//! asks for the password in clear text (or as md5) must not receive one,
//! unless the connection's `require_auth` explicitly allows it.
//!
//! The fake server is a tokio TCP listener speaking just enough of the
//! protocol: it answers `SSLRequest` with `N`, reads the start-up message,
//! sends the authentication request, then records every byte the client
//! sends until the client hangs up.

use std::time::Duration;

use sqlwarden::config::{AuthMethod, PostgresConnection, SslMode};
use sqlwarden::engine::postgres::PostgresEngine;
use sqlwarden::engine::{Engine, Safeguards};
use sqlwarden::error::ErrorCode;
use sqlwarden::secrets::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PASSWORD: &str = "hunter2-do-not-leak";

/// `SSLRequest`'s request code.
const SSL_REQUEST: u32 = 80_877_103;

/// What the fake server asks for.
#[derive(Clone, Copy)]
enum Ask {
    Cleartext,
    Md5,
}

/// What the fake server saw.
struct Seen {
    /// Whether the client asked for TLS first.
    ssl_request: bool,
    /// Every byte after the start-up message.
    after_request: Vec<u8>,
}

impl Seen {
    /// Whether a `PasswordMessage` (`p`) arrived.
    fn password_message(&self) -> bool {
        self.after_request.first() == Some(&b'p')
    }

    fn contains_password(&self) -> bool {
        self.after_request
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes())
    }
}

/// Start the fake server for one connection; returns its port and the
/// handle that yields what it saw.
async fn fake_server(ask: Ask) -> (u16, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut ssl_request = false;
        let mut length = socket.read_u32().await.expect("first length");
        let mut body = vec![0u8; length as usize - 4];
        socket.read_exact(&mut body).await.expect("first message");
        if length == 8 && body[..4] == SSL_REQUEST.to_be_bytes() {
            ssl_request = true;
            socket.write_all(b"N").await.expect("decline TLS");
            length = socket.read_u32().await.expect("startup length");
            body = vec![0u8; length as usize - 4];
            socket.read_exact(&mut body).await.expect("startup message");
        }
        let request: Vec<u8> = match ask {
            Ask::Cleartext => [b"R".as_slice(), &8u32.to_be_bytes(), &3u32.to_be_bytes()].concat(),
            Ask::Md5 => [
                b"R".as_slice(),
                &12u32.to_be_bytes(),
                &5u32.to_be_bytes(),
                b"salt",
            ]
            .concat(),
        };
        socket.write_all(&request).await.expect("auth request");
        let mut after_request = Vec::new();
        // The client either answers or hangs up; a bounded wait either way.
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            socket.read_to_end(&mut after_request),
        )
        .await;
        Seen {
            ssl_request,
            after_request,
        }
    });
    (port, handle)
}

fn connection(
    port: u16,
    sslmode: SslMode,
    require_auth: Option<Vec<AuthMethod>>,
) -> PostgresConnection {
    PostgresConnection {
        host: "127.0.0.1".into(),
        port,
        dbname: "crm".into(),
        user: "agent".into(),
        sslmode,
        sslrootcert: None,
        role: None,
        default_schema: "public".into(),
        connect_timeout_seconds: 5,
        require_auth,
    }
}

async fn attempt(
    ask: Ask,
    sslmode: SslMode,
    require_auth: Option<Vec<AuthMethod>>,
) -> (Result<(), sqlwarden::error::ToolError>, Seen) {
    let (port, server) = fake_server(ask).await;
    let engine = PostgresEngine::new(
        "crm",
        &connection(port, sslmode, require_auth),
        Some(Secret::new(PASSWORD)),
        Safeguards::default(),
    );
    let outcome = engine.probe().await.map(|_| ());
    drop(engine);
    let seen = server.await.expect("fake server");
    (outcome, seen)
}

#[tokio::test]
async fn prefer_never_sends_a_cleartext_password_to_a_server_that_declined_tls() {
    let (outcome, seen) = attempt(Ask::Cleartext, SslMode::Prefer, None).await;
    assert!(seen.ssl_request, "prefer asks for TLS first");
    assert!(!seen.password_message(), "a PasswordMessage arrived");
    assert!(!seen.contains_password(), "the password arrived");
    let error = outcome.expect_err("the connection must not open");
    assert_eq!(error.code, ErrorCode::BackendUnavailable, "{error:?}");
    assert!(error.message.contains("`password`"), "{}", error.message);
    assert!(error.message.contains("without TLS"), "{}", error.message);
    assert!(error.hint.contains("require_auth"), "{}", error.hint);
    assert!(error.hint.contains("Nothing was sent"), "{}", error.hint);
}

#[tokio::test]
async fn no_md5_hash_goes_to_a_server_without_tls() {
    for sslmode in [SslMode::Prefer, SslMode::Disable] {
        let (outcome, seen) = attempt(Ask::Md5, sslmode, None).await;
        assert!(
            !seen.password_message(),
            "{sslmode:?}: an md5 answer arrived"
        );
        let error = outcome.expect_err("the connection must not open");
        assert_eq!(error.code, ErrorCode::BackendUnavailable, "{error:?}");
        assert!(error.message.contains("`md5`"), "{}", error.message);
    }
}

#[tokio::test]
async fn require_auth_without_password_refuses_cleartext_even_when_listed_methods_differ() {
    let (outcome, seen) = attempt(
        Ask::Cleartext,
        SslMode::Disable,
        Some(vec![AuthMethod::ScramSha256, AuthMethod::Md5]),
    )
    .await;
    assert!(!seen.ssl_request);
    assert!(!seen.password_message());
    let error = outcome.expect_err("refused");
    assert!(
        error.hint.contains("does not list `password`"),
        "{}",
        error.hint
    );
}

/// The control: the fake server does see a password when the connection
/// explicitly accepts cleartext, so the tests above can fail.
#[tokio::test]
async fn an_explicit_require_auth_lets_the_password_through() {
    let (_, seen) = attempt(
        Ask::Cleartext,
        SslMode::Prefer,
        Some(vec![AuthMethod::Password]),
    )
    .await;
    assert!(seen.password_message(), "the client did not answer");
    assert!(seen.contains_password());
}
