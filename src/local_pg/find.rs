//! Where PostgreSQL's server programs are: `PG_BIN`, `pg_config --bindir`,
//! `PATH`, then the usual install locations (Debian's and Ubuntu's
//! `/usr/lib/postgresql/*/bin`, Red Hat's `/usr/pgsql-*/bin`, Homebrew,
//! Postgres.app), newest version first.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the directory of `initdb` and `pg_ctl`.
pub const PG_BIN_ENV: &str = "PG_BIN";

/// No directory holds both `initdb` and `pg_ctl`.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL's server programs (initdb, pg_ctl) are not installed (looked in `{PG_BIN_ENV}`, `pg_config --bindir`, PATH, {places})")]
pub struct NotInstalled {
    places: String,
}

impl NotInstalled {
    /// How to install them on this operating system.
    pub fn hint(&self) -> String {
        let install = if cfg!(target_os = "macos") {
            "`brew install postgresql@17` (or Postgres.app)"
        } else {
            "`sudo apt-get install postgresql` (Debian, Ubuntu) or `sudo dnf install postgresql-server` (Fedora)"
        };
        format!("Install them with {install}, or set `{PG_BIN_ENV}` to the directory that holds `initdb` and `pg_ctl`")
    }
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn bin_dir() -> Result<PathBuf, NotInstalled> {
    if let Some(dir) = std::env::var_os(PG_BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if has_server_programs(&dir) {
            Ok(dir)
        } else {
            Err(NotInstalled {
                places: format!(
                    "`{PG_BIN_ENV}={}` holds no initdb and pg_ctl",
                    dir.display()
                ),
            })
        };
    }
    if let Some(dir) = from_pg_config().filter(|d| has_server_programs(d)) {
        return Ok(dir);
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|d| has_server_programs(d)) {
        return Ok(dir);
    }
    let candidates = install_locations();
    candidates
        .iter()
        .find(|d| has_server_programs(d))
        .cloned()
        .ok_or_else(|| NotInstalled {
            places: INSTALL_GLOBS.join(", "),
        })
}

/// The locations [`install_locations`] expands, for the error message.
const INSTALL_GLOBS: &[&str] = &[
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/opt/homebrew/bin",
    "/Applications/Postgres.app/Contents/Versions/latest/bin",
];

fn from_pg_config() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn has_server_programs(dir: &Path) -> bool {
    let exe = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    exe("initdb").is_file() && exe("pg_ctl").is_file()
}

/// Every versioned install directory, newest version first, then the
/// unversioned ones.
fn install_locations() -> Vec<PathBuf> {
    let mut versioned = Vec::new();
    versioned.extend(versioned_dirs(Path::new("/usr/lib/postgresql"), "", "bin"));
    versioned.extend(versioned_dirs(Path::new("/usr"), "pgsql-", "bin"));
    for brew in ["/opt/homebrew/opt", "/usr/local/opt"] {
        versioned.extend(versioned_dirs(Path::new(brew), "postgresql@", "bin"));
    }
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    let mut dirs: Vec<PathBuf> = versioned.into_iter().map(|(_, dir)| dir).collect();
    dirs.extend(
        [
            "/opt/homebrew/bin",
            "/usr/local/bin",
            "/Applications/Postgres.app/Contents/Versions/latest/bin",
        ]
        .map(PathBuf::from),
    );
    dirs
}

/// `parent/<prefix><version>/<bin>` for every entry whose version parses,
/// with its version (`15`, `9.6` -> (9, 6)).
fn versioned_dirs(parent: &Path, prefix: &str, bin: &str) -> Vec<((u32, u32), PathBuf)> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = parse_version(name.strip_prefix(prefix)?)?;
            Some((version, entry.path().join(bin)))
        })
        .collect()
}

/// `17` -> (17, 0), `9.6` -> (9, 6); anything else is not a version.
pub(crate) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.splitn(2, '.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(minor) => minor.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}
