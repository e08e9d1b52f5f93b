//! Registering with clients and installing, as a person does it: the built
//! binary edits real Claude Desktop config files in temp directories, runs
//! the real Claude Code CLI (`claude`, from npm) under a temp HOME, and
//! `install/install.sh` installs from this checkout twice.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn exe() -> PathBuf {
    std::fs::canonicalize(env!("CARGO_BIN_EXE_sqlwarden")).unwrap()
}

/// `sqlwarden [--config-dir DIR] install|uninstall claude-desktop
/// --client-config FILE ARGS...`.
fn desktop(action: &str, file: &Path, profile: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(exe());
    if let Some(dir) = profile {
        command.arg("--config-dir").arg(dir);
    }
    command
        .args([action, "claude-desktop", "--client-config"])
        .arg(file)
        .args(args)
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .env_remove("SQLWARDEN_CLAUDE_DESKTOP_CONFIG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".backup-"))
        .collect();
    found.sort();
    found
}

fn serve_entry(profile: Option<&Path>) -> Value {
    let mut args = Vec::new();
    if let Some(dir) = profile {
        args.push(dir.to_string_lossy().into_owned());
        args.insert(0, "--config-dir".to_string());
    }
    args.push("serve".to_string());
    json!({"command": exe().to_string_lossy(), "args": args})
}

#[test]
fn desktop_config_absent_is_created_with_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Claude/claude_desktop_config.json");
    let out = desktop("install", &file, None, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Registered `sqlwarden`"));
    assert_eq!(
        read_json(&file),
        json!({"mcpServers": {"sqlwarden": serve_entry(None)}})
    );
    assert!(
        backups(file.parent().unwrap()).is_empty(),
        "nothing to back up"
    );
}

#[test]
fn desktop_config_empty_file_counts_as_an_empty_object() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claude_desktop_config.json");
    std::fs::write(&file, "").unwrap();
    let out = desktop("install", &file, None, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        read_json(&file),
        json!({"mcpServers": {"sqlwarden": serve_entry(None)}})
    );
    let saved = backups(dir.path());
    assert_eq!(saved.len(), 1);
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), "");
}

#[test]
fn desktop_profiles_sit_beside_other_servers_and_uninstall_removes_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claude_desktop_config.json");
    let original = r#"{
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "zeta": {"command": "/bin/zeta", "env": {"TOKEN": "x"}}
    },
    "theme": "dark"
}"#;
    std::fs::write(&file, original).unwrap();
    let crm = dir.path().join("profiles/crm");
    let dw = dir.path().join("profiles/dw");

    let first = desktop("install", &file, Some(&crm), &["--name", "crm"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let again = desktop("install", &file, Some(&crm), &["--name", "crm"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("already registered"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(
        backups(dir.path()).len(),
        1,
        "an identical entry writes nothing"
    );
    let second = desktop("install", &file, Some(&dw), &["--name", "dw"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));

    let doc = read_json(&file);
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["globalShortcut", "mcpServers", "theme"]);
    let servers = doc["mcpServers"].as_object().unwrap();
    let names: Vec<&String> = servers.keys().collect();
    assert_eq!(names, ["filesystem", "zeta", "crm", "dw"]);
    assert_eq!(servers["crm"], serve_entry(Some(&crm)));
    assert_eq!(servers["dw"], serve_entry(Some(&dw)));
    let before: Value = serde_json::from_str(original).unwrap();
    assert_eq!(servers["zeta"], before["mcpServers"]["zeta"]);

    // The dw profile's entry is not the crm one: uninstalling under the
    // wrong name is refused, under the right one removes only it.
    let wrong = desktop("uninstall", &file, Some(&crm), &["--name", "dw"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stderr));
    assert!(text(&wrong.stderr).contains("--force"));
    for (profile, name) in [(&crm, "crm"), (&dw, "dw")] {
        let out = desktop("uninstall", &file, Some(profile), &["--name", name]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(
        read_json(&file),
        before,
        "back to the original, semantically"
    );
    let gone = desktop("uninstall", &file, Some(&crm), &["--name", "crm"]);
    assert_eq!(gone.status.code(), Some(0));
    assert!(text(&gone.stdout).contains("not registered"));
    // The very first backup holds the user's original bytes.
    let saved = backups(dir.path());
    assert_eq!(saved.len(), 4, "{saved:?}");
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), original);
}

#[test]
fn desktop_malformed_file_is_refused_with_line_and_column_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claude_desktop_config.json");
    let broken = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"},\n  }\n}\n";
    for (contents, expect) in [
        (broken, "line 4, column 3"),
        ("[1, 2]", "the top level is an array"),
        ("{\"mcpServers\": []}", "`mcpServers` is an array"),
    ] {
        std::fs::write(&file, contents).unwrap();
        for action in ["install", "uninstall"] {
            let out = desktop(action, &file, None, &[]);
            assert_eq!(out.status.code(), Some(2), "{action} {contents}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&file.to_string_lossy().into_owned()),
                "{stderr}"
            );
            assert!(stderr.contains(expect), "{stderr}");
            assert!(stderr.contains("hint: "), "{stderr}");
            assert_eq!(std::fs::read_to_string(&file).unwrap(), contents);
        }
    }
    assert!(
        backups(dir.path()).is_empty(),
        "nothing written, not even a backup"
    );
}

#[test]
fn desktop_differing_entry_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claude_desktop_config.json");
    let mine = "{\"mcpServers\": {\"sqlwarden\": {\"command\": \"/old/sqlwarden\", \"args\": []}}}";
    std::fs::write(&file, mine).unwrap();
    let refused = desktop("install", &file, None, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("/old/sqlwarden"));
    assert!(text(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), mine);

    let printed = desktop("install", &file, None, &["--force", "--print"]);
    assert_eq!(printed.status.code(), Some(0));
    let shown: Value = serde_json::from_str(&text(&printed.stdout)).unwrap();
    assert_eq!(shown["mcpServers"]["sqlwarden"], serve_entry(None));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        mine,
        "--print writes nothing"
    );

    let forced = desktop("install", &file, None, &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_eq!(
        read_json(&file)["mcpServers"]["sqlwarden"],
        serve_entry(None)
    );
    let saved = backups(dir.path());
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), mine);
}

