use super::*;

#[test]
fn a_select_comes_back_as_its_tree() {
    let json = parse_json("SELECT a FROM s.t WHERE b = 'é'").unwrap();
    assert!(json.starts_with("{\"version\":"), "{json}");
    for part in [
        "\"stmts\":[{\"stmt\":{\"SelectStmt\":",
        "\"RangeVar\":{\"schemaname\":\"s\",\"relname\":\"t\"",
        "{\"ColumnRef\":{\"fields\":[{\"String\":{\"sval\":\"a\"}}]",
        "\"sval\":\"é\"",
    ] {
        assert!(json.contains(part), "{part} not in {json}");
    }
}

#[test]
fn two_statements_are_two_entries_and_nothing_is_an_empty_list() {
    let json = parse_json("SELECT 1; SELECT 2").unwrap();
    assert_eq!(json.matches("\"stmt\":").count(), 2, "{json}");
    let json = parse_json("").unwrap();
    assert!(!json.contains("\"stmt\":"), "{json}");
}

#[test]
fn a_syntax_error_says_where() {
    let error = parse_json("SELECT a FROM WHERE").unwrap_err();
    assert_eq!(error.message, "syntax error at or near \"WHERE\"");
    assert_eq!(error.position, Some(15));
    assert!(error.to_string().contains("at character 15"));
}

#[test]
fn a_nul_is_refused_not_cut_off() {
    let error = parse_json("SELECT 1\0; DROP TABLE t").unwrap_err();
    assert_eq!(error.position, Some(9));
}

#[test]
fn threads_parse_side_by_side() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                for j in 0..200 {
                    let json = parse_json(&format!("SELECT {i} + {j} FROM t{i}")).unwrap();
                    assert!(json.contains(&format!("\"relname\":\"t{i}\"")), "{json}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
