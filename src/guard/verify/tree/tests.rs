use std::path::Path;

use serde_json::Value;

use super::*;

/// The tree as a `serde_json` value, to compare with `to_value`.
fn to_json(tree: &Tree<'_>) -> Value {
    match tree {
        Tree::Null => Value::Null,
        Tree::Bool(b) => Value::Bool(*b),
        Tree::Number(n) => Value::Number(n.clone()),
        Tree::Str(s) => Value::String(s.to_string()),
        Tree::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Tree::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// Every text of the committed corpora: the TPC-H 22, the TPC-DS subset,
/// and the fuzz corpora and regressions of the gate targets.
pub(crate) fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for i in 1..=22 {
        let path = root.join(format!("tests/fixtures/tpch/q{i:02}.sql"));
        texts.push(std::fs::read_to_string(path).unwrap());
    }
    let tpcds = std::fs::read_to_string(root.join("benches/fixtures/tpcds/queries.sql")).unwrap();
    texts.extend(tpcds.split("\n;\n").map(str::to_string));
    for dir in [
        "fuzz/corpus/gate",
        "fuzz/corpus/gate_lexer",
        "fuzz/regressions/gate",
        "fuzz/regressions/gate_lexer",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            if let Ok(text) = String::from_utf8(std::fs::read(entry.unwrap().path()).unwrap()) {
                texts.push(text);
            }
        }
    }
    texts
}

/// On every corpus text PostgreSQL parses, the tree the walk builds when
/// it keeps everything is `serde_json`'s value of libpg_query's JSON, and
/// prints the same text: the walk sees (and reports) what the document
/// says.
#[test]
fn the_tree_is_the_json_value_on_every_corpus_text() {
    let mut parsed = 0;
    for text in corpus() {
        let Ok(json) = pg_grammar::parse_json(&text) else {
            continue;
        };
        let tree = Tree::of(&json).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(to_json(&tree), value, "{text}");
        assert_eq!(tree.to_string(), value.to_string(), "{text}");
        parsed += 1;
    }
    assert!(parsed > 500, "only {parsed} corpus texts parsed");
}

#[test]
fn values_serde_json_treats_specially_come_out_the_same() {
    let json = r#"{"big":18446744073709551615,"neg":-9223372036854775808,"half":0.5,
        "text":"quote \" backslash \\ control \u0001 é \ud83d\ude00","none":null,
        "list":[true,false,[],{}],"twice":1,"twice":2,"esc\u0061ped":"k"}"#;
    let tree = Tree::of(json).unwrap();
    let value: Value = serde_json::from_str(json).unwrap();
    assert_eq!(to_json(&tree), value);
    assert_eq!(tree.to_string(), value.to_string());
    assert_eq!(tree.get("escaped").and_then(Tree::as_str), Some("k"));
}

/// Records every entry it is shown, refusing at `refuse`.
struct Recorder {
    seen: Vec<String>,
    refuse: &'static str,
}

impl Inspector for Recorder {
    type Error = String;
    fn reads(&self, key: &str) -> Option<&'static [&'static str]> {
        match key {
            "RangeVar" => Some(&["relname"]),
            "targetList" => None,
            _ => Some(&[]),
        }
    }
    fn inspect(&mut self, key: &str, value: &Tree<'_>) -> Result<(), String> {
        self.seen.push(format!("{key}={value}"));
        if key == self.refuse {
            return Err(format!("refused {key}"));
        }
        Ok(())
    }
}

fn recorder(refuse: &'static str) -> Recorder {
    Recorder {
        seen: Vec::new(),
        refuse,
    }
}

#[test]
fn statements_are_named_in_order_and_every_entry_inside_is_shown_after_its_contents() {
    let json = pg_grammar::parse_json("SELECT a FROM s.t; DELETE FROM u").unwrap();
    let mut seen = recorder("");
    let kinds = statements(&json, &mut seen, 100).unwrap();
    assert_eq!(kinds, ["SelectStmt", "DeleteStmt"]);
    let at = |entry: &str| {
        seen.seen
            .iter()
            .position(|s| s == entry)
            .unwrap_or_else(|| panic!("{entry} not in {:?}", seen.seen))
    };
    // Only the field the inspector reads is kept; the rest is shape.
    assert!(at(r#"relname="t""#) < at(r#"RangeVar={"relname":"t"}"#));
    assert!(at(r#"RangeVar={"relname":"t"}"#) < at("SelectStmt={}"));
    assert!(at("SelectStmt={}") < at(r#"relname="""#));
    // A node that is not a named kind's is still walked: DELETE's target
    // is a struct field, not a node.
    assert!(at(r#"relname="""#) < at("relation={}"));
    assert!(at("relation={}") < at("DeleteStmt={}"));
    // A key the inspector does not ask for is not shown, but what is
    // inside it is.
    assert!(!seen.seen.iter().any(|s| s.starts_with("targetList=")));
    assert!(at("ColumnRef={}") < at("SelectStmt={}"));
    // The frame is not shown as entries.
    assert!(!seen.seen.iter().any(|s| s.starts_with("stmts=")));
    assert!(!seen.seen.iter().any(|s| s.starts_with("stmt=")));
}

#[test]
fn a_refusal_stops_the_walk_and_is_handed_back() {
    let json = pg_grammar::parse_json("SELECT a FROM t WHERE b IN (SELECT c FROM u)").unwrap();
    let mut seen = recorder("RangeVar");
    match statements(&json, &mut seen, 100) {
        Err(Stop::Refused(why)) => assert_eq!(why, "refused RangeVar"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        seen.seen
            .iter()
            .filter(|s| s.starts_with("RangeVar="))
            .count(),
        1
    );
}

#[test]
fn depth_is_bounded_and_text_that_is_not_the_document_is_malformed() {
    let deep = format!("SELECT {}a{} FROM t", "-(".repeat(60), ")".repeat(60));
    let json = pg_grammar::parse_json(&deep).unwrap();
    assert!(statements(&json, &mut recorder(""), 4096).is_ok());
    assert!(matches!(
        statements(&json, &mut recorder(""), 100),
        Err(Stop::TooDeep)
    ));
    for text in [
        "",
        "[]",
        r#"{"stmts":{}}"#,
        r#"{"stmts":[1]}"#,
        r#"{"stmts":[{"stmt":[]}]}"#,
        r#"{"stmts":[]} x"#,
        r#"{"stmts":[{"stmt":{"SelectStmt":{"a":}}}]}"#,
    ] {
        assert!(
            matches!(
                statements(text, &mut recorder(""), 100),
                Err(Stop::Malformed(_))
            ),
            "{text}"
        );
    }
    assert_eq!(
        statements(
            r#"{"version":1,"stmts":[{"stmt":{}}]}"#,
            &mut recorder(""),
            100
        )
        .unwrap(),
        Vec::<String>::new()
    );
}
