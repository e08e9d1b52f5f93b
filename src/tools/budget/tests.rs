use std::time::Duration;

use super::*;

fn limits(query: Option<u64>, session: Option<u64>) -> EffectiveLimits {
    EffectiveLimits {
        default_limit: 10,
        max_limit: 10,
        query_timeout: Duration::from_secs(1),
        max_cell_bytes: 10,
        max_result_bytes: 10,
        max_scan_bytes: query,
        max_session_scan_bytes: session,
        max_session_rows: None,
    }
}

#[test]
fn the_row_budget_clamps_then_refuses() {
    let ledger = RowLedger::default();
    let first = ledger.reserve("crm", Some(25), 10).unwrap();
    assert_eq!(first.granted(), 10);
    first.settle(10);
    // A query that returns fewer rows than it may costs only those.
    let short = ledger.reserve("crm", Some(25), 10).unwrap();
    short.settle(4);
    assert_eq!(ledger.used("crm"), 14);
    let clamped = ledger.reserve("crm", Some(25), 100).unwrap();
    assert_eq!(clamped.granted(), 11);
    clamped.settle(11);
    let e = ledger.reserve("crm", Some(25), 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::CostBudgetExceeded);
    assert!(e.message.contains("25 row(s) from `crm`"), "{}", e.message);
    assert!(e.hint.contains("GROUP BY"), "{}", e.hint);
    // Each source has its own budget; no budget counts nothing.
    assert_eq!(ledger.reserve("dw", Some(5), 9).unwrap().granted(), 5);
    let free = ledger.reserve("crm", None, 1000).unwrap();
    assert_eq!(free.granted(), 1000);
    free.settle(1000);
    assert_eq!(ledger.used("crm"), 25);
}

#[test]
fn a_failed_or_concurrent_query_cannot_overdraw_the_row_budget() {
    let ledger = RowLedger::default();
    let a = ledger.reserve("crm", Some(150), 100).unwrap();
    let b = ledger.reserve("crm", Some(150), 100).unwrap();
    assert_eq!((a.granted(), b.granted()), (100, 50));
    assert!(ledger.reserve("crm", Some(150), 1).is_err());
    // A query that failed (its reservation dropped) gives all of it back.
    drop(a);
    assert_eq!(ledger.used("crm"), 50);
    b.settle(50);
    assert_eq!(ledger.used("crm"), 50);
}

#[test]
fn bytes_read_in_human_units() {
    assert_eq!(human_bytes(0), "0 B");
    assert_eq!(human_bytes(1023), "1023 B");
    assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
    assert_eq!(
        human_bytes(10 * 1024 * 1024 * 1024),
        "10.0 GiB (10737418240 bytes)"
    );
    assert!(human_bytes(u64::MAX).contains("EiB"));
}

#[test]
fn the_per_query_budget_refuses_without_spending() {
    let ledger = ScanLedger::default();
    let l = limits(Some(1000), Some(5000));
    let e = ledger.reserve("dw", &l, 1001).unwrap_err();
    assert_eq!(e.code, ErrorCode::CostBudgetExceeded);
    assert!(
        e.message.contains("1001 B") && e.message.contains("1000 B"),
        "{}",
        e.message
    );
    assert!(e.hint.contains("partition"), "{}", e.hint);
    assert_eq!(ledger.budget("dw", &l).spent, 0);
    ledger.reserve("dw", &l, 1000).unwrap();
    assert_eq!(ledger.budget("dw", &l).remaining(), Some(4000));
}

#[test]
fn the_session_budget_accumulates_per_source() {
    let ledger = ScanLedger::default();
    let l = limits(None, Some(2500));
    ledger.reserve("dw", &l, 1000).unwrap();
    ledger.reserve("dw", &l, 1500).unwrap();
    let e = ledger.reserve("dw", &l, 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::CostBudgetExceeded);
    assert!(e.message.contains("0 B of its 2.4 KiB"), "{}", e.message);
    // Another source has its own total; a free query still passes.
    ledger.reserve("other", &l, 2500).unwrap();
    ledger.reserve("dw", &l, 0).unwrap();
    assert_eq!(ledger.budget("dw", &l).spent, 2500);
    assert_eq!(ledger.budget("dw", &limits(None, None)).remaining(), None);
}
