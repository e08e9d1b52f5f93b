use super::*;

fn identity() -> Identity {
    serde_saphyr::from_str("user_id: a\nroles: [r]\nattributes: {regions: [EAST, \"N'X\"], dept: \"x' OR '1'='1\", level: 3, none: []}").unwrap()
}

#[test]
fn lists_expand_inside_in() {
    let e = bind(
        Flavor::Postgres,
        "t",
        "region_code IN (${user.regions})",
        &identity(),
    )
    .unwrap();
    assert_eq!(e.to_string(), "region_code IN ('EAST', 'N''X')");
}

#[test]
fn scalars_become_quoted_literals() {
    let e = bind(
        Flavor::Postgres,
        "t",
        "dept = ${user.dept} AND lvl <= ${user.level}",
        &identity(),
    )
    .unwrap();
    assert_eq!(e.to_string(), "dept = 'x'' OR ''1''=''1' AND lvl <= 3");
}

#[test]
fn user_id_and_roles_come_from_the_identity() {
    let e = bind(
        Flavor::Postgres,
        "t",
        "owner = ${user.user_id} AND r IN (${user.roles})",
        &identity(),
    )
    .unwrap();
    assert_eq!(e.to_string(), "owner = 'a' AND r IN ('r')");
}

#[test]
fn empty_lists_match_nothing() {
    let e = bind(Flavor::Postgres, "t", "r IN (${user.none})", &identity()).unwrap();
    assert_eq!(e.to_string(), "r IN (NULL)");
}

#[test]
fn failures_are_closed() {
    for bad in [
        "r = ${user.missing}",
        "r = ${user.regions}",
        "r = ${group.x}",
        "r = ${user.dept",
        "r = = 1",
        "r = 1; DROP TABLE t",
    ] {
        let e = bind(Flavor::Postgres, "t", bad, &identity()).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InternalError, "{bad}");
        assert!(e.internal.is_some());
    }
}
