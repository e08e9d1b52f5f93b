//! Appending to the audit log: daily files, one lock, one write per record.
//!
//! Every append takes an exclusive lock on `.audit.lock` in the directory
//! (one lock for all days, so two processes crossing midnight cannot fork
//! the chain), finds the last record's hash (the tail of today's file, or of
//! the newest earlier file on a new day), chains the record to it, and
//! writes the whole line with one `write` and flushes it to the operating
//! system before returning. Forcing it to stable storage (`fdatasync`)
//! happens inline with [`AuditSync::EveryRecord`], or on a background
//! thread within a few milliseconds of the write ([`SYNC_WINDOW`]) with
//! [`AuditSync::Background`]: a flush costs milliseconds on many disks,
//! more than the whole tool call.
//! A torn last line left by a crash is not repaired (verify must still see
//! it); the next record starts on a fresh line and chains to the last
//! intact record. If today's file is moved, deleted or cut short under a
//! running process, its next record chains to the last hash it wrote, so
//! the loss stays visible to `verify`.
//!
//! A log that cannot take records must stop queries before they run, not
//! after: [`AuditLog::ready`] is checked before every call and refuses while
//! the last append failed, today's file cannot be opened for append, or the
//! filesystem is out of space. The first append that succeeds again (the
//! refused call's own record) clears the failure.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use super::chain::{seal, GENESIS};
use super::{AuditError, AuditRecord};
use crate::config::AuditSync;

/// Name of the lock file in the audit directory.
const LOCK_FILE: &str = ".audit.lock";
/// Free space below which the log counts as full: a few records' worth,
/// so a call is refused before it runs rather than after, unaudited.
const MIN_FREE_BYTES: u64 = 256 * 1024;
/// Bytes read from the end of a file when looking for the last record;
/// doubled until a whole record fits.
const TAIL_WINDOW: u64 = 64 * 1024;

/// An open audit directory.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    lock: File,
    current: Mutex<Option<DayFile>>,
    /// The background flusher; `None` when every record syncs inline.
    syncer: Option<Syncer>,
    /// Why the last append failed, until one succeeds again.
    last_failure: Mutex<Option<String>>,
    /// Which file the last append wrote to, for [`AuditLog::ready`]. Kept
    /// apart from `current`, whose lock is held while waiting for other
    /// processes' appends.
    placed: Mutex<Option<Placed>>,
}

/// The file of `day` the last append wrote to, by device and inode.
#[derive(Debug, Clone, Copy)]
struct Placed {
    day: NaiveDate,
    id: (u64, u64),
}

/// Today's file as this process last left it.
#[derive(Debug)]
struct DayFile {
    day: NaiveDate,
    file: File,
    /// A second handle on the same file for the background flusher.
    sync_handle: Arc<File>,
    /// File length after our last append, and the hash we wrote last; valid
    /// while the length is unchanged (no other process wrote since).
    len: u64,
    last_hash: Option<String>,
}

/// The last record's hash in one file, and whether the file ends cleanly.
struct Tail {
    hash: Option<String>,
    ends_with_newline: bool,
}

/// `audit-YYYY-MM-DD.jsonl`, the file of one UTC day.
pub fn file_name(day: NaiveDate) -> String {
    format!("audit-{}.jsonl", day.format("%Y-%m-%d"))
}

