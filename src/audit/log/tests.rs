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

fn today_path(dir: &Path) -> PathBuf {
    dir.join(file_name(Utc::now().date_naive()))
}

fn list_sources(n: u32) -> AuditRecord {
    AuditRecord::new("list_sources", &format!("r{n}"), "s", "p")
}

/// `ready` skips reopening today's file only while the path still names
/// the file the last append wrote to; every other state of the path takes
/// the full check, which opens (creating) it or refuses.
#[test]
fn ready_trusts_the_written_file_only_while_it_is_in_place() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("audit");
    let log = AuditLog::open_with_sync(&dir, 0, AuditSync::EveryRecord).unwrap();
    let today = today_path(&dir);
    log.append(&mut list_sources(1)).unwrap();
    assert!(log.placed.lock().unwrap().is_some());
    log.ready().unwrap();

    // Moved away: the full check creates today's file again.
    fs::rename(&today, dir.join("moved.jsonl")).unwrap();
    log.ready().unwrap();
    assert!(today.exists(), "ready opened (created) today's file");

    // Another file in its place: still ready, and the next record goes to
    // the file at the path, chained to the one this process wrote last.
    log.append(&mut list_sources(2)).unwrap();
    let placed = log.placed.lock().unwrap().unwrap();
    fs::remove_file(&today).unwrap();
    fs::write(&today, "").unwrap();
    log.ready().unwrap();
    let mut third = list_sources(3);
    log.append(&mut third).unwrap();
    assert_ne!(log.placed.lock().unwrap().unwrap().id, placed.id);
    assert!(fs::read_to_string(&today).unwrap().contains(&third.hash));

    // The directory replaced by a plain file: nothing opens under it, so
    // ready refuses although the last append succeeded.
    let moved = root.path().join("audit-moved");
    fs::rename(&dir, &moved).unwrap();
    fs::write(&dir, "not a directory").unwrap();
    let refused = log.ready().unwrap_err();
    assert!(matches!(refused, AuditError::Io { .. }), "{refused}");
    fs::remove_file(&dir).unwrap();
    fs::rename(&moved, &dir).unwrap();
    log.ready().unwrap();
}

/// A record appended after the file was cut short under this process
/// still chains to the hash this process wrote last (the length from the
/// open file's `fstat`, compared with what this process left).
#[test]
fn a_file_cut_short_under_the_process_keeps_the_loss_visible() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open_with_sync(dir.path(), 0, AuditSync::EveryRecord).unwrap();
    let mut first = list_sources(1);
    log.append(&mut first).unwrap();
    let mut second = list_sources(2);
    log.append(&mut second).unwrap();
    let today = today_path(dir.path());
    let text = fs::read_to_string(&today).unwrap();
    let first_line = text.lines().next().unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&today)
        .unwrap()
        .set_len(first_line.len() as u64 + 1)
        .unwrap();
    let mut third = list_sources(3);
    log.append(&mut third).unwrap();
    assert_eq!(third.prev_hash, second.hash);
}
