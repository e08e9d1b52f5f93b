//! Claim mapping: top-level names, JSON pointers, and the types an
//! identity can hold.

use serde_json::{json, Map, Value};

use super::*;
use crate::auth::claims::{claim, identity};
use crate::config::{AttributeValue, Scalar};

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn names_and_pointers_find_claims() {
    let claims = object(json!({
        "sub": "alice",
        "https://example.test/roles": ["a"],
        "realm_access": {"roles": ["r1", "r2"], "a/b": 1, "t~x": 2},
        "list": [10, 20],
    }));
    assert_eq!(claim(&claims, "sub"), Some(&json!("alice")));
    // A URL-shaped claim name is a top-level claim, not a path.
    assert_eq!(
        claim(&claims, "https://example.test/roles"),
        Some(&json!(["a"]))
    );
    assert_eq!(
        claim(&claims, "/realm_access/roles"),
        Some(&json!(["r1", "r2"]))
    );
    assert_eq!(claim(&claims, "/realm_access/a~1b"), Some(&json!(1)));
    assert_eq!(claim(&claims, "/realm_access/t~0x"), Some(&json!(2)));
    assert_eq!(claim(&claims, "/list/1"), Some(&json!(20)));
    assert_eq!(claim(&claims, "/list/9"), None);
    assert_eq!(claim(&claims, "/sub/x"), None);
    assert_eq!(claim(&claims, "realm_access.roles"), None);
}

#[test]
fn roles_come_from_a_list_or_a_separated_string_and_attributes_keep_their_type() {
    let mapping = ClaimMapping {
        user_id: "/user/id".into(),
        roles: Some("scope".into()),
        attributes: [
            ("flag".to_owned(), "is_admin".to_owned()),
            ("ratio".to_owned(), "ratio".to_owned()),
            ("gone".to_owned(), "absent".to_owned()),
            ("nothing".to_owned(), "null_one".to_owned()),
        ]
        .into_iter()
        .collect(),
    };
    let claims = object(json!({
        "user": {"id": 42},
        "scope": "read  analyst,finance",
        "flag": true,
        "ratio": 0.5,
        "nothing": null,
    }));
    let identity = identity(&claims, &mapping).unwrap();
    assert_eq!(identity.user_id, "42");
    assert_eq!(identity.roles, ["read", "analyst", "finance"]);
    assert_eq!(
        identity.attributes.get("is_admin"),
        Some(&AttributeValue::One(Scalar::Bool(true)))
    );
    assert_eq!(
        identity.attributes.get("ratio"),
        Some(&AttributeValue::One(Scalar::Float(0.5)))
    );
    assert!(!identity.attributes.contains_key("absent"));
    assert!(!identity.attributes.contains_key("null_one"));

    // No roles claim configured: no roles, whatever the token says.
    let plain = ClaimMapping::default();
    let identity =
        super::super::claims::identity(&object(json!({"sub": "bob", "roles": ["admin"]})), &plain)
            .unwrap();
    assert!(identity.roles.is_empty());
    assert_eq!(identity.user_id, "bob");
}
