//! What team mode refuses to start with, and why.
//!
//! Serving without authentication, or in plain text on a network address,
//! would expose every configured source to whoever can reach the port; both
//! are refused before anything listens. Plain text on a network address is
//! allowed only when the administrator says a TLS-terminating proxy is in
//! front (`--insecure-no-tls` or `insecure_no_tls: true`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::settings::ServerFile;

/// Why team mode did not start.
#[derive(Debug)]
pub enum StartError {
    /// There is no `server.yaml`.
    NoServerFile(PathBuf),
    /// `server.yaml` has no `auth:` section.
    NoAuth(PathBuf),
    /// A non-loopback address without TLS.
    PlainTextOnNetwork(SocketAddr),
    /// The address does not parse.
    BadAddress(String),
    /// The authenticator could not be built: what went wrong, and how to
    /// fix it.
    Auth(String, String),
    /// The TLS files could not be used.
    Tls(String),
    /// The address could not be bound.
    Bind(SocketAddr, std::io::Error),
}

impl StartError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            Self::NoServerFile(path) => format!(
                "Write {} with at least an `auth:` section (see the README's team mode section), then run `sqlwarden check`",
                path.display()
            ),
            Self::NoAuth(path) => format!(
                "Add an `auth:` section to {}: HTTP mode serves only authenticated callers",
                path.display()
            ),
            Self::PlainTextOnNetwork(_) => "Configure `tls: {cert: ..., key: ...}` in server.yaml, listen on 127.0.0.1, or pass `--insecure-no-tls` only when a TLS-terminating proxy is in front".into(),
            Self::BadAddress(_) => "Write the address as `127.0.0.1:8080` or `[::]:8443`".into(),
            Self::Auth(_, hint) => hint.clone(),
            Self::Tls(_) => "Point `tls.cert` and `tls.key` in server.yaml at readable PEM files (paths are relative to the config directory)".into(),
            Self::Bind(..) => "Pick a free port, or stop what listens there; ports below 1024 need privileges".into(),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoServerFile(path) => {
                write!(f, "HTTP mode needs {}, which does not exist", path.display())
            }
            Self::NoAuth(path) => write!(
                f,
                "HTTP mode needs authentication, and {} configures none",
                path.display()
            ),
            Self::PlainTextOnNetwork(addr) => write!(
                f,
                "Refusing to serve plain HTTP on the non-loopback address {addr}: tokens and results would cross the network unencrypted"
            ),
            Self::BadAddress(given) => write!(f, "`{given}` is not an address and port"),
            Self::Auth(cause, _) => write!(f, "Authentication could not be set up: {cause}"),
            Self::Tls(cause) => write!(f, "TLS could not be set up: {cause}"),
            Self::Bind(addr, e) => write!(f, "Could not listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Refuse a start without `auth:`, or in plain text on a network address
/// unless `insecure_no_tls` (the flag or the file) says a proxy encrypts.
pub fn check(
    settings: &ServerFile,
    file: PathBuf,
    listen: SocketAddr,
    insecure_no_tls: bool,
) -> Result<(), StartError> {
    if settings.auth.is_none() {
        return Err(StartError::NoAuth(file));
    }
    let plain = settings.tls.is_none();
    if plain && !listen.ip().is_loopback() && !(insecure_no_tls || settings.insecure_no_tls) {
        return Err(StartError::PlainTextOnNetwork(listen));
    }
    Ok(())
}
