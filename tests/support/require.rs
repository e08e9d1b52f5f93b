//! Tools some tests need besides PostgreSQL (which [`super::pg`] brings).
//! A missing one fails its tests at once with the command that installs
//! it; nothing is skipped. `.ci/run` installs them all.

use std::process::{Command, Stdio};

/// `keyctl` (the kernel keyring tests run in `keyctl session`).
pub fn keyctl() {
    let found = Command::new("keyctl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "`keyctl` is not installed; these tests need it: `sudo apt-get install keyutils` (Debian, Ubuntu) or `sudo dnf install keyutils` (Fedora)"
    );
}

/// Python 3 with the official MaxCompute SDK, pyodps.
pub fn pyodps() {
    let imported = Command::new("python3")
        .args(["-c", "import odps"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match imported {
        Err(e) => panic!("`python3` cannot be run ({e}); these tests need Python 3 with pyodps: install Python 3, then `python3 -m pip install pyodps`"),
        Ok(status) => assert!(
            status.success(),
            "pyodps (the MaxCompute Python SDK) is not installed; these tests need it: `python3 -m pip install pyodps`"
        ),
    }
}
