use super::*;

#[test]
fn file_names_round_trip() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 9).unwrap();
    assert_eq!(file_name(day), "audit-2026-01-09.jsonl");
    assert_eq!(file_day(&file_name(day)), Some(day));
    assert_eq!(file_day("audit-2026-13-01.jsonl"), None);
    assert_eq!(file_day(".audit.lock"), None);
}

#[test]
fn the_tail_skips_a_torn_line_and_finds_records_beyond_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let big = "x".repeat(TAIL_WINDOW as usize * 3);
    fs::write(
        &path,
        format!("{{\"hash\":\"h1\",\"pad\":\"{big}\"}}\n{{\"hash\":\"h2\""),
    )
    .unwrap();
    let tail = read_tail(&path).unwrap();
    assert_eq!(tail.hash.as_deref(), Some("h1"));
    assert!(!tail.ends_with_newline);
}
