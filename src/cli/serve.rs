//! `sqlwarden serve` (the default): MCP over stdin/stdout; with `--http`,
//! team mode over streamable HTTP ([`crate::server::http`]).
//!
//! Loads the config and builds the session before the first message, so a
//! broken config fails fast with its file:line:column on stderr; nothing
//! here connects to a database (engines connect on first use). Team mode
//! also reads `server.yaml` and refuses to start without authentication,
//! or in plain text on a network address, before it binds anything.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use clap::Args;

use crate::config;
use crate::server::http::{self, posture, StartError};
use crate::server::SqlwardenServer;
use crate::tools::ConfiguredEngines;

use super::{printer, session, ExitStatus};

/// Arguments of `sqlwarden serve`.
#[derive(Debug, Default, Args)]
pub(crate) struct ServeArgs {
    /// Serve MCP over streamable HTTP at ADDR instead of stdio (default
    /// `listen:` from server.yaml, else 127.0.0.1:8080). Needs server.yaml
    /// with an `auth:` section.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
    pub(crate) http: Option<String>,
    /// Allow plain HTTP on a non-loopback address (only behind a
    /// TLS-terminating proxy).
    #[arg(long, requires = "http")]
    pub(crate) insecure_no_tls: bool,
}

/// Run `sqlwarden serve`.
pub(crate) async fn run(config_dir: Option<&Path>, args: ServeArgs) -> ExitStatus {
    if let Some(listen) = args.http {
        return run_http(config_dir, &listen, args.insecure_no_tls).await;
    }
    let session = match session::open(config_dir) {
        Ok(session) => session,
        Err(status) => return status,
    };
    tracing::info!(session_id = %session.session_id(), "serving MCP on stdio");
    // Names only: which fields the environment set, never their values.
    for field in &session.policy().config().env_fields {
        tracing::info!(
            connection = %field.connection,
            field = field.field.key(),
            variable = %field.variable,
            "connection field from the environment"
        );
    }
    match SqlwardenServer::new(Arc::new(session)).serve_stdio().await {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            printer::error(&format!("The MCP connection failed: {e}"), None);
            ExitStatus::Error
        }
    }
}

fn refuse(error: &StartError) -> ExitStatus {
    printer::error(&error.to_string(), Some(&error.hint()));
    ExitStatus::Error
}

/// Team mode: check everything, bind, serve until SIGTERM.
async fn run_http(config_dir: Option<&Path>, listen: &str, insecure_no_tls: bool) -> ExitStatus {
    let policy = match session::load_policy(config_dir) {
        Ok(policy) => policy,
        Err(status) => return status,
    };
    let Some(dir) = config::resolve_dir(config_dir) else {
        printer::error("No config directory could be determined", None);
        return ExitStatus::Error;
    };
    let file = dir.join(http::SERVER_FILE);
    let settings = match http::settings::load(&dir) {
        Ok(Some(settings)) => settings,
        Ok(None) => return refuse(&StartError::NoServerFile(file)),
        Err(errors) => {
            for error in &errors {
                printer::error(&error.to_string(), None);
            }
            return ExitStatus::Error;
        }
    };
    let listen = match listen {
        "" => settings.listen.as_deref().unwrap_or(http::DEFAULT_LISTEN),
        given => given,
    };
    let Ok(listen) = listen.parse::<SocketAddr>() else {
        return refuse(&StartError::BadAddress(listen.to_string()));
    };
    if let Err(e) = posture::check(&settings, file, listen, insecure_no_tls) {
        return refuse(&e);
    }
    let Some(auth_config) = settings.auth.as_ref() else {
        return ExitStatus::Error;
    };
    let auth = match http::authenticator(auth_config, &dir).await {
        Ok(auth) => auth,
        Err((cause, hint)) => return refuse(&StartError::Auth(cause, hint)),
    };
    super::demo::start_if_down(policy.config());
    let audit = match session::open_audit(&policy) {
        Ok(log) => Arc::new(log),
        Err(status) => return status,
    };
    let options = http::Options {
        settings: &settings,
        listen,
        config_dir: &dir,
    };
    let running = match http::start(options, policy, Arc::new(ConfiguredEngines), audit, auth).await
    {
        Ok(running) => running,
        Err(e) => return refuse(&e),
    };
    let scheme = if running.tls() { "https" } else { "http" };
    printer::status(&format!(
        "serving MCP at {scheme}://{}/mcp (Ctrl-C or SIGTERM stops)",
        running.local_addr()
    ));
    running.serve(crate::server::shutdown_signal()).await;
    ExitStatus::Success
}
