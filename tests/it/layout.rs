//! The source tree keeps the shape `docs/architecture.md` describes:
//! the config is the ground floor (nothing in `src/config` reaches a module
//! above it), every top-level module imports only modules on a lower floor
//! (so there is no cycle between them), and unit tests have one form (a child module `tests` in its
//! own file, so the files the library is built from hold no test code).
//!
//! These read the source text: an import is a path, and a path is text.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// How many `super::` steps lead from `file`'s module to the crate root.
fn depth(file: &Path) -> usize {
    let relative = file.strip_prefix(src()).unwrap();
    let parts = relative.components().count();
    match relative.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs") => parts - 1,
        _ => parts,
    }
}

#[test]
fn config_imports_nothing_above_it() {
    let mut found = Vec::new();
    for file in rust_files(&src().join("config")) {
        let to_root = "super::".repeat(depth(&file));
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let upward = line.match_indices("crate::").any(|(at, _)| {
                let rest = &line[at + "crate::".len()..];
                !rest.starts_with("config")
            }) || line.contains(&to_root);
            if upward {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/config must not reach above itself (policy, semantic, guard, engine, tools build on it):\n{}",
        found.join("\n")
    );
}

#[test]
fn unit_tests_live_in_their_own_file() {
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let inline = trimmed.starts_with("mod tests {");
            let pathed = trimmed.starts_with("#[path");
            let declared = trimmed == "mod tests;"
                && !lines[..n]
                    .iter()
                    .rev()
                    .take(3)
                    .any(|l| *l == "#[cfg(test)]");
            if inline || pathed || declared {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unit tests are a `#[cfg(test)] mod tests;` whose body is in `tests.rs` beside the module (`foo/tests.rs` for `foo.rs`):\n{}",
        found.join("\n")
    );
}

/// The floors of the crate, lowest first: a module may import only modules
/// on a lower floor. `engine` sits above `guard` because it takes the
/// gate's `CheckedQuery`, and above `policy` for the `Safeguards` policy
/// sets; `fuzzing` is test code over the gate and the engines. `auth`
/// (team mode's bearer tokens) needs only the config's identity types. `local_pg`
/// (running PostgreSQL's own programs) imports nothing of the crate: the
/// engine's tests use its test cluster, the demo its private one.
const FLOORS: &[&[&str]] = &[
    &["error", "local_pg"],
    &["config"],
    &["policy", "secrets", "audit", "auth"],
    &["guard"],
    &["semantic", "engine"],
    &["tools", "fuzzing"],
    &["server"],
    &["cli"],
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&module))
}

#[test]
fn modules_import_only_lower_floors() {
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        let relative = file.strip_prefix(src()).unwrap();
        let is_test = relative.components().any(|c| c.as_os_str() == "tests")
            || relative.file_name().is_some_and(|n| n == "tests.rs");
        let Some(top) = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|c| c.trim_end_matches(".rs"))
        else {
            continue;
        };
        if is_test || top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = floor(top) else {
            found.push(format!("{}: module `{top}` is on no floor", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if target == top {
                    continue;
                }
                match floor(&target) {
                    Some(other) if other < own => {}
                    _ => found.push(format!(
                        "{}:{}: `{top}` imports `{target}`: {line}",
                        file.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a module may import only modules on a lower floor (see FLOORS):\n{}",
        found.join("\n")
    );
}
