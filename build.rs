//! Build script: records the git commit the binary was built from.
//!
//! `SQLWARDEN_GIT_HASH` is the short hash of HEAD, with `-dirty` when
//! tracked files differ from it, or `unknown` when git or a checkout is
//! missing (a crate tarball, a machine without git). The build never fails
//! over it: a version string is not worth a broken install.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Edits to these make a clean tree dirty; cargo scans directories
    // recursively, so the flag stays true to the sources it was built from.
    for path in ["src", "config", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let hash = git_hash().unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SQLWARDEN_GIT_HASH={hash}");
}

/// The short hash of HEAD plus `-dirty`, registering the git files whose
/// change means a new commit.
fn git_hash() -> Option<String> {
    let git_dir = PathBuf::from(git(&["rev-parse", "--git-dir"])?);
    let common_dir = git(&["rev-parse", "--git-common-dir"])
        .map(PathBuf::from)
        .unwrap_or_else(|| git_dir.clone());
    watch_head(&git_dir, &common_dir);
    let short = git(&["rev-parse", "--short", "HEAD"])?;
    // `--quiet` exits 1 when tracked files differ from HEAD; untracked
    // files (build output, editor backups) do not count.
    let dirty = Command::new("git")
        .args(["diff-index", "--quiet", "HEAD", "--"])
        .status()
        .ok()
        .is_some_and(|status| status.code() == Some(1));
    Some(if dirty {
        format!("{short}-dirty")
    } else {
        short
    })
}

/// Rerun when HEAD moves: `HEAD` itself (a checkout), the branch ref it
/// points to (a commit), `packed-refs` (a ref packed by `git gc`) and the
/// index (staging changes what `diff-index` sees).
fn watch_head(git_dir: &Path, common_dir: &Path) {
    let head = git_dir.join("HEAD");
    let mut watched = vec![
        head.clone(),
        git_dir.join("index"),
        common_dir.join("packed-refs"),
    ];
    if let Ok(contents) = std::fs::read_to_string(&head) {
        if let Some(reference) = contents.trim().strip_prefix("ref: ") {
            watched.push(common_dir.join(reference));
        }
    }
    // A path that does not exist would make cargo rerun this script, and
    // rebuild the crate, on every build.
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// One line of git output, or `None` when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.trim();
    (!line.is_empty()).then(|| line.to_string())
}
