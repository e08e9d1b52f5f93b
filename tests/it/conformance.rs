//! The MCP conformance suite (npm `@modelcontextprotocol/conformance`) on
//! sqlwarden over the demo config. The suite's server scenarios speak
//! streamable HTTP, so sqlwarden's stdio is bridged by `mcp-proxy` (PyPI),
//! a published stdio-to-HTTP bridge; `tests/clients/setup.sh` installs
//! both, and the Node 22 the suite needs, under `target/clients/`.
//!
//! Every server scenario the installed suite lists runs. Those that test
//! what a read-only SQL server does ([`APPLICABLE`]) must pass. The rest
//! ([`NOT_APPLICABLE`]) call fixtures of the suite's reference server
//! (`test_simple_text`, `test://static-text`, `test_simple_prompt`, …),
//! need client features sqlwarden never asks for (sampling, elicitation),
//! or test the bridge's HTTP transport rather than sqlwarden; each carries
//! why, and the outcome it has against sqlwarden, which is checked too, so
//! a new suite version or a change in sqlwarden that alters one is seen.
//! A scenario in neither list fails the test until it is classified.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::{clients, demo};

/// Scenarios that apply to sqlwarden, and must pass.
const APPLICABLE: &[(&str, &str)] = &[
    ("server-initialize", "the initialize handshake"),
    ("ping", "ping answers {}"),
    ("logging-set-level", "logging/setLevel answers {}"),
    (
        "tools-list",
        "every tool has a name, a description and an inputSchema",
    ),
    (
        "tools-call-error",
        "a failed call is an isError result with text, not a protocol error; the scenario calls the reference tool `test_error_handling`, which sqlwarden refuses (INVALID_ARGUMENT) the way it reports every failure",
    ),
    (
        "resources-list",
        "every resource has a uri and a name",
    ),
    (
        "prompts-list",
        "every prompt has a name and a description",
    ),
];

