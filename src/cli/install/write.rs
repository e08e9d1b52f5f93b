//! Replacing a client's config file safely: a timestamped backup of the old
//! bytes first, then the new contents written to a temporary file in the
//! same directory and renamed over the old one, so a crash or a full disk
//! leaves either the old file or the new one, never half of each.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Copy `path` (which exists) to `<path>.backup-<UTC timestamp>` and return
/// the backup's path. An existing backup is never overwritten.
pub(crate) fn backup(path: &Path) -> io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let original = fs_err::read(path)?;
    for attempt in 0..100u32 {
        let suffix = if attempt == 0 {
            format!("backup-{stamp}")
        } else {
            format!("backup-{stamp}-{attempt}")
        };
        let backup = sibling(path, &suffix);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&backup)
        {
            Ok(mut file) => {
                file.write_all(&original)?;
                file.sync_all()?;
                return Ok(backup);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(with_path(e, &backup)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("too many backups of `{}` this millisecond", path.display()),
    ))
}

/// Replace (or create) `path` with `contents` atomically, keeping the old
/// file's permissions.
pub(crate) fn atomic_write(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    let temp = sibling(path, &format!("sqlwarden-{}.tmp", uuid::Uuid::new_v4()));
    let written = write_new(&temp, contents, path).and_then(|()| fs_err::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn write_new(temp: &Path, contents: &[u8], original: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| with_path(e, temp))?;
    file.write_all(contents)?;
    file.sync_all()?;
    if let Ok(meta) = std::fs::metadata(original) {
        fs_err::set_permissions(temp, meta.permissions())?;
    }
    Ok(())
}

/// `<path>.<suffix>`, in the same directory (so a rename never crosses
/// file systems).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{e}: `{}`", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
