use super::*;

#[test]
fn origins_parse_with_default_ports_and_refuse_the_rest() {
    let a = Origin::parse("https://App.Example.com").unwrap();
    assert_eq!(a, Origin::parse("https://app.example.com:443/").unwrap());
    assert_ne!(a, Origin::parse("http://app.example.com").unwrap());
    assert_eq!(Origin::parse("http://[::1]:3000").unwrap().port, 3000);
    for bad in [
        "null",
        "app.example.com",
        "ftp://x",
        "https://",
        "https://x/path",
        "https://u@x",
        "https://x:port",
        "https://a:b:c",
    ] {
        assert!(Origin::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn absent_origin_passes_and_others_must_be_allowed() {
    let policy = OriginPolicy::new(&["https://app.example.com".into()], false);
    assert!(policy.allows(None));
    assert!(policy.allows(Some(b"https://app.example.com")));
    assert!(!policy.allows(Some(b"https://evil.example")));
    assert!(!policy.allows(Some(b"http://localhost:3000")));
    assert!(!policy.allows(Some(b"null")));
    assert!(!policy.allows(Some(&[0xff, 0xfe])));
    let local = OriginPolicy::new(&[], true);
    assert!(local.allows(Some(b"http://localhost:3000")));
    assert!(local.allows(Some(b"http://127.0.0.1")));
    assert!(local.allows(Some(b"http://[::1]:8080")));
    assert!(!local.allows(Some(b"http://rebind.attacker.example:8080")));
}
