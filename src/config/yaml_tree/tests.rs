use super::*;

const DOC: &str = "a:\n  b:\n    - x: 1\n      y: [1, 2]\n  c: {k: v}\n# note\nd: 'q'\n";

#[test]
fn positions_are_one_based() {
    let tree = YamlTree::parse(DOC).unwrap();
    let root = tree.root.unwrap();
    let (key, _) = root.entry("d").unwrap();
    assert_eq!(key.pos, Pos { line: 7, column: 1 });
    let item = &root.at(&["a", "b"]).unwrap().items()[0];
    assert_eq!(item.pos, Pos { line: 3, column: 7 });
    let y = item.get("y").unwrap();
    assert_eq!(
        y.items()[1].pos,
        Pos {
            line: 4,
            column: 14
        }
    );
    assert_eq!(root.at(&["a", "c", "k"]).unwrap().as_str(), Some("v"));
}

#[test]
fn isolate_keeps_lines_and_columns() {
    let tree = YamlTree::parse(DOC).unwrap();
    let root = tree.root.unwrap();
    let item = &root.at(&["a", "b"]).unwrap().items()[0];
    let text = isolate(DOC, Range::of(item), &[]);
    assert_eq!(text.lines().count(), DOC.lines().count());
    let again = YamlTree::parse(&text).unwrap().root.unwrap();
    assert_eq!(again.pos, Pos { line: 3, column: 7 });
    assert_eq!(again.get("x").unwrap().as_str(), Some("1"));
    assert!(again.get("d").is_none());
}

#[test]
fn isolate_drops_a_flow_entry_and_its_comma() {
    let doc = "m: {engine: postgres, host: h}\n";
    let root = YamlTree::parse(doc).unwrap().root.unwrap();
    let map = root.get("m").unwrap();
    let (k, v) = map.entry("engine").unwrap();
    let text = isolate(doc, Range::of(map), &[Range::entry(k, v)]);
    let again = YamlTree::parse(&text).unwrap().root.unwrap();
    assert_eq!(again.entries().len(), 1);
    assert_eq!(again.get("host").unwrap().as_str(), Some("h"));
}

#[test]
fn aliases_are_noticed_and_bad_yaml_is_none() {
    assert!(YamlTree::parse("a: &x 1\nb: *x\n").unwrap().has_aliases);
    assert!(YamlTree::parse("a: [\n").is_none());
    assert!(YamlTree::parse("").unwrap().root.is_none());
}
