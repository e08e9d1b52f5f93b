//! The whole `run_select_sql` tool call against the MaxCompute emulator,
//! next to what it is made of, so sqlwarden's own overhead can be read off
//! (target: under 2 ms on top of the service's time for a small query).
//!
//! Three measurements of the same one-row query on `demo.customers`:
//! - `tool_call`: `Session::call("run_select_sql")`, everything short of the
//!   JSON-RPC framing: argument parsing, gate (with the session's cached
//!   table facts), engine, envelope, fence and the audit append;
//! - `engine_run`: `MaxComputeEngine::run` of the already-checked query
//!   (create the instance, poll it, open a tunnel download, decode);
//! - `emulator_time`: the sum of the emulator's own handling time of the
//!   HTTP requests `engine_run` made (arrival to response head), so
//!   `engine_run - emulator_time` is the client's cost plus the poll wait.
//!
//! `tool_call - engine_run` is the pipeline's overhead. Needs the local
//! PostgreSQL (the emulator's backing store). Measured, never asserted.

// Test support is written once for several test crates; each uses part of it.
#![allow(unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

// The support modules' own unit tests are built here too (with no
// `#[test]` harness to use them).
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use sqlwarden::audit::AuditLog;
use sqlwarden::config::Connection;
use sqlwarden::engine::maxcompute::MaxComputeEngine;
use sqlwarden::engine::{RunContext, Safeguards, SharedEngine};
use sqlwarden::error::ToolError;
use sqlwarden::guard::{Gate, TableFacts};
use sqlwarden::policy::Policy;
use sqlwarden::secrets::{MaxComputeKeys, Secret};
use sqlwarden::tools::{CallContext, EngineFactory, Session};
use support::maxcompute::{fixture, EmulatorHandle};

const SQL: &str = "SELECT customer_id, region_code FROM demo.customers WHERE customer_id = 1";

/// Engines with the fixture's keys (no keyring, no environment).
struct FixtureKeys;

impl EngineFactory for FixtureKeys {
    fn create(
        &self,
        name: &str,
        connection: &Connection,
        _: Safeguards,
    ) -> Result<SharedEngine, ToolError> {
        let Connection::Maxcompute(mc) = connection else {
            panic!("the bench configures one MaxCompute source");
        };
        let keys = MaxComputeKeys {
            access_key_id: fixture::AK.into(),
            access_key_secret: Secret::new(fixture::SK),
            security_token: None,
        };
        Ok(Arc::new(MaxComputeEngine::new(name, mc, Some(keys))?))
    }
}

fn write_config(dir: &Path, emu: &EmulatorHandle) {
    std::fs::write(
        dir.join("connections.yaml"),
        format!(
            "connections:\n  dw:\n    engine: maxcompute\n    endpoint: {}\n    project: demo\n",
            emu.endpoint()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        "identity: {user_id: bench}\nsources:\n  dw:\n    tables:\n      demo.customers: {}\n",
    )
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(fixture::start(fixture::config()));
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu);
    let config = sqlwarden::config::load(dir.path()).unwrap();
    let connection = config.connections.connections["dw"].clone();
    let policy = Policy::new(config);
    let audit = AuditLog::open(&dir.path().join("audit"), 1).unwrap();
    let session = Session::new(policy.clone(), Arc::new(FixtureKeys), Arc::new(audit));

    let arguments = json!({ "sql": SQL });
    let warm = rt.block_on(session.call(
        "run_select_sql",
        Some(arguments.clone()),
        CallContext::default(),
    ));
    assert!(!warm.is_error, "{}", warm.envelope());
    assert_eq!(warm.envelope()["metadata"]["row_count"], 1);

    let engine = FixtureKeys
        .create("dw", &connection, Safeguards::default())
        .unwrap();
    let rules = policy.source("dw").unwrap();
    let gate = Gate::new(&rules);
    let mut facts = TableFacts::default();
    facts.columns.insert(
        "demo.customers".into(),
        vec!["customer_id".into(), "region_code".into()],
    );
    let checked = gate
        .check(gate.prepare(SQL).unwrap(), &facts, None)
        .unwrap();

    let mut group = c.benchmark_group("mc_tool_call");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("tool_call", |b| {
        b.iter(|| {
            let out = rt.block_on(session.call(
                "run_select_sql",
                Some(arguments.clone()),
                CallContext::default(),
            ));
            assert!(!out.is_error);
        })
    });
    group.bench_function("engine_run", |b| {
        b.iter(|| {
            rt.block_on(engine.run(&checked, RunContext::default()))
                .unwrap()
        })
    });
    group.bench_function("emulator_time", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = emu.requests().len();
                rt.block_on(engine.run(&checked, RunContext::default()))
                    .unwrap();
                total += emu.requests()[before..]
                    .iter()
                    .map(|r| r.handled_in)
                    .sum::<Duration>();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
