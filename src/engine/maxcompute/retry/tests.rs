use super::*;

fn answered(status: u16, code: &str, retry_after: Option<u64>) -> Outcome<'_> {
    Outcome::Answered {
        status,
        code,
        retry_after,
    }
}

#[test]
fn five_hundreds_retry_only_when_idempotent() {
    assert!(matches!(
        decide("GET", 1, &answered(503, "ServiceUnavailable", None), 0.0),
        Verdict::RetryAfter(_)
    ));
    assert!(matches!(
        decide("PUT", 1, &answered(500, "InternalServerError", None), 0.0),
        Verdict::RetryAfter(_)
    ));
    assert_eq!(
        decide("POST", 1, &answered(500, "InternalServerError", None), 0.0),
        Verdict::GiveUp
    );
}

#[test]
fn throttling_retries_for_every_method() {
    assert!(matches!(
        decide("POST", 1, &answered(400, "QPSExceeded", None), 0.5),
        Verdict::RetryAfter(_)
    ));
    assert!(matches!(
        decide("GET", 2, &answered(429, "SlotExceeded", None), 0.5),
        Verdict::RetryAfter(_)
    ));
}

#[test]
fn retry_after_is_honoured_and_capped() {
    assert_eq!(
        decide("POST", 1, &answered(409, "", Some(3)), 0.9),
        Verdict::RetryAfter(Duration::from_secs(3))
    );
    assert_eq!(
        decide("POST", 1, &answered(409, "", Some(600)), 0.9),
        Verdict::GiveUp
    );
    // A plain 409 without Retry-After is a real conflict.
    assert_eq!(
        decide("POST", 1, &answered(409, "Conflict", None), 0.9),
        Verdict::GiveUp
    );
}

#[test]
fn client_errors_never_retry() {
    assert_eq!(
        decide("GET", 1, &answered(404, "NoSuchObject", None), 0.0),
        Verdict::GiveUp
    );
    assert_eq!(
        decide("GET", 1, &answered(403, "SignatureNotMatch", None), 0.0),
        Verdict::GiveUp
    );
}

#[test]
fn transport_failures() {
    assert!(matches!(
        decide("POST", 1, &Outcome::NotSent, 0.0),
        Verdict::RetryAfter(_)
    ));
    assert_eq!(decide("POST", 1, &Outcome::Broken, 0.0), Verdict::GiveUp);
    assert!(matches!(
        decide("GET", 1, &Outcome::Broken, 0.0),
        Verdict::RetryAfter(_)
    ));
}

#[test]
fn attempts_are_bounded_and_backoff_grows_to_a_cap() {
    assert_eq!(
        decide("GET", MAX_ATTEMPTS, &Outcome::NotSent, 0.0),
        Verdict::GiveUp
    );
    assert_eq!(backoff(1, 0.0), Duration::from_millis(100));
    assert_eq!(backoff(1, 1.0), Duration::from_millis(200));
    assert_eq!(backoff(2, 0.0), Duration::from_millis(200));
    assert_eq!(backoff(30, 1.0), MAX_DELAY);
    let j = jitter();
    assert!((0.0..1.0).contains(&j));
}
