//! `--version` names the commit the binary was built from, and
//! `completions` prints scripts the shells accept.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn sqlwarden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_names_the_git_commit_of_the_build() {
    let out = sqlwarden(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(version.starts_with(concat!("sqlwarden ", env!("CARGO_PKG_VERSION"))));
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    let hash = version
        .trim()
        .strip_suffix(')')
        .and_then(|v| v.rsplit_once("(git "))
        .map(|(_, h)| h.trim_end_matches("-dirty").to_string())
        .unwrap_or_else(|| panic!("no git hash in {version:?}"));
    match head {
        Some(head) => assert!(
            hash.len() >= 7 && head.starts_with(&hash),
            "{version:?} does not name HEAD {head}"
        ),
        None => assert_eq!(hash, "unknown"),
    }
}

#[test]
fn bash_completions_parse_and_name_the_subcommands() {
    let out = sqlwarden(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    for subcommand in [
        "serve",
        "init",
        "check",
        "query",
        "call",
        "install",
        "uninstall",
        "completions",
    ] {
        assert!(script.contains(subcommand), "{subcommand}");
    }
    assert!(script.contains("claude-desktop"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sqlwarden.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let bad = sqlwarden(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}
