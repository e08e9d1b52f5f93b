//! The opaque `cursor` of `query_table`: the next page's offset, bound to
//! the query it pages through, signed so the caller cannot edit it.
//!
//! A cursor is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`
//! where the payload holds the offset and a SHA-256 fingerprint of the
//! request (source, table, columns, filter, order). The key is random per
//! process ([`CursorKey::random`]), so cursors do not outlive the session
//! that issued them. A cursor that is malformed, forged, edited, or used
//! with a different query is `INVALID_ARGUMENT`. This module knows nothing
//! of SQL.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::refusal::invalid;
use crate::error::ToolError;

type HmacSha256 = Hmac<Sha256>;

/// Longest cursor accepted; anything longer is not one of ours.
const MAX_CURSOR_LEN: usize = 512;

/// The secret that signs cursors.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// A fresh key from the operating system's random source (two v4
    /// UUIDs: 244 random bits).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(key)
    }

    fn mac(&self) -> Result<HmacSha256, ToolError> {
        <HmacSha256 as Mac>::new_from_slice(&self.0).map_err(ToolError::internal)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    /// Rows to skip.
    o: u64,
    /// Fingerprint of the request, hex.
    q: String,
}

/// SHA-256 (hex) over the canonical JSON of whatever identifies a request.
pub(crate) fn fingerprint(request: &impl Serialize) -> Result<String, ToolError> {
    let bytes = serde_json::to_vec(request).map_err(ToolError::internal)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// A cursor for `offset` rows into the request with `fingerprint`.
pub(crate) fn encode(key: &CursorKey, offset: u64, fingerprint: &str) -> Result<String, ToolError> {
    let payload = serde_json::json!({"o": offset, "q": fingerprint}).to_string();
    let body = URL_SAFE_NO_PAD.encode(payload);
    let mut mac = key.mac()?;
    mac.update(body.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{body}.{tag}"))
}

/// The offset a cursor stands for, if the cursor is ours, intact and for
/// the request with `fingerprint`.
pub(crate) fn decode(key: &CursorKey, cursor: &str, fingerprint: &str) -> Result<u64, ToolError> {
    let bad = || {
        invalid(
            "`cursor` is not a cursor this session issued",
            "Pass `next_cursor` from the previous page unchanged, or leave `cursor` out to start from the first page",
        )
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(bad());
    }
    let (body, tag) = cursor.split_once('.').ok_or_else(bad)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
    let mut mac = key.mac()?;
    mac.update(body.as_bytes());
    mac.verify_slice(&tag).map_err(|_| bad())?;
    let payload = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    let payload: Payload = serde_json::from_slice(&payload).map_err(|_| bad())?;
    if payload.q != fingerprint {
        return Err(invalid(
            "`cursor` belongs to a different query",
            "A cursor only continues the query that returned it: send the same `table`, `columns`, `filter` and `order_by`, or leave `cursor` out",
        ));
    }
    Ok(payload.o)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
