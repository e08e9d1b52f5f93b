use super::*;

#[test]
fn entries_expire_and_capacity_holds() {
    let cache = TtlCache::new(Duration::from_secs(60), 2);
    cache.put("a", 1);
    cache.put("b", 2);
    cache.put("c", 3);
    assert_eq!(cache.get(&"a"), None, "the oldest went first");
    assert_eq!(cache.get(&"c"), Some(3));
    let short = TtlCache::new(Duration::ZERO, 2);
    short.put("a", 1);
    assert_eq!(short.get(&"a"), None);
}