/// Environment for the real `claude` under a temp HOME, with nothing sent
/// anywhere.
fn claude_env(command: &mut Command, home: &Path) {
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .current_dir(home);
}

fn code(action: &str, home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(exe());
    command.args([action, "claude-code"]).args(args);
    claude_env(&mut command, home);
    command.output().unwrap()
}

#[test]
fn claude_code_line_is_printed_when_claude_is_not_on_path() {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(exe());
    command
        .args([
            "--config-dir",
            "/srv/profiles/crm",
            "install",
            "claude-code",
        ])
        .args(["--scope", "project", "--name", "crm"]);
    claude_env(&mut command, home.path());
    let out = command.env("PATH", home.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not on PATH"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "claude mcp add --scope project crm -- {} --config-dir /srv/profiles/crm serve",
            exe().display()
        )
    );
}

#[test]
fn claude_code_registers_through_the_real_cli() {
    let claude = sqlwarden::cli::install::code::find_claude().expect(
        "Claude Code's CLI is not on PATH: `npm install -g @anthropic-ai/claude-code` (.ci/run does)",
    );
    let home = tempfile::tempdir().unwrap();
    let first = code("install", home.path(), &["--scope", "user"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let state = read_json(&home.path().join(".claude.json"));
    let entry = &state["mcpServers"]["sqlwarden"];
    assert_eq!(entry["command"], json!(exe().to_string_lossy()));
    assert_eq!(entry["args"], json!(["serve"]));

    let again = code("install", home.path(), &["--scope", "user"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("already registered"),
        "{}{}",
        text(&again.stdout),
        text(&again.stderr)
    );

    // Someone else's server under the same name is not replaced without
    // --force.
    let mut other = Command::new(&claude);
    other.args(["mcp", "add", "--scope", "user", "other", "--", "/bin/true"]);
    claude_env(&mut other, home.path());
    assert!(other.output().unwrap().status.success());
    let clash = code(
        "install",
        home.path(),
        &["--scope", "user", "--name", "other"],
    );
    assert_eq!(clash.status.code(), Some(1), "{}", text(&clash.stderr));
    assert!(text(&clash.stderr).contains("--force"));
    let forced = code(
        "install",
        home.path(),
        &["--scope", "user", "--name", "other", "--force"],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let state = read_json(&home.path().join(".claude.json"));
    assert_eq!(state["mcpServers"]["other"]["args"], json!(["serve"]));

    for name in ["sqlwarden", "other"] {
        let out = code(
            "uninstall",
            home.path(),
            &["--scope", "user", "--name", name],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let state = read_json(&home.path().join(".claude.json"));
    assert!(state["mcpServers"].get("sqlwarden").is_none());
    let twice = code("uninstall", home.path(), &["--scope", "user"]);
    assert_eq!(twice.status.code(), Some(0), "{}", text(&twice.stderr));
    assert!(text(&twice.stdout).contains("not registered"));
}

/// The debug build's target directory (the binary sits in `<target>/debug`).
fn target_dir() -> PathBuf {
    exe().parent().unwrap().parent().unwrap().to_path_buf()
}

/// rustup and cargo keep their state under the real HOME; a temp HOME must
/// still find them.
fn toolchain_home(var: &str, dir: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(dir)))
        .unwrap()
}

fn install_sh(home: &Path, root: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install/install.sh");
    Command::new("sh")
        .arg(script)
        .args(["--debug", "--register", "claude-desktop", "--root"])
        .arg(root)
        .env("RUSTUP_HOME", toolchain_home("RUSTUP_HOME", ".rustup"))
        .env("CARGO_HOME", toolchain_home("CARGO_HOME", ".cargo"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("SQLWARDEN_CONFIG_DIR")
        .env_remove("SQLWARDEN_CLAUDE_DESKTOP_CONFIG")
        .current_dir(home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn install_sh_twice_installs_once_inits_once_and_registers_once() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("root");
    let first = install_sh(home.path(), &root);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    let bin = root.join("bin/sqlwarden");
    assert!(bin.is_file());
    let config = home.path().join(".config/sqlwarden");
    let policy = config.join("policy.yaml");
    assert!(policy.is_file(), "init wrote the example config");
    assert!(config.join("schema/policy.schema.json").is_file());
    std::fs::write(&policy, "# edited by the user\n").unwrap();

    let second = install_sh(home.path(), &root);
    let stdout = text(&second.stdout);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{stdout}{}",
        text(&second.stderr)
    );
    assert!(stdout.contains("a config already exists"), "{stdout}");
    assert!(stdout.contains("already registered"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&policy).unwrap(),
        "# edited by the user\n"
    );
    let desktop_file = home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    let raw = std::fs::read_to_string(&desktop_file).unwrap();
    assert_eq!(raw.matches("\"sqlwarden\"").count(), 1, "{raw}");
    let doc: Value = serde_json::from_str(&raw).unwrap();
    let installed = std::fs::canonicalize(&bin).unwrap();
    assert_eq!(
        doc["mcpServers"]["sqlwarden"],
        json!({"command": installed.to_string_lossy(), "args": ["serve"]})
    );
}
