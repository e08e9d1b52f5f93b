//! The access key a MaxCompute engine signs with.
//!
//! Only the secret parts are wrapped in [`Secret`], so the struct's `Debug`
//! shows the key id (an identifier, not a credential) and nothing else.
//! Where keys come from (keyring, environment) is `crate::secrets`' job.

use crate::secrets::Secret;

/// An AccessKey pair, optionally with an STS security token.
#[derive(Clone, Debug)]
pub struct MaxComputeKeys {
    /// AccessKey id.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: Secret,
    /// STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
}
