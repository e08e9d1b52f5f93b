//! The crate's authenticator ([`crate::auth::Authenticator`]) behind the
//! front door's [`Authenticate`] trait: static bearer tokens and OAuth
//! JWTs, as the `auth:` section of `server.yaml` configures them.

use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::auth::{AuthConfig, AuthError, Authenticator};

use super::auth::{AuthRefusal, Authenticate, Authenticated, RefusalKind};

/// The authenticator `auth:` describes, or why it cannot be built (a
/// message and a hint).
pub(crate) async fn authenticator(
    cfg: &AuthConfig,
    config_dir: &Path,
) -> Result<Arc<dyn Authenticate>, (String, String)> {
    if let Some(first) = cfg.validate().into_iter().next() {
        return Err(described(&first));
    }
    match Authenticator::from_config(cfg, config_dir).await {
        Ok(auth) => Ok(Arc::new(auth)),
        Err(e) => Err(described(&e)),
    }
}

fn described(e: &AuthError) -> (String, String) {
    (format!("{e} ({})", e.code()), e.hint())
}

impl Authenticate for Authenticator {
    fn authenticate<'a>(
        &'a self,
        authorization: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Authenticated, AuthRefusal>> {
        Box::pin(async move {
            match Authenticator::authenticate(self, authorization).await {
                Ok(caller) => Ok(Authenticated {
                    identity: caller.identity,
                    token_id: caller.token_id,
                }),
                Err(failure) => Err(AuthRefusal {
                    reason: failure.to_string(),
                    kind: if failure.is_insufficient_scope() {
                        RefusalKind::InsufficientScope
                    } else {
                        RefusalKind::Unauthenticated
                    },
                    www_authenticate: self.www_authenticate(&failure),
                    failure: (!failure.is_missing()).then(|| failure.reason().as_str().to_owned()),
                    token_id: failure.token_id().map(str::to_owned),
                }),
            }
        })
    }

    fn protected_resource_metadata(&self) -> Option<serde_json::Value> {
        Authenticator::protected_resource_metadata(self)
    }

    fn protected_resource_metadata_path(&self) -> Option<&str> {
        Authenticator::protected_resource_metadata_path(self)
    }
}
