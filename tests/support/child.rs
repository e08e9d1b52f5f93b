//! Running one test of this binary again in a child process, with an
//! environment of its own.
//!
//! Environment variables are process-wide, and the tests of this binary run
//! in parallel threads, so a test that needs a variable set (or a fresh
//! kernel keyring session) re-runs an `#[ignore]`d inner test in a child
//! process. The inner test checks [`CHILD_ENV`] so that a plain
//! `cargo test -- --ignored` does not run it out of context.

use std::process::{Command, Output};

/// Set to `1` in the child; inner tests return early without it.
pub const CHILD_ENV: &str = "SQLWARDEN_TEST_CHILD";

/// Whether this process is such a child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == "1")
}

/// Run the ignored test `name` (its full path, e.g. `secrets::inner`) in a
/// child process with `set` added to and `remove` taken out of the
/// environment, under `wrapper` (e.g. `["keyctl", "session", "-"]`) when
/// given. Panics with the child's output unless it passed.
pub fn run_test(name: &str, set: &[(&str, &str)], remove: &[&str], wrapper: &[&str]) -> Output {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    command
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        // The child uses this process's PostgreSQL rather than its own.
        .envs(super::pg::child_env());
    for var in remove {
        command.env_remove(var);
    }
    for (var, value) in set {
        command.env(var, value);
    }
    let output = command.output().expect("start the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test `{name}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    output
}
