//! The hash chain: how a record is sealed into a line, and how a line is
//! checked, byte for byte the same way.
//!
//! A line is the record's canonical JSON without `hash` (compact, object
//! keys sorted at every level), with `,"hash":"<hex>"` added as the last
//! member. hash = SHA-256 hex of `prev_hash`, a line feed, and that
//! canonical JSON. Checking strips the hash member from the line's own
//! bytes, so nothing depends on re-serialising values (a float that parses
//! one ULP off cannot fake an edit).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record ever written.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The text before the hash value in a sealed line.
const HASH_MEMBER: &str = ",\"hash\":\"";

/// Seal `record` (a JSON object whose `prev_hash` is already set; any
/// `hash` member is dropped): its hash, and the line to write (without the
/// line end). The canonical text is written straight from `record`,
/// without building a sorted copy of it.
pub(crate) fn seal(prev_hash: &str, record: &Value) -> serde_json::Result<(String, String)> {
    let mut line = Vec::with_capacity(1024);
    write_canonical(&mut line, record, Some("hash"))?;
    let hash = digest(prev_hash, &line);
    if line.last() == Some(&b'}') {
        line.pop();
    }
    line.extend_from_slice(HASH_MEMBER.as_bytes());
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"}");
    // serde_json writes UTF-8 only; the lossy branch cannot be taken.
    let line = String::from_utf8(line)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok((hash, line))
}

/// Whether `line` is sealed with the hash it carries, given its
/// `prev_hash`. `None` when the line has no hash member at its end.
pub(crate) fn is_sealed(line: &str, prev_hash: &str) -> Option<bool> {
    let open = line.strip_suffix("\"}")?;
    let at = open.rfind(HASH_MEMBER)?;
    let hash = &open[at + HASH_MEMBER.len()..];
    let body = format!("{}}}", &open[..at]);
    Some(digest(prev_hash, body.as_bytes()) == hash)
}

fn digest(prev_hash: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Write `value` compactly with every object's keys in sorted order,
/// leaving out the top-level member named `skip`.
fn write_canonical(out: &mut Vec<u8>, value: &Value, skip: Option<&str>) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map
                .iter()
                .filter(|(key, _)| Some(key.as_str()) != skip)
                .collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (n, (key, member)) in members.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_canonical(out, member, None)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_canonical(out, item, None)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
