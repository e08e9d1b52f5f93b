use super::*;

#[test]
fn headers_resolve_from_each_files_directory() {
    let joins = for_config_file("catalog/joins.yaml").map(SchemaFile::header);
    assert_eq!(
        joins.as_deref(),
        Some("# yaml-language-server: $schema=../schema/joins.schema.json")
    );
    assert_eq!(
        with_header(
            "policy.yaml",
            "# yaml-language-server: $schema=../schema/policy.schema.json\na: 1\n"
        ),
        "# yaml-language-server: $schema=schema/policy.schema.json\na: 1\n"
    );
    assert_eq!(with_header("policy.yaml", "a: 1\n"), "a: 1\n");
}