/// What a scenario that does not apply does against sqlwarden.
#[derive(Debug)]
enum Outcome {
    /// It fails, with this in a check's error message.
    Fails(&'static str),
    /// It passes, though it tests nothing of sqlwarden (see the reason).
    Passes,
}

/// Scenarios that do not apply: why, and their outcome.
const NOT_APPLICABLE: &[(&str, &str, Outcome)] = &[
    (
        "completion-complete",
        "completes argument `arg1` of the reference prompt `test_prompt_with_arguments`; sqlwarden has no such prompt and answers -32602, as the spec's completion error handling says for an invalid prompt name (sqlwarden's own completions are driven by tests/it/clients.rs)",
        Outcome::Fails("MCP error -32602"),
    ),
    (
        "tools-call-simple-text",
        "calls the reference tool `test_simple_text`; it passes only because sqlwarden's refusal of an unknown tool carries text",
        Outcome::Passes,
    ),
    (
        "tools-call-image",
        "calls the reference tool `test_image_content`; sqlwarden returns no images",
        Outcome::Fails("No image content found"),
    ),
    (
        "tools-call-audio",
        "calls the reference tool `test_audio_content`; sqlwarden returns no audio",
        Outcome::Fails("No audio content found"),
    ),
    (
        "tools-call-embedded-resource",
        "calls the reference tool `test_embedded_resource`; sqlwarden's results embed no resources",
        Outcome::Fails("No resource content found"),
    ),
    (
        "tools-call-mixed-content",
        "calls the reference tool `test_multiple_content_types` (text, image and resource)",
        Outcome::Fails("Expected multiple content items"),
    ),
    (
        "tools-call-with-logging",
        "calls the reference tool `test_tool_with_logging`, which logs three messages while it runs",
        Outcome::Fails("No log notifications received"),
    ),
    (
        "tools-call-with-progress",
        "calls the reference tool `test_tool_with_progress`; sqlwarden reports progress on slow queries only (tests/it/clients.rs)",
        Outcome::Fails("No progress notifications received"),
    ),
    (
        "tools-call-sampling",
        "calls the reference tool `test_sampling`; sqlwarden never asks the client's model for anything",
        Outcome::Fails("did not request sampling"),
    ),
    (
        "tools-call-elicitation",
        "calls the reference tool `test_elicitation`; sqlwarden never asks the user for input",
        Outcome::Fails("did not request elicitation"),
    ),
    (
        "elicitation-sep1034-defaults",
        "calls the reference tool `test_elicitation_sep1034_defaults`; sqlwarden never asks the user for input",
        Outcome::Fails("did not request elicitation"),
    ),
    (
        "elicitation-sep1330-enums",
        "calls the reference tool `test_elicitation_sep1330_enums`; sqlwarden never asks the user for input",
        Outcome::Fails("did not request elicitation"),
    ),
    (
        "json-schema-2020-12",
        "looks for the reference tool `json_schema_2020_12_tool`",
        Outcome::Fails("Tool 'json_schema_2020_12_tool' not found"),
    ),
    (
        "server-sse-polling",
        "the HTTP transport's SSE stream handling (SEP-1699) through the reference tool `test_reconnection`: that transport is the bridge's, sqlwarden speaks stdio",
        Outcome::Passes,
    ),
    (
        "server-sse-multiple-streams",
        "concurrent HTTP POST streams: the bridge's transport, sqlwarden speaks stdio",
        Outcome::Passes,
    ),
    (
        "dns-rebinding-protection",
        "Host/Origin checks of a localhost HTTP server: the bridge's (mcp-proxy 0.13.0 does not check them, so never expose sqlwarden through it); sqlwarden speaks stdio and has no Host header",
        Outcome::Fails("Expected HTTP 4xx for invalid Host/Origin headers"),
    ),
    (
        "resources-read-text",
        "reads the reference resource `test://static-text`, which sqlwarden does not list (and so refuses, -32002)",
        Outcome::Fails("No resource `test://static-text`"),
    ),
    (
        "resources-read-binary",
        "reads the reference resource `test://static-binary`",
        Outcome::Fails("No resource `test://static-binary`"),
    ),
    (
        "resources-templates-read",
        "reads `test://template/123/data` from the reference template",
        Outcome::Fails("No resource `test://template/123/data`"),
    ),
    (
        "resources-subscribe",
        "subscriptions: sqlwarden does not declare `subscribe`, since its resources come from the policy loaded at start and never change while it runs; the method is not found (-32601)",
        Outcome::Fails("MCP error -32601"),
    ),
    (
        "resources-unsubscribe",
        "subscriptions (see resources-subscribe)",
        Outcome::Fails("MCP error -32601"),
    ),
    (
        "prompts-get-simple",
        "gets the reference prompt `test_simple_prompt`",
        Outcome::Fails("No prompt `test_simple_prompt`"),
    ),
    (
        "prompts-get-with-args",
        "gets the reference prompt `test_prompt_with_arguments`",
        Outcome::Fails("No prompt `test_prompt_with_arguments`"),
    ),
    (
        "prompts-get-embedded-resource",
        "gets the reference prompt `test_prompt_with_embedded_resource`",
        Outcome::Fails("No prompt `test_prompt_with_embedded_resource`"),
    ),
    (
        "prompts-get-with-image",
        "gets the reference prompt `test_prompt_with_image`",
        Outcome::Fails("No prompt `test_prompt_with_image`"),
    ),
];

/// The bridge: `mcp-proxy` serving one `sqlwarden serve` as streamable
/// HTTP on a port of its choosing; stopped on drop.
struct Bridge {
    child: Child,
    url: String,
    /// Everything the bridge logged, for failure messages.
    log: mpsc::Receiver<String>,
}

impl Bridge {
    fn start(config_dir: &Path, audit_dir: &Path) -> Bridge {
        let mut child = Command::new(clients::installed("bridge/bin/mcp-proxy"))
            .args(["--host", "127.0.0.1"])
            // Only what sqlwarden needs, not the test's environment.
            .arg("-e")
            .arg("SQLWARDEN_CONFIG_DIR")
            .arg(config_dir)
            .arg("-e")
            .arg("SQLWARDEN_AUDIT_DIR")
            .arg(audit_dir)
            .arg(env!("CARGO_BIN_EXE_sqlwarden"))
            .args(["--", "serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (port_tx, port_rx) = mpsc::channel();
        let (log_tx, log) = mpsc::channel();
        // Drains the bridge's stderr for as long as it runs, so it never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Uvicorn running on http://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_tx.send(port);
                }
                let _ = log_tx.send(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "mcp-proxy did not start serving:\n{}",
                    log.try_iter().collect::<Vec<_>>().join("\n")
                )
            });
        Bridge {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // The bridge's own child, sqlwarden, ends on stdin EOF.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `conformance ARGS` under the Node 22 that setup.sh installed.
fn conformance(args: &[&str]) -> Command {
    let mut command = Command::new(clients::installed("conformance/node_modules/.bin/node"));
    command
        .arg(clients::installed(
            "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
        ))
        .args(args);
    command
}

/// The server scenarios the installed suite lists.
fn listed_scenarios() -> Vec<String> {
    let output = conformance(&["list", "--server"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|entry| entry.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Each scenario's checks from the results directory, by scenario name
/// (the directories are `server-<scenario>-<YYYY-MM-DDTHH-MM-SS-mmmZ>`).
fn results(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rest = name.strip_prefix("server-").unwrap();
        let (scenario, stamp) = rest.split_at(rest.len() - "-2026-01-01T00-00-00-000Z".len());
        assert!(
            stamp.starts_with('-') && stamp.ends_with('Z'),
            "unexpected results directory {name}"
        );
        let checks: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path.join("checks.json")).unwrap())
                .unwrap();
        found.insert(scenario.to_owned(), checks);
    }
    found
}

fn failures(checks: &[Value]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c["status"] == "FAILURE")
        .map(|c| {
            format!(
                "{}: {}",
                c["id"].as_str().unwrap_or("?"),
                c["errorMessage"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn the_conformance_suite_passes_every_scenario_that_applies() {
    let db = demo::warehouse("conformance").await;
    let config = demo::config_dir(&db, |_, contents| contents);
    let audit = config.path().join("audit");
    let bridge = Bridge::start(config.path(), &audit);
    let out = tempfile::tempdir().unwrap();
    // The suite exits non-zero when any scenario fails, and most do not
    // apply: the verdict is read from the results below.
    let run = conformance(&["server", "--url", &bridge.url, "--suite", "all", "-o"])
        .arg(out.path())
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let results = results(out.path());

    let listed = listed_scenarios();
    let mut problems = Vec::new();
    for scenario in &listed {
        let known = APPLICABLE.iter().any(|(name, _)| name == scenario)
            || NOT_APPLICABLE.iter().any(|(name, _, _)| name == scenario);
        if !known {
            problems.push(format!(
                "{scenario}: new in the suite; add it to APPLICABLE or NOT_APPLICABLE with why"
            ));
        }
        if !results.contains_key(scenario) {
            problems.push(format!("{scenario}: listed but not run"));
        }
    }
    for (scenario, _) in APPLICABLE {
        let failed = failures(results.get(*scenario).map_or(&[][..], Vec::as_slice));
        match results.get(*scenario) {
            None => problems.push(format!("{scenario}: applies but did not run")),
            Some(_) if !failed.is_empty() => {
                problems.push(format!("{scenario}: FAILED {}", failed.join("; ")));
            }
            Some(_) => eprintln!("conformance: pass     {scenario}"),
        }
    }
    for (scenario, why, outcome) in NOT_APPLICABLE {
        let Some(checks) = results.get(*scenario) else {
            // An older suite may not have it; nothing to compare.
            continue;
        };
        let failed = failures(checks);
        let as_recorded = match outcome {
            Outcome::Passes => failed.is_empty(),
            Outcome::Fails(text) => failed.iter().any(|f| f.contains(text)),
        };
        if !as_recorded {
            problems.push(format!(
                "{scenario}: expected {outcome:?} (skipped: {why}), got {failed:?}; reclassify it"
            ));
        }
        eprintln!("conformance: skipped  {scenario} ({why})");
    }
    assert!(
        problems.is_empty(),
        "{}\n\nsuite output:\n{printed}\nbridge log:\n{}",
        problems.join("\n"),
        bridge.log()
    );
    // The calls reached sqlwarden itself, and were audited there.
    let audited = std::fs::read_dir(&audit).map(|d| d.count()).unwrap_or(0);
    assert!(
        audited > 0,
        "no audit file: the bridge never reached sqlwarden"
    );
}
