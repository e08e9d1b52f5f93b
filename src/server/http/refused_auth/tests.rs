use super::*;

use crate::audit::AuditError;

/// A sink that keeps what it is given.
#[derive(Default)]
struct Kept(Mutex<Vec<AuditRecord>>);

impl AuditSink for Kept {
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

impl Kept {
    fn take(&self) -> Vec<AuditRecord> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn refusals(per_address: u32) -> (Arc<Kept>, RefusalAudit) {
    let kept = Arc::new(Kept::default());
    let audit = RefusalAudit::new(kept.clone(), "policy-hash".into(), per_address);
    (kept, audit)
}

fn from(ip: &str, failure: &str) -> Refused {
    Refused {
        failure: failure.into(),
        message: format!("bearer token refused ({failure})"),
        token_id: None,
        peer: SocketAddr::new(ip.parse().unwrap(), 40_000),
    }
}

/// Every refusal a set of records stands for.
fn stood_for(records: &[AuditRecord]) -> u64 {
    records.iter().map(|r| 1 + r.suppressed.unwrap()).sum()
}

#[test]
fn one_address_gets_its_limit_and_the_rest_is_counted_into_a_later_record() {
    let (kept, audit) = refusals(5);
    let t0 = Instant::now();
    for _ in 0..12 {
        audit.refused_at(from("203.0.113.9", "unknown_token"), t0);
    }
    audit.refused_at(from("203.0.113.9", "expired"), t0);
    let first = kept.take();
    assert_eq!(first.len(), 5);
    for record in &first {
        assert_eq!(record.tool_name, TOOL_NAME);
        assert_eq!(record.outcome, Outcome::Denied);
        assert_eq!(record.auth_failure.as_deref(), Some("unknown_token"));
        assert_eq!(record.remote_addr.as_deref(), Some("203.0.113.9:40000"));
        assert_eq!(record.suppressed, Some(0));
        assert_eq!(record.policy_sha256, "policy-hash");
    }
    // Within the minute the sweep writes nothing; after it, one record
    // for the 8 counted (the last of them, standing for 7 more).
    audit.sweep_at(false, t0 + Duration::from_secs(59));
    assert!(kept.take().is_empty());
    audit.sweep_at(false, t0 + WINDOW);
    let swept = kept.take();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].suppressed, Some(7));
    assert_eq!(swept[0].auth_failure.as_deref(), Some("expired"));
    assert_eq!(stood_for(&first) + stood_for(&swept), 13);
    // The sweep's record counts against the address's new minute.
    let later = t0 + WINDOW + Duration::from_secs(1);
    for _ in 0..5 {
        audit.refused_at(from("203.0.113.9", "revoked"), later);
    }
    assert_eq!(kept.take().len(), 4);
    audit.sweep_at(true, later);
    assert_eq!(stood_for(&kept.take()), 1);
}

#[test]
fn a_new_minute_starts_a_new_budget_and_carries_the_count() {
    let (kept, audit) = refusals(2);
    let t0 = Instant::now();
    for _ in 0..5 {
        audit.refused_at(from("198.51.100.1", "bad_signature"), t0);
    }
    audit.refused_at(from("198.51.100.1", "bad_signature"), t0 + WINDOW);
    let records = kept.take();
    assert_eq!(
        records
            .iter()
            .map(|r| r.suppressed.unwrap())
            .collect::<Vec<_>>(),
        [0, 0, 3]
    );
}

#[test]
fn all_addresses_together_get_ten_times_the_limit() {
    let (kept, audit) = refusals(1);
    let t0 = Instant::now();
    for i in 0..15 {
        audit.refused_at(from(&format!("192.0.2.{i}"), "malformed"), t0);
    }
    assert_eq!(kept.take().len(), 10);
    // Shutdown writes every pending count, whatever the limit.
    audit.sweep_at(true, t0);
    let flushed = kept.take();
    assert_eq!(flushed.len(), 5);
    assert_eq!(stood_for(&flushed), 5);
}

#[test]
fn a_full_table_counts_new_addresses_together_and_idle_ones_are_forgotten() {
    let (kept, audit) = refusals(200);
    let t0 = Instant::now();
    for i in 0..MAX_ADDRESSES {
        let ip = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128);
        audit.refused_at(
            Refused {
                peer: SocketAddr::new(ip.into(), 1),
                ..from("::1", "expired")
            },
            t0,
        );
    }
    assert_eq!(kept.take().len(), MAX_ADDRESSES);
    for i in 0..3 {
        audit.refused_at(from(&format!("10.0.0.{i}"), "expired"), t0);
    }
    let unaddressed = kept.take();
    assert_eq!(unaddressed.len(), 3);
    assert!(unaddressed.iter().all(|r| r.remote_addr.is_none()));
    assert_eq!(audit.lock().by_address.len(), MAX_ADDRESSES + 1);
    audit.sweep_at(false, t0 + WINDOW);
    assert!(kept.take().is_empty(), "nothing was pending");
    assert!(audit.lock().by_address.is_empty());
    audit.refused_at(from("10.0.0.1", "expired"), t0 + WINDOW);
    assert_eq!(
        kept.take()[0].remote_addr.as_deref(),
        Some("10.0.0.1:40000")
    );
}

#[test]
fn zero_records_nothing() {
    let (kept, audit) = refusals(0);
    audit.refused(from("192.0.2.1", "expired"));
    audit.sweep(true);
    assert!(kept.take().is_empty());
}
