use super::*;

fn entry() -> Value {
    serde_json::json!({"command": "/usr/bin/sqlwarden", "args": ["serve"]})
}

#[test]
fn malformed_json_names_line_and_column() {
    let err = parse("{\n  \"a\": 1,\n  oops\n}", Path::new("/x.json")).unwrap_err();
    let DesktopError::Malformed { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*line, *column), (3, 3));
    assert!(err.to_string().contains("/x.json"), "{err}");
}

#[test]
fn non_object_root_or_servers_is_refused() {
    let root = parse("[1]", Path::new("c.json")).unwrap_err();
    assert!(root.to_string().contains("an array"), "{root}");
    let servers = parse(r#"{"mcpServers": "x"}"#, Path::new("c.json")).unwrap_err();
    assert!(
        servers.to_string().contains("`mcpServers` is a string"),
        "{servers}"
    );
}

#[test]
fn add_keeps_other_keys_in_order_and_is_idempotent() {
    let path = Path::new("c.json");
    let mut root = parse(
        r#"{"z": 1, "mcpServers": {"other": {"command": "x"}}, "a": [true]}"#,
        path,
    )
    .unwrap();
    assert_eq!(
        add(&mut root, path, "sqlwarden", entry(), false).unwrap(),
        Added::New
    );
    assert_eq!(
        add(&mut root, path, "sqlwarden", entry(), false).unwrap(),
        Added::AlreadyRegistered
    );
    let keys: Vec<_> = root.keys().cloned().collect();
    assert_eq!(keys, ["z", "mcpServers", "a"]);
    let servers: Vec<_> = root["mcpServers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(servers, ["other", "sqlwarden"]);
}

#[test]
fn a_differing_entry_needs_force_and_keeps_its_place() {
    let path = Path::new("c.json");
    let mut root = parse(
        r#"{"mcpServers": {"sqlwarden": {"command": "old"}, "b": {}}}"#,
        path,
    )
    .unwrap();
    let err = add(&mut root, path, "sqlwarden", entry(), false).unwrap_err();
    assert!(matches!(err, DesktopError::Differs { .. }));
    assert_eq!(root["mcpServers"]["sqlwarden"]["command"], "old");
    assert_eq!(
        add(&mut root, path, "sqlwarden", entry(), true).unwrap(),
        Added::Replaced
    );
    let servers: Vec<_> = root["mcpServers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(servers, ["sqlwarden", "b"]);
}

#[test]
fn remove_takes_out_only_the_matching_entry() {
    let path = Path::new("c.json");
    let mut root = parse(
        r#"{"mcpServers": {"a": {}, "sqlwarden": {"command": "other"}, "c": {}}}"#,
        path,
    )
    .unwrap();
    assert!(remove(&mut root, path, "sqlwarden", &entry(), false).is_err());
    assert_eq!(
        remove(&mut root, path, "missing", &entry(), false).unwrap(),
        Removed::NotRegistered
    );
    assert_eq!(
        remove(&mut root, path, "sqlwarden", &entry(), true).unwrap(),
        Removed::Removed
    );
    assert_eq!(
        render(&root),
        "{\n  \"mcpServers\": {\n    \"a\": {},\n    \"c\": {}\n  }\n}\n"
    );
}
