use super::*;

#[test]
fn plain_text_reads_the_same() {
    verify("SELECT `a b`, x FROM p.t WHERE y = 'EAST' AND z <= 1.5e3 LIMIT 101").unwrap();
}

#[test]
fn texts_maxcompute_reads_differently_are_refused() {
    for sql in [
        r"SELECT 'a\' , phone FROM t --'",
        r#"SELECT "a" FROM t"#,
        "SELECT a FROM t -- hidden",
        "SELECT /*+ mapjoin(t) */ a FROM t",
        "SELECT a FROM t WHERE b = 1BD",
        "SELECT a # b FROM t",
    ] {
        match verify(sql) {
            Ok(()) => panic!("accepted: {sql}"),
            Err(refused) => assert_eq!(refused.code.as_str(), "GATE_MISMATCH", "{sql}"),
        }
    }
}

#[test]
fn backticks_and_escapes_follow_maxcompute() {
    assert_eq!(
        lex(r"`a``b` 'x\'y' 3BD").unwrap(),
        vec![
            Lexeme::Quoted("a`b".into()),
            Lexeme::Str("x'y".into()),
            Lexeme::Number("3BD".into())
        ]
    );
}
