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

/// Files the background flusher of `log` has flushed so far.
fn flushed(shared: &SyncShared) -> usize {
    shared.lock().flushed
}

/// Records told of within one window are flushed together, each file
/// once; dropping the flusher flushes what is pending without waiting.
#[test]
fn the_flusher_flushes_each_file_once_per_window_and_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| Arc::new(File::create(dir.path().join(name)).unwrap());
    let (a, b) = (open("a"), open("b"));
    let syncer = Syncer::start().unwrap();
    let shared = Arc::clone(&syncer.shared);
    syncer.request(&a);
    syncer.request(&b);
    syncer.request(&a);
    let waited = Instant::now();
    while flushed(&shared) < 2 && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(SYNC_WINDOW * 4);
    assert_eq!(flushed(&shared), 2, "a and b, once each");
    // The day's file is flushed when the flusher stops, not a window later.
    syncer.request(&a);
    drop(syncer);
    assert_eq!(flushed(&shared), 3);
}

/// Records a millisecond apart (a fast flush takes less) share flushes: a
/// flush per record would be ten.
#[test]
fn records_written_a_millisecond_apart_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), 0).unwrap();
    let Some(syncer) = &log.syncer else {
        panic!("the default flushes in the background");
    };
    let shared = Arc::clone(&syncer.shared);
    for n in 0..10 {
        let mut record = AuditRecord::new("list_sources", &format!("r{n}"), "s", "p");
        log.append(&mut record).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(log);
    let flushes = flushed(&shared);
    assert!(
        (1..=5).contains(&flushes),
        "{flushes} flushes for 10 records"
    );
}
