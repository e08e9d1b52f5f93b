use super::*;

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

#[test]
fn parses_the_documented_example() {
    let table = parse("\"id\",\"amount\",\"name\"\n1,2.5,\"alice\"\n2,\\N,\"bob\"\n").unwrap();
    assert_eq!(table.columns, ["id", "amount", "name"]);
    assert_eq!(
        table.rows,
        vec![
            vec![s("1"), s("2.5"), s("alice")],
            vec![s("2"), None, s("bob")]
        ]
    );
}

#[test]
fn quotes_commas_newlines_and_quoted_null_token() {
    let table = parse("a,b\r\n\"x, \"\"y\"\"\nz\",\"\\N\"\r\n,\n").unwrap();
    assert_eq!(
        table.rows,
        vec![vec![s("x, \"y\"\nz"), s("\\N")], vec![s(""), s("")]]
    );
}

#[test]
fn errors_and_edge_cases() {
    assert_eq!(parse(""), Ok(CsvTable::default()));
    assert_eq!(parse("a\n\"open\n"), Err(CsvError::Unclosed(1)));
    assert_eq!(
        parse("a,b\n1\n"),
        Err(CsvError::Ragged {
            row: 1,
            expected: 2,
            found: 1
        })
    );
    let header_only = parse("a,b\n").unwrap();
    assert_eq!(header_only.columns, ["a", "b"]);
    assert!(header_only.rows.is_empty());
}

#[test]
fn base64_transform() {
    let encoded = BASE64.encode("n\n\\N\n7\n");
    let table = parse_result(&encoded, true).unwrap();
    assert_eq!(table.rows, vec![vec![None], vec![s("7")]]);
    assert_eq!(parse_result("!!", true), Err(CsvError::Base64));
}
