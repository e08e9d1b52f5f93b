//! Where `tests/clients/setup.sh` (run by `.ci/run`) installs the real MCP
//! clients and tools the tests drive, under `target/clients/`, and the
//! scripts in `tests/clients/` they run. A missing one fails its test at
//! once with the command that installs it.

use std::path::PathBuf;

/// `target/clients/`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/clients")
}

/// `tests/clients/`.
pub fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// `path` under `target/clients/`, which must exist.
pub fn installed(path: &str) -> PathBuf {
    let full = dir().join(path);
    assert!(
        full.exists(),
        "{} is missing: run tests/clients/setup.sh",
        full.display()
    );
    full
}

/// The virtualenv's Python with the official MCP Python SDK.
pub fn python() -> PathBuf {
    installed("venv/bin/python")
}

/// The Node project holding the TypeScript SDK and the MCPB packer; an ES
/// module script resolves packages only next to itself, so `script` from
/// `tests/clients/` is copied in and the copy's path returned.
pub fn node_script(script: &str) -> PathBuf {
    let copy = installed("node/node_modules").with_file_name(script);
    // Tests run in parallel and may copy the same script while another
    // runs it: write a private file and rename it over, so a reader only
    // ever sees a whole file.
    let private = copy.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::copy(scripts().join(script), &private).expect("copy the script next to node_modules");
    std::fs::rename(&private, &copy).expect("move the script into place");
    copy
}

/// The official MCPB CLI (npm `@anthropic-ai/mcpb`).
pub fn mcpb() -> PathBuf {
    installed("node/node_modules/.bin/mcpb")
}
