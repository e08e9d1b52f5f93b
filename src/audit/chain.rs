//! The hash chain: how a record is sealed into a line, and how a line is
//! checked, byte for byte the same way.
//!
//! A line is the record's canonical JSON without `hash` (compact, object
//! keys sorted at every level), with `,"hash":"<hex>"` added as the last
//! member. hash = SHA-256 hex of `prev_hash`, a line feed, and that
//! canonical JSON. Checking strips the hash member from the line's own
//! bytes, so nothing depends on re-serialising values (a float that parses
//! one ULP off cannot fake an edit).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record ever written.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The text before the hash value in a sealed line.
const HASH_MEMBER: &str = ",\"hash\":\"";

/// Seal `record` (a JSON object whose `prev_hash` is already set; any
/// `hash` member is dropped): its hash, and the line to write (without the
/// line end).
pub(crate) fn seal(prev_hash: &str, record: &Value) -> (String, String) {
    let mut without_hash = record.clone();
    if let Value::Object(map) = &mut without_hash {
        map.remove("hash");
    }
    let body = canonical(&without_hash).to_string();
    let hash = digest(prev_hash, &body);
    let open = body.strip_suffix('}').unwrap_or(&body);
    let line = format!("{open}{HASH_MEMBER}{hash}\"}}");
    (hash, line)
}

/// Whether `line` is sealed with the hash it carries, given its
/// `prev_hash`. `None` when the line has no hash member at its end.
pub(crate) fn is_sealed(line: &str, prev_hash: &str) -> Option<bool> {
    let open = line.strip_suffix("\"}")?;
    let at = open.rfind(HASH_MEMBER)?;
    let hash = &open[at + HASH_MEMBER.len()..];
    let body = format!("{}}}", &open[..at]);
    Some(digest(prev_hash, &body) == hash)
}

fn digest(prev_hash: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// `value` with every object's keys in sorted order.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), canonical(&map[k])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
