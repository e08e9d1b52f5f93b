use serde_json::json;

use super::*;
use crate::engine::ResultColumn;

fn result(rows: u64) -> QueryResult {
    QueryResult {
        columns: vec![ResultColumn {
            name: "n".into(),
            type_name: "int4".into(),
        }],
        rows: (0..rows).map(|i| vec![json!(i)]).collect(),
        bytes: rows * 100,
        ..QueryResult::default()
    }
}

fn checked(sql: &str, limit: u64) -> CheckedQuery {
    CheckedQuery::for_engine_tests(sql, limit, 10, 1000, Duration::from_secs(1))
}

fn identity(user: &str, roles: &[&str]) -> Identity {
    Identity {
        user_id: user.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..Identity::default()
    }
}

fn key(sql: &str) -> CacheKey {
    CacheKey::new("crm", &checked(sql, 10), &identity("alice", &["a"]), "p1")
}

fn cache(max_entries: u64, max_bytes: u64) -> ResultCache {
    ResultCache::new(CacheBounds {
        max_entries,
        max_bytes,
    })
}

const S: Duration = Duration::from_secs(1);

#[test]
fn every_part_of_the_key_matters() {
    let alice = identity("alice", &["a"]);
    let base = CacheKey::new("crm", &checked("SELECT 1", 10), &alice, "p1");
    assert_eq!(base, key("SELECT 1"));
    let mut with_attr = alice.clone();
    with_attr.attributes.insert(
        "region".into(),
        crate::config::AttributeValue::One(crate::config::Scalar::Text("EAST".into())),
    );
    for other in [
        CacheKey::new("dw", &checked("SELECT 1", 10), &alice, "p1"),
        CacheKey::new("crm", &checked("SELECT 2", 10), &alice, "p1"),
        CacheKey::new("crm", &checked("SELECT 1", 11), &alice, "p1"),
        CacheKey::new(
            "crm",
            &checked("SELECT 1", 10),
            &identity("bob", &["a"]),
            "p1",
        ),
        CacheKey::new(
            "crm",
            &checked("SELECT 1", 10),
            &identity("alice", &["b"]),
            "p1",
        ),
        CacheKey::new("crm", &checked("SELECT 1", 10), &with_attr, "p1"),
        CacheKey::new("crm", &checked("SELECT 1", 10), &alice, "p2"),
        CacheKey::new(
            "crm",
            &CheckedQuery::for_engine_tests("SELECT 1", 10, 11, 1000, S),
            &alice,
            "p1",
        ),
    ] {
        assert_ne!(base, other);
    }
}

#[test]
fn entries_expire_after_their_ttl() {
    let c = cache(10, 1 << 20);
    c.put(key("q"), &result(3), 60 * S, 100 * S);
    let hit = c.get(&key("q"), 130 * S).unwrap();
    assert_eq!(hit.age, 30 * S);
    assert_eq!(hit.result.rows.len(), 3);
    assert!(c.get(&key("q"), 160 * S).is_none());
    assert!(c.is_empty());
}

#[test]
fn the_least_recently_used_entry_is_evicted_first() {
    let c = cache(2, 1 << 20);
    c.put(key("a"), &result(1), 60 * S, S);
    c.put(key("b"), &result(1), 60 * S, S);
    assert!(c.get(&key("a"), S).is_some());
    c.put(key("c"), &result(1), 60 * S, S);
    assert_eq!(c.len(), 2);
    assert!(c.get(&key("b"), S).is_none());
    assert!(c.get(&key("a"), S).is_some());
    assert!(c.get(&key("c"), S).is_some());
}

#[test]
fn bytes_are_bounded_and_an_oversized_result_is_not_kept() {
    // Each 10-row result is charged 1000 + 5 + 256 bytes.
    let c = cache(100, 2600);
    c.put(key("a"), &result(10), 60 * S, S);
    c.put(key("b"), &result(10), 60 * S, S);
    assert_eq!(c.len(), 2);
    c.put(key("c"), &result(10), 60 * S, S);
    assert_eq!(c.len(), 2);
    assert!(c.get(&key("a"), S).is_none());
    c.put(key("huge"), &result(100), 60 * S, S);
    assert!(c.get(&key("huge"), S).is_none());
    assert_eq!(c.len(), 2);
    // Storing a key again replaces it without double counting.
    c.put(key("c"), &result(10), 60 * S, S);
    c.put(key("c"), &result(10), 60 * S, S);
    assert_eq!(c.len(), 2);
    let entries = c.inner.lock().unwrap();
    assert_eq!(entries.bytes, 2 * 1261);
    assert_eq!(entries.recency.len(), 2);
}
