//! Request signing for the MaxCompute REST API: the canonical string, and
//! the V2 and V4 signatures over it (docs/maxcompute-rest.md §2).
//!
//! Everything here is a pure function of its inputs (no clock, no I/O), so
//! the worked examples of §2.6 are exact unit tests. This module does not
//! decide *which* headers a request carries or when to sign; the client does.
//!
//! The one idea: both versions sign the same canonical string; they differ
//! only in the key (the raw secret for V2, an HMAC-SHA256 chain over date and
//! region for V4) and in the `Authorization` header's credential scope.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The prefix of headers (and query parameters) that are signed.
const SIGNED_PREFIX: &str = "x-odps-";

/// The literal that starts the V4 key chain and the credential scope; the
/// SDKs make it configurable, but every public region uses `aliyun`.
const V4_CORPORATION: &str = "aliyun";

/// Which signature scheme a request is signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureVersion {
    /// HMAC-SHA1 keyed with the raw secret.
    V2,
    /// HMAC-SHA1 keyed with a date- and region-scoped derived key.
    V4 {
        /// Region id, for example `cn-hangzhou`.
        region: String,
    },
}

/// The parts of a request that the canonical string covers. Values are
/// the *decoded* forms: the path relative to the endpoint (without its
/// `/api` prefix) and the raw parameter values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedParts<'a> {
    /// HTTP method, upper case.
    pub(crate) method: &'a str,
    /// `Content-MD5` header value, or empty.
    pub(crate) content_md5: &'a str,
    /// `Content-Type` header value, or empty.
    pub(crate) content_type: &'a str,
    /// `Date` header value (RFC 1123, GMT).
    pub(crate) date: &'a str,
    /// Every header the request carries; only `x-odps-*` ones are signed.
    pub(crate) headers: &'a [(String, String)],
    /// Decoded resource path relative to the endpoint, e.g. `/projects/p`.
    pub(crate) resource: &'a str,
    /// Decoded query parameters; an empty value means a bare flag.
    pub(crate) params: &'a [(String, String)],
}

/// Build the canonical string both signature versions sign (§2.2).
pub(crate) fn canonical_string(parts: &SignedParts<'_>) -> String {
    let mut signed: Vec<(String, &str)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_str()))
        .chain(
            // PY and JAVA also sign `x-odps-*` query parameters as header lines.
            parts
                .params
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.as_str())),
        )
        .filter(|(name, _)| name.starts_with(SIGNED_PREFIX))
        .collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));

    let mut out = String::with_capacity(128 + parts.resource.len());
    for line in [
        parts.method,
        parts.content_md5,
        parts.content_type,
        parts.date,
    ] {
        out.push_str(line);
        out.push('\n');
    }
    for (name, value) in signed {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(&canonical_resource(parts.resource, parts.params));
    out
}

/// The resource line: path, then `?` and parameters sorted by name, each
/// `name=value` or a bare `name` when the value is empty.
fn canonical_resource(resource: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return resource.to_owned();
    }
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let rendered: Vec<String> = sorted
        .iter()
        .map(|(name, value)| {
            if value.is_empty() {
                name.clone()
            } else {
                format!("{name}={value}")
            }
        })
        .collect();
    format!("{resource}?{}", rendered.join("&"))
}

/// V2 signature: base64 of HMAC-SHA1(secret, canonical string).
pub(crate) fn sign_v2(secret: &str, canonical: &str) -> String {
    hmac_sha1_base64(secret.as_bytes(), canonical)
}

/// The V4 signing key: an HMAC-SHA256 chain over date, region and service.
pub(crate) fn v4_signing_key(secret: &str, date_yyyymmdd: &str, region: &str) -> [u8; 32] {
    let first = format!("{V4_CORPORATION}_v4{secret}");
    let k1 = hmac_sha256(first.as_bytes(), date_yyyymmdd.as_bytes());
    let k2 = hmac_sha256(&k1, region.as_bytes());
    let k3 = hmac_sha256(&k2, b"odps");
    hmac_sha256(&k3, format!("{V4_CORPORATION}_v4_request").as_bytes())
}

/// V4 signature: base64 of HMAC-SHA1(derived key, canonical string).
pub(crate) fn sign_v4(secret: &str, date_yyyymmdd: &str, region: &str, canonical: &str) -> String {
    hmac_sha1_base64(&v4_signing_key(secret, date_yyyymmdd, region), canonical)
}

/// The `Authorization` header value for a canonical string.
/// `utc_date_yyyymmdd` is only used by V4 and must be the UTC date of the
/// request's `Date` header.
pub(crate) fn authorization(
    access_key_id: &str,
    secret: &str,
    version: &SignatureVersion,
    utc_date_yyyymmdd: &str,
    canonical: &str,
) -> String {
    match version {
        SignatureVersion::V2 => format!("ODPS {access_key_id}:{}", sign_v2(secret, canonical)),
        SignatureVersion::V4 { region } => format!(
            "ODPS {access_key_id}/{utc_date_yyyymmdd}/{region}/odps/{V4_CORPORATION}_v4_request:{}",
            sign_v4(secret, utc_date_yyyymmdd, region, canonical)
        ),
    }
}

// HMAC takes keys of any length, so `new_from_slice` cannot fail; should it
// ever, an empty result makes the server refuse the signature (a clear
// error) instead of panicking.

fn hmac_sha1_base64(key: &[u8], message: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
