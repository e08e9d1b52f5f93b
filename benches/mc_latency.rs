//! Requests and end-to-end latency of a small MaxCompute query, through
//! a real `sqlwarden serve` process over stdio, against the emulator with
//! a job-time model (queue + run time per job).
//!
//! The binary under test is `SQLWARDEN_BIN`, so the same harness measures
//! an older build ("before") and this one ("after"): see
//! `benches/mc_latency.sh`, which builds both and prints the table for the
//! README. Per mode, one warm-up call (tunnel discovery, table facts, the
//! MaxQA connection lookup), then `MC_BENCH_RUNS` timed `run_select_sql`
//! calls; for each: the requests the emulator saw, the wall time, and the
//! wall time minus the job's modelled time (sqlwarden's slack).
//!
//! Environment: `SQLWARDEN_BIN` (default: this tree's binary),
//! `MC_BENCH_LABEL`, `MC_BENCH_MODES` (`offline`, `offline-inline`,
//! `maxqa`, comma-separated, default all; an older build knows only
//! `offline`), `MC_BENCH_RUNS` (5),
//! `MC_OFFLINE_QUEUE_MS` (4000), `MC_OFFLINE_RUN_MS` (1000),
//! `MC_MAXQA_QUEUE_MS` (100), `MC_MAXQA_RUN_MS` (400). Needs the local
//! PostgreSQL (the emulator's store). Measured and printed, never asserted.

// Test support is written once for several test crates; each uses part of it.
#![allow(unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::print_stdout,
    missing_docs
)]

// The support modules' own unit tests are built here too (with no
// `#[test]` harness to use them).
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::{json, Value};
use support::maxcompute::{fixture, EmulatorHandle, JobTime};

const SQL: &str = "SELECT customer_id, region_code FROM demo.customers WHERE customer_id = 1";

fn env_ms(name: &str, default: u64) -> Duration {
    let ms = std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_millis(ms)
}

/// The connection block of `mode`.
fn connection_extra(mode: &str) -> &'static str {
    match mode {
        "offline" => "",
        "offline-inline" => "    result_read: inline\n",
        "maxqa" => "    acceleration: {mode: maxqa, interactive_quota: maxqa_q, fallback: true}\n",
        other => panic!("unknown mode {other}"),
    }
}

fn write_config(dir: &Path, emu: &EmulatorHandle, mode: &str) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  dw:\n    engine: maxcompute\n    endpoint: {}\n    project: demo\n{}",
            emu.endpoint(),
            connection_extra(mode)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        "identity: {user_id: bench}\nsources:\n  dw:\n    tables:\n      demo.customers: {}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("audit")).unwrap();
}

struct Sample {
    requests: usize,
    wall: Duration,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn measure(bin: &str, mode: &str, runs: usize, offline: JobTime, maxqa: JobTime) {
    let emu = fixture::start(fixture::config().job_times(offline, maxqa)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu, mode);
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("serve")
        .env("SQLWARDEN_CONFIG_DIR", dir.path())
        .env("SQLWARDEN_AUDIT_DIR", dir.path().join("audit"))
        .env("SQLWARDEN_DW_ACCESS_KEY_ID", fixture::AK)
        .env("SQLWARDEN_DW_ACCESS_KEY_SECRET", fixture::SK)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let call = || async {
        let Value::Object(args) = json!({"sql": SQL}) else {
            unreachable!()
        };
        let result: CallToolResult = client
            .call_tool(CallToolRequestParams::new("run_select_sql").with_arguments(args))
            .await
            .unwrap();
        let envelope = result.structured_content.unwrap();
        assert_eq!(envelope["ok"], true, "{envelope:#}");
        envelope
    };
    let job = if mode == "maxqa" { maxqa } else { offline };
    let before = emu.requests().len();
    let started = Instant::now();
    let warm = call().await;
    let warm_wall = started.elapsed();
    let warm_requests = emu.requests().len() - before;
    let mut samples = Vec::with_capacity(runs);
    let mut last = warm;
    for _ in 0..runs {
        let before = emu.requests().len();
        let started = Instant::now();
        last = call().await;
        samples.push(Sample {
            wall: started.elapsed(),
            requests: emu.requests().len() - before,
        });
    }
    let ran = last["data"]["engine"]["execution_mode"]
        .as_str()
        .unwrap_or("offline (not reported)");
    let mut requests: Vec<usize> = samples.iter().map(|s| s.requests).collect();
    requests.sort_unstable();
    let walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let slack: Vec<Duration> = walls
        .iter()
        .map(|w| w.saturating_sub(job.total()))
        .collect();
    let label = std::env::var("MC_BENCH_LABEL").unwrap_or_else(|_| bin.to_string());
    println!(
        "| {label} | {mode} | {ran} | {:.0} ms | {} | {:.0} ms | {:.0} ms (min {:.0}, max {:.0}) | {:.0} ms | {} ({:.0} ms) |",
        job.total().as_secs_f64() * 1e3,
        requests[requests.len() / 2],
        median(walls.clone()).as_secs_f64() * 1e3,
        median(slack.clone()).as_secs_f64() * 1e3,
        slack.iter().min().unwrap().as_secs_f64() * 1e3,
        slack.iter().max().unwrap().as_secs_f64() * 1e3,
        walls.iter().max().unwrap().as_secs_f64() * 1e3,
        warm_requests,
        warm_wall.as_secs_f64() * 1e3,
    );
    client.cancel().await.unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then one short run of each mode checks that the bench still works.
    let full = std::env::args().any(|a| a == "--bench");
    let bin = std::env::var("SQLWARDEN_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sqlwarden").to_string());
    let (default_runs, scale) = if full { (5, 1) } else { (1, 0) };
    let runs: usize = std::env::var("MC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_runs)
        .max(1);
    let offline = JobTime::new(
        env_ms("MC_OFFLINE_QUEUE_MS", 4000 * scale),
        env_ms("MC_OFFLINE_RUN_MS", 1000 * scale),
    );
    let maxqa = JobTime::new(
        env_ms("MC_MAXQA_QUEUE_MS", 100 * scale),
        env_ms("MC_MAXQA_RUN_MS", 400 * scale),
    );
    let modes =
        std::env::var("MC_BENCH_MODES").unwrap_or_else(|_| "offline,offline-inline,maxqa".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for mode in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        rt.block_on(measure(&bin, mode, runs, offline, maxqa));
    }
}
