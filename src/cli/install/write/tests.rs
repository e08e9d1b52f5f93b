use super::*;

#[test]
fn backups_never_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::write(&file, "one").unwrap();
    let first = backup(&file).unwrap();
    std::fs::write(&file, "two").unwrap();
    let second = backup(&file).unwrap();
    assert_ne!(first, second);
    assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
    assert_eq!(std::fs::read_to_string(second).unwrap(), "two");
}

#[test]
fn atomic_write_creates_parents_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a/b/c.json");
    atomic_write(&file, b"{}\n").unwrap();
    atomic_write(&file, b"{\"x\": 1}\n").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"x\": 1}\n");
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
}
