use super::*;

fn errors<T: std::fmt::Debug>(result: ParseResult<T>) -> Vec<String> {
    result
        .unwrap_err()
        .iter()
        .map(|e| format!("{}:{}: {}", e.line.unwrap(), e.column.unwrap(), e.message))
        .collect()
}

#[test]
fn connection_errors_point_at_the_key() {
    let text = "connections:\n  crm:\n    engine: postgres\n    host: h\n    dbname: d\n    user: u\n    bogus: 1\n  dw:\n    engine: mysql\n  mc:\n    project: p\n";
    let errs = errors(connections(Path::new("c.yaml"), text));
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs[0].starts_with("7:5: unknown field `bogus`"),
        "{errs:?}"
    );
    assert!(
        errs[1].starts_with("9:13: unknown engine `mysql`"),
        "{errs:?}"
    );
    assert!(
        errs[2].starts_with("11:5: connection `mc` has no `engine:`"),
        "{errs:?}"
    );
}

#[test]
fn policy_collects_one_error_per_broken_part() {
    let text = "defaults:\n  max_limit: lots\nbogus: 1\nsources:\n  crm:\n    tables:\n      public.a:\n        allowed_column: [x]\n        max_limit: -1\n      public.b:\n        domain: ok\n";
    let errs = errors(policy(Path::new("p.yaml"), text));
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs[0].starts_with("2:14: invalid value"), "{errs:?}");
    assert!(
        errs[1].starts_with("3:1: unknown field `bogus`"),
        "{errs:?}"
    );
    assert!(
        errs[2].starts_with("8:9: unknown field `allowed_column`"),
        "{errs:?}"
    );
    assert!(errs[3].starts_with("9:20:"), "{errs:?}");
}

#[test]
fn a_good_file_parses() {
    let parsed = joins(
        Path::new("j.yaml"),
        "joins:\n  - id: a\n    source: crm\n    left_table: public.a\n    right_table: public.b\n    on: [{left_field: x, right_field: y}]\n",
    )
    .unwrap();
    assert_eq!(parsed.joins.len(), 1);
}

#[test]
fn syntax_errors_fall_back_to_the_whole_file_error() {
    let errs = errors(policy(Path::new("p.yaml"), "sources:\n  crm: [\n"));
    assert_eq!(errs.len(), 1, "{errs:?}");
}
