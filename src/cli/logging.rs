//! Log setup: tracing to stderr only, never stdout (stdout carries
//! JSON-RPC when serving).
//!
//! `RUST_LOG` wins when set; otherwise `-v` raises the level from `warn`.

use tracing_subscriber::EnvFilter;

/// Send logs to stderr at the level `verbose` asks for.
pub(crate) fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("sqlwarden={level},rmcp={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