/// The day of an audit file name, if it is one.
pub(crate) fn file_day(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix("audit-")?.strip_suffix(".jsonl")?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// The audit files in `dir`, oldest first.
pub(crate) fn day_files(dir: &Path) -> Result<Vec<(NaiveDate, PathBuf)>, AuditError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(AuditError::io(dir))? {
        let entry = entry.map_err(AuditError::io(dir))?;
        if let Some(day) = entry.file_name().to_str().and_then(file_day) {
            files.push((day, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

impl AuditLog {
    /// Open (creating, `0700` on Unix) the audit directory `dir` and delete
    /// daily files older than `retention_days` (`0` keeps everything).
    /// Records are synced to disk in the background ([`AuditSync::Background`]).
    pub fn open(dir: &Path, retention_days: u32) -> Result<Self, AuditError> {
        Self::open_with_sync(dir, retention_days, AuditSync::Background)
    }

    /// [`AuditLog::open`] with an explicit sync mode.
    pub fn open_with_sync(
        dir: &Path,
        retention_days: u32,
        sync: AuditSync,
    ) -> Result<Self, AuditError> {
        create_private_dir(dir).map_err(AuditError::io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = private_options()
            .read(true)
            .write(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(AuditError::io(&lock_path))?;
        let syncer = match sync {
            AuditSync::Background => Some(Syncer::start().map_err(AuditError::io(dir))?),
            AuditSync::EveryRecord => None,
        };
        let log = Self {
            dir: dir.to_path_buf(),
            lock,
            current: Mutex::new(None),
            syncer,
            last_failure: Mutex::new(None),
            placed: Mutex::new(None),
        };
        log.prune(retention_days)?;
        Ok(log)
    }

    /// The directory this log writes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Chain `record` to the log (setting its `prev_hash` and `hash`) and
    /// write it durably. An error means the record is not in the log.
    pub fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let appended = self.locked(|| self.append_locked(&mut current, record));
        *self
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            appended.as_ref().err().map(ToString::to_string);
        appended
    }

    /// Whether a record can be appended now: the last append (if any)
    /// succeeded, today's file opens for append, and the filesystem has
    /// room. The pipeline checks this before a call runs, so a query never
    /// reaches an engine while its record could not be written.
    ///
    /// While today's file is still the one the last append wrote to (one
    /// `stat`), the append will write to the handle it holds, so the file
    /// is not opened again; any other state of the path (moved, deleted,
    /// its directory gone) takes the full check.
    pub fn ready(&self) -> Result<(), AuditError> {
        let today = Utc::now().date_naive();
        let path = self.dir.join(file_name(today));
        let failure = self
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(cause) = failure {
            return Err(AuditError::Io {
                path,
                source: io::Error::other(format!("the last append failed: {cause}")),
            });
        }
        let placed = *self
            .placed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let in_place = placed.is_some_and(|placed| {
            placed.day == today
                && fs::metadata(&path).is_ok_and(|named| file_id(&named) == Some(placed.id))
        });
        if !in_place {
            private_options()
                .append(true)
                .open(&path)
                .map_err(AuditError::io(&path))?;
        }
        match free_bytes(&self.dir) {
            Some(free) if free < MIN_FREE_BYTES => Err(AuditError::Io {
                path: self.dir.clone(),
                source: io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("only {free} bytes free on the audit log's filesystem"),
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Run `f` holding the exclusive lock on the directory.
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, AuditError>) -> Result<T, AuditError> {
        self.lock
            .lock()
            .map_err(AuditError::io(self.dir.join(LOCK_FILE)))?;
        let _held = Held(&self.lock);
        f()
    }

    fn append_locked(
        &self,
        current: &mut Option<DayFile>,
        record: &mut AuditRecord,
    ) -> Result<(), AuditError> {
        let today = Utc::now().date_naive();
        let path = self.dir.join(file_name(today));
        // The hash this process wrote last, when today's file has since been
        // moved, deleted or cut short: chaining to it (rather than to what
        // is left on disk) keeps the loss visible to `verify`.
        let mut lost_hash = None;
        // One `fstat` of the open file gives its identity and length; one
        // `stat` of the path tells whether it is still today's file.
        let (day_file, meta) = match current.take() {
            Some(open) if open.day == today => match open.file.metadata() {
                Ok(meta) if same_file(&meta, &path) => (open, meta),
                _ => {
                    lost_hash = open.last_hash;
                    self.open_day(today, &path)?
                }
            },
            _ => self.open_day(today, &path)?,
        };
        let len = meta.len();
        let day_file = current.insert(day_file);
        if len < day_file.len {
            lost_hash = lost_hash.or(day_file.last_hash.clone());
        }
        let tail = match &day_file.last_hash {
            Some(hash) if day_file.len == len => Tail {
                hash: Some(hash.clone()),
                ends_with_newline: true,
            },
            _ if len == 0 => Tail {
                hash: None,
                ends_with_newline: true,
            },
            _ => read_tail(&path).map_err(AuditError::io(&path))?,
        };
        let prev_hash = match (lost_hash, tail.hash) {
            (Some(hash), _) => {
                tracing::warn!(path = %path.display(), "audit file was moved or cut short; chaining to the last record written");
                hash
            }
            (None, Some(hash)) => hash,
            (None, None) => self.previous_hash(today)?,
        };

        record.prev_hash = prev_hash;
        record.hash.clear();
        let value =
            serde_json::to_value(&*record).map_err(|e| AuditError::Serialize(e.to_string()))?;
        let (hash, sealed) =
            seal(&record.prev_hash, &value).map_err(|e| AuditError::Serialize(e.to_string()))?;
        record.hash = hash;
        let mut line = String::with_capacity(sealed.len() + 2);
        if !tail.ends_with_newline {
            line.push('\n');
        }
        line.push_str(&sealed);
        line.push('\n');

        let file = &mut day_file.file;
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(AuditError::io(&path))?;
        match &self.syncer {
            Some(syncer) => syncer.request(&day_file.sync_handle),
            None => file.sync_data().map_err(AuditError::io(&path))?,
        }
        day_file.len = len + line.len() as u64;
        day_file.last_hash = Some(record.hash.clone());
        *self
            .placed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            file_id(&meta).map(|id| Placed { day: today, id });
        Ok(())
    }

    /// Open (creating) the file of `day` at `path` for append, with its
    /// metadata.
    fn open_day(&self, day: NaiveDate, path: &Path) -> Result<(DayFile, Metadata), AuditError> {
        let file = private_options()
            .append(true)
            .open(path)
            .map_err(AuditError::io(path))?;
        let sync_handle = Arc::new(file.try_clone().map_err(AuditError::io(path))?);
        let meta = file.metadata().map_err(AuditError::io(path))?;
        let day_file = DayFile {
            day,
            file,
            sync_handle,
            len: 0,
            last_hash: None,
        };
        Ok((day_file, meta))
    }

    /// The last hash of the newest file before `today`, or the genesis
    /// value when there is none.
    fn previous_hash(&self, today: NaiveDate) -> Result<String, AuditError> {
        for (day, path) in day_files(&self.dir)?.into_iter().rev() {
            if day >= today {
                continue;
            }
            if let Some(hash) = read_tail(&path).map_err(AuditError::io(&path))?.hash {
                return Ok(hash);
            }
        }
        Ok(GENESIS.to_string())
    }

    /// Delete, under the directory lock, the daily files older than
    /// `retention_days` (today counts as one; `0` keeps everything) and
    /// return the paths removed, oldest first.
    pub(crate) fn prune(&self, retention_days: u32) -> Result<Vec<PathBuf>, AuditError> {
        if retention_days == 0 {
            return Ok(Vec::new());
        }
        self.locked(|| {
            let today = Utc::now().date_naive();
            let keep_from = today - chrono::Days::new(u64::from(retention_days.saturating_sub(1)));
            let mut removed = Vec::new();
            for (day, path) in day_files(&self.dir)? {
                if day < keep_from {
                    fs::remove_file(&path).map_err(AuditError::io(&path))?;
                    tracing::debug!(path = %path.display(), "pruned audit file past retention");
                    removed.push(path);
                }
            }
            Ok(removed)
        })
    }
}

/// How long the background flusher waits after a record before it
/// flushes, so the records of the calls in that time share one
/// `fdatasync`. A flush per record cost a point query over a bare pipe
/// about 7% of its time (0.94-0.95 ms against 0.87-0.89 with no flush at
/// all, the flush's own CPU on a 2-core machine); this keeps "the last
/// few milliseconds" what a power cut can lose.
const SYNC_WINDOW: Duration = Duration::from_millis(5);

/// A thread that `fdatasync`s the files written to, [`SYNC_WINDOW`] after
/// the first record it was told of, so bursts of records share one flush.
/// Dropping it flushes what is pending at once and joins the thread.
#[derive(Debug)]
struct Syncer {
    shared: Arc<SyncShared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct SyncShared {
    state: Mutex<SyncState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Each file written to since the last flush, once (two around
    /// midnight).
    pending: Vec<Arc<File>>,
    /// The thread waits for a first record (not inside a window).
    idle: bool,
    stop: bool,
    /// Files flushed so far, for the tests.
    #[cfg(test)]
    flushed: usize,
}

impl Syncer {
    fn start() -> io::Result<Self> {
        let shared = Arc::new(SyncShared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sqlwarden-audit-sync".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    fn request(&self, file: &Arc<File>) {
        let mut state = self.shared.lock();
        if !state.pending.iter().any(|p| Arc::ptr_eq(p, file)) {
            state.pending.push(Arc::clone(file));
        }
        // Inside a window the thread flushes when it ends; waking it would
        // cost a thread switch per record.
        if state.idle {
            self.shared.wake.notify_one();
        }
    }
}

impl SyncShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self) {
        loop {
            let mut state = self.lock();
            while state.pending.is_empty() && !state.stop {
                state.idle = true;
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            state.idle = false;
            let window_ends = Instant::now() + SYNC_WINDOW;
            while !state.stop {
                let Some(left) = window_ends.checked_duration_since(Instant::now()) else {
                    break;
                };
                state = self
                    .wake
                    .wait_timeout(state, left)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
            }
            let pending = std::mem::take(&mut state.pending);
            let stop = state.stop;
            #[cfg(test)]
            {
                state.flushed += pending.len();
            }
            drop(state);
            for file in &pending {
                if let Err(err) = file.sync_data() {
                    tracing::error!(%err, "could not sync the audit log to disk");
                }
            }
            if stop {
                return;
            }
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Releases the directory lock when dropped, also when `f` panics, so a
/// bug here cannot block every other sqlwarden process.
struct Held<'a>(&'a File);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.0.unlock() {
            tracing::warn!(%err, "could not release the audit lock; closing the file will");
        }
    }
}

/// Whether the file whose metadata is `open` is still the one at `path`
/// (not moved or deleted), so records never go to a file nobody will read.
fn same_file(open: &Metadata, path: &Path) -> bool {
    match (file_id(open), fs::metadata(path)) {
        (Some(open), Ok(named)) => file_id(&named) == Some(open),
        // Without identities, a file that exists at the path is taken as
        // the one this process opened.
        (None, named) => named.is_ok(),
        (Some(_), Err(_)) => false,
    }
}

/// A file's device and inode, where the platform has them.
#[cfg(unix)]
fn file_id(meta: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &Metadata) -> Option<(u64, u64)> {
    None
}

/// Find the last intact record's hash near the end of `path`.
fn read_tail(path: &Path) -> io::Result<Tail> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut window = TAIL_WINDOW;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        Read::by_ref(&mut file)
            .take(len - start)
            .read_to_end(&mut bytes)?;
        let ends_with_newline = bytes.last().is_none_or(|b| *b == b'\n');
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<&str> = text.split('\n').collect();
        // The last piece is empty after a final newline, or torn.
        lines.pop();
        if start > 0 && !lines.is_empty() {
            // The first piece may start mid-line.
            lines.remove(0);
        }
        let hash = lines.iter().rev().find_map(|line| line_hash(line));
        if hash.is_some() || start == 0 {
            return Ok(Tail {
                hash,
                ends_with_newline,
            });
        }
        window = window.saturating_mul(2);
    }
}

/// The `hash` of one JSONL line, if it is a record.
fn line_hash(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("hash")?.as_str().map(str::to_string)
}

/// Bytes available to this user on the filesystem holding `dir`, when the
/// platform says.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(unix)]
fn private_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.create(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    options
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
