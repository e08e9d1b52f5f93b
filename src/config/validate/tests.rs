use super::*;

#[test]
fn suggestions_are_near_misses_only() {
    assert_eq!(suggestion("run_select", TOOL_NAMES), None);
    assert_eq!(
        suggestion("preview_tabel", TOOL_NAMES).as_deref(),
        Some("; did you mean `preview_table`?")
    );
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn placeholders_must_name_identity_attributes() {
    let identity: Identity =
        serde_saphyr::from_str("user_id: a\nattributes: {region_codes: [EAST]}\n").unwrap();
    let ok = "region_code IN (${user.region_codes}) OR owner = ${user.user_id}";
    assert!(placeholder_problems(ok, Some(&identity)).is_empty());
    assert_eq!(
        placeholder_problems("x = ${user.team}", Some(&identity)).len(),
        1
    );
    assert_eq!(
        placeholder_problems("x = ${team}", Some(&identity)).len(),
        1
    );
    assert_eq!(placeholder_problems("x = ${user.user_id}", None).len(), 1);
    assert_eq!(
        placeholder_problems("x = ${user.oops", Some(&identity)).len(),
        1
    );
}
