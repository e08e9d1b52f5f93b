//! The optional in-memory result cache: query results kept for a while so
//! the same question asked again does not reach the database.
//!
//! Off unless `cache.enabled: true` in policy, and then only for queries
//! whose every table has a `cache_ttl_seconds`; an entry lives for the
//! shortest TTL among its tables. The key is a SHA-256 over everything that
//! decides what a result is and who may see it: the source, the SQL the
//! gate printed (row policies, default partitions and limits spelled out),
//! the applied row limit and byte caps, the caller's identity (user id,
//! roles, attributes) and the policy hash. A different caller or a changed
//! policy therefore never shares an entry, even when the cache is shared.
//!
//! What it does not do: skip any check. The cache is consulted only after
//! arguments, policy, gate, rate limits and the row budget have passed, and
//! every hit is audited; only the engine and the scan budget are skipped.
//! Bounded by entries and bytes; the least recently used entry goes first.
//! Nothing is written to disk.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::Identity;
use crate::engine::QueryResult;
use crate::guard::CheckedQuery;
use crate::policy::CacheBounds;

/// Bytes charged per entry on top of its row data (key, bookkeeping).
const ENTRY_OVERHEAD_BYTES: u64 = 256;

/// What identifies a cached result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `checked` run on `source` for `identity` under the
    /// policy whose hash is `policy_sha256`.
    pub(crate) fn new(
        source: &str,
        checked: &CheckedQuery,
        identity: &Identity,
        policy_sha256: &str,
    ) -> Self {
        let identity = serde_json::to_string(identity).unwrap_or_default();
        let mut hasher = Sha256::new();
        // Each part is length-prefixed so no two sets of parts hash alike
        // by moving text from one part to the next.
        for part in [
            source.as_bytes(),
            checked.sql().as_bytes(),
            &checked.applied_limit().to_le_bytes(),
            &checked.max_cell_bytes().to_le_bytes(),
            &checked.max_result_bytes().to_le_bytes(),
            identity.as_bytes(),
            policy_sha256.as_bytes(),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }
}

/// A bounded, in-memory cache of query results.
#[derive(Debug)]
pub struct ResultCache {
    bounds: CacheBounds,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<CacheKey, Entry>,
    /// Last use (a counter) to key, oldest first.
    recency: BTreeMap<u64, CacheKey>,
    next_use: u64,
    bytes: u64,
}

#[derive(Debug)]
struct Entry {
    result: QueryResult,
    stored_at: Duration,
    ttl: Duration,
    bytes: u64,
    last_use: u64,
}

/// A result served from the cache.
#[derive(Debug)]
pub(crate) struct CacheHit {
    /// The result as it was stored.
    pub(crate) result: QueryResult,
    /// Time since it was stored.
    pub(crate) age: Duration,
}

impl Entries {
    fn next_use(&mut self) -> u64 {
        let use_now = self.next_use;
        self.next_use += 1;
        use_now
    }

    fn touch(&mut self, key: CacheKey) {
        let use_now = self.next_use();
        if let Some(entry) = self.by_key.get_mut(&key) {
            self.recency.remove(&entry.last_use);
            entry.last_use = use_now;
            self.recency.insert(use_now, key);
        }
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.by_key.remove(key) {
            self.recency.remove(&entry.last_use);
            self.bytes -= entry.bytes;
        }
    }

    fn evict_oldest(&mut self) -> bool {
        match self.recency.first_key_value().map(|(_, k)| *k) {
            Some(key) => {
                self.remove(&key);
                true
            }
            None => false,
        }
    }
}

impl ResultCache {
    /// An empty cache within `bounds`.
    pub fn new(bounds: CacheBounds) -> Self {
        Self {
            bounds,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Results held now (expired ones included until they are looked up
    /// or evicted).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|e| e.by_key.len()).unwrap_or(0)
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fresh result stored under `key`, if any, at clock reading `now`.
    pub(crate) fn get(&self, key: &CacheKey, now: Duration) -> Option<CacheHit> {
        let mut entries = self.inner.lock().ok()?;
        let entry = entries.by_key.get(key)?;
        let age = now.saturating_sub(entry.stored_at);
        if age >= entry.ttl {
            entries.remove(key);
            return None;
        }
        let result = entry.result.clone();
        entries.touch(*key);
        Some(CacheHit { result, age })
    }

    /// Store `result` under `key` for `ttl` from `now`, evicting the least
    /// recently used entries to make room. A result larger than the whole
    /// cache is not stored.
    pub(crate) fn put(&self, key: CacheKey, result: &QueryResult, ttl: Duration, now: Duration) {
        let bytes = entry_bytes(result);
        if bytes > self.bounds.max_bytes || self.bounds.max_entries == 0 {
            return;
        }
        let Ok(mut entries) = self.inner.lock() else {
            return;
        };
        entries.remove(&key);
        while entries.by_key.len() as u64 >= self.bounds.max_entries
            || entries.bytes + bytes > self.bounds.max_bytes
        {
            if !entries.evict_oldest() {
                break;
            }
        }
        let last_use = entries.next_use();
        entries.bytes += bytes;
        entries.recency.insert(last_use, key);
        entries.by_key.insert(
            key,
            Entry {
                result: result.clone(),
                stored_at: now,
                ttl,
                bytes,
                last_use,
            },
        );
    }
}

/// What an entry is charged against `max_bytes`: its rendered row data,
/// its column names and types, and a fixed overhead.
fn entry_bytes(result: &QueryResult) -> u64 {
    let columns: usize = result
        .columns
        .iter()
        .map(|c| c.name.len() + c.type_name.len())
        .sum();
    result
        .bytes
        .saturating_add(columns as u64)
        .saturating_add(ENTRY_OVERHEAD_BYTES)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
