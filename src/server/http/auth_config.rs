//! STAND-IN for the `auth:` section of `server.yaml`, until team-auth's
//! `crate::auth::AuthConfig` lands (issue 16's authentication half).
//!
//! It accepts only an empty mapping, and [`authenticator`] refuses to build
//! from it, so `sqlwarden serve --http` refuses to start until the real
//! authenticator is wired in. The wiring is two lines: replace this type
//! with `crate::auth::AuthConfig` and [`authenticator`]'s body with
//! `crate::auth::Authenticator::from_config(cfg, config_dir)` wrapped in
//! the adapter described on [`super::Authenticate`].

use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::auth::Authenticate;

/// How callers authenticate (stand-in: no method is available yet).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {}

/// The authenticator `auth:` describes, or why there is none.
pub(crate) async fn authenticator(
    _cfg: &AuthConfig,
    _config_dir: &Path,
) -> Result<Arc<dyn Authenticate>, String> {
    Err("this build of sqlwarden has no authentication method for HTTP mode yet".into())
}
