use std::path::Path;

use serde_json::Value;

use super::*;

/// The tree as a `serde_json` value, to compare with `to_value`.
fn to_json(tree: &Tree) -> Value {
    match tree {
        Tree::Null => Value::Null,
        Tree::Bool(b) => Value::Bool(*b),
        Tree::Number(n) => Value::Number(n.clone()),
        Tree::Str(s) => Value::String(s.clone()),
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

/// The re-check walks [`Tree`] where it walked `serde_json::to_value`'s
/// value: on every corpus text PostgreSQL parses, the two are the same
/// value and print the same text, so the walk sees (and reports) exactly
/// what it saw before.
#[test]
fn the_tree_is_the_json_value_on_every_corpus_text() {
    let mut parsed = 0;
    for text in corpus() {
        let Ok(result) = pg_query::parse(&text, 0) else {
            continue;
        };
        let tree = Tree::of(&result.protobuf).unwrap();
        let json = serde_json::to_value(&result.protobuf).unwrap();
        assert_eq!(to_json(&tree), json, "{text}");
        assert_eq!(tree.to_string(), json.to_string(), "{text}");
        parsed += 1;
    }
    assert!(parsed > 500, "only {parsed} corpus texts parsed");
}

#[test]
fn values_serde_json_treats_specially_come_out_the_same() {
    #[derive(serde::Serialize)]
    enum Kind {
        Unit,
        Tuple(i8, u64),
        Struct { f: f32 },
    }
    #[derive(serde::Serialize)]
    struct Odd<'a> {
        nan: f64,
        big: u64,
        neg: i64,
        text: &'a str,
        bytes: &'a [u8],
        kinds: Vec<Kind>,
        map: std::collections::BTreeMap<u32, char>,
        unit: (),
        none: Option<u8>,
    }
    let odd = Odd {
        nan: f64::NAN,
        big: u64::MAX,
        neg: i64::MIN,
        text: "quote \" backslash \\ control \u{1} é",
        bytes: &[0, 255],
        kinds: vec![Kind::Unit, Kind::Tuple(-1, 2), Kind::Struct { f: 0.5 }],
        map: [(1, 'a'), (2, '"')].into_iter().collect(),
        unit: (),
        none: None,
    };
    let tree = Tree::of(&odd).unwrap();
    let json = serde_json::to_value(&odd).unwrap();
    assert_eq!(to_json(&tree), json);
    assert_eq!(tree.to_string(), json.to_string());
}
