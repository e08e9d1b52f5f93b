//! The audit log's cost per tool call: the readiness check made before a
//! call runs, and the append of its record (directory lock, finding the
//! previous hash, one write; the flush to disk happens on the background
//! thread, as `sync: background` configures it).
//!
//! `append/alone`: one process, the chain's last hash known in memory.
//! `append/after_another_writer`: a second handle on the same directory
//! (as another process would) appends between every two records, so the
//! tail of the file is read back each time.

#![allow(clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use sqlwarden::audit::{AuditLog, AuditRecord};

fn record(n: u64) -> AuditRecord {
    let mut record = AuditRecord::new("run_select_sql", &format!("req-{n}"), "session", "policy");
    record.request_params = serde_json::json!({
        "source": "bench",
        "sql": "SELECT * FROM orders WHERE order_id = 42",
    });
    record.rewritten_sql =
        Some("SELECT * FROM public.orders WHERE order_id = 42 LIMIT 1001".to_string());
    record.row_count = Some(1);
    record
}

fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = AuditLog::open(dir.path(), 0).expect("audit log");
    let mut n = 0;
    group.bench_function("ready", |b| b.iter(|| log.ready().expect("ready")));
    group.bench_function("append/alone", |b| {
        b.iter(|| {
            n += 1;
            log.append(&mut record(n)).expect("append");
        });
    });
    let other = AuditLog::open(dir.path(), 0).expect("second handle");
    group.bench_function("append/after_another_writer", |b| {
        b.iter(|| {
            n += 1;
            other.append(&mut record(n)).expect("append");
            n += 1;
            log.append(&mut record(n)).expect("append");
        });
    });
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
