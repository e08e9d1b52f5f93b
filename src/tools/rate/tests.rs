use super::*;

fn limiter(yaml: &str) -> RateLimiter {
    RateLimiter::new(&serde_saphyr::from_str::<RateLimits>(yaml).unwrap())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// How many of `n` calls at `now` are admitted.
fn admitted(l: &RateLimiter, tool: &str, n: usize, now: Duration) -> usize {
    (0..n).filter(|_| l.admit(tool, now).is_ok()).count()
}

#[test]
fn no_limits_admit_everything() {
    let l = limiter("{}");
    assert_eq!(admitted(&l, "run_select_sql", 10_000, secs(0.0)), 10_000);
}

#[test]
fn a_burst_of_n_passes_then_calls_are_refused_with_a_retry_time() {
    let l = limiter("tools: {run_select_sql: {per_minute: 3}}");
    assert_eq!(admitted(&l, "run_select_sql", 3, secs(0.0)), 3);
    let e = l.admit("run_select_sql", secs(0.0)).unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimitExceeded);
    assert!(
        e.message.contains("at most 3 time(s) per minute"),
        "{}",
        e.message
    );
    // One token of debt after the refusal: two tokens to earn, 20 s each.
    assert!(
        e.hint.contains("Retry `run_select_sql` in 40 second(s)"),
        "{}",
        e.hint
    );
    // Another tool is not limited.
    assert!(l.admit("list_sources", secs(0.0)).is_ok());
}

#[test]
fn a_caller_that_waits_as_told_is_served() {
    let l = limiter("tools: {run_select_sql: {per_second: 2}}");
    assert_eq!(admitted(&l, "run_select_sql", 2, secs(0.0)), 2);
    let e = l.admit("run_select_sql", secs(0.0)).unwrap_err();
    assert!(e.hint.contains("in 1 second(s)"), "{}", e.hint);
    // Told 1 s; at 0.74 s the bucket has earned back too little.
    assert!(l.admit("run_select_sql", secs(0.74)).is_err());
    assert!(l.admit("run_select_sql", secs(0.74 + 1.0)).is_ok());
}

#[test]
fn hammering_stays_refused_but_never_locks_out_for_more_than_a_window() {
    let l = limiter("tools: {run_select_sql: {per_minute: 10}}");
    assert_eq!(admitted(&l, "run_select_sql", 10, secs(0.0)), 10);
    // A tight loop for a minute gets nothing through, not even when
    // tokens trickle in: each refusal spends the token just earned.
    let mut through = 0;
    for i in 0..6000 {
        if l.admit("run_select_sql", secs(f64::from(i) * 0.01)).is_ok() {
            through += 1;
        }
    }
    assert_eq!(through, 0);
    // The debt is capped at one window: one window and one token's time
    // after the last refusal, calls pass again.
    assert!(l.admit("run_select_sql", secs(60.0 + 65.9)).is_err());
    assert!(l.admit("run_select_sql", secs(60.0 + 65.9 + 67.0)).is_ok());
}

#[test]
fn the_session_limit_covers_every_tool_and_tool_refusals_do_not_spend_it() {
    let l = limiter("per_session: {per_minute: 5}\ntools: {run_select_sql: {per_minute: 2}}");
    assert_eq!(admitted(&l, "run_select_sql", 50, secs(0.0)), 2);
    // 48 refusals of run_select_sql cost the session nothing.
    assert_eq!(admitted(&l, "list_sources", 3, secs(0.0)), 3);
    let e = l.admit("describe_table", secs(0.0)).unwrap_err();
    assert!(
        e.message.contains("This session may make at most 5"),
        "{}",
        e.message
    );
    assert!(e.hint.starts_with("Retry in "), "{}", e.hint);
    // A call refused by the session limit takes no token of its tool.
    let l = limiter("per_session: {per_second: 1}\ntools: {preview_table: {per_minute: 2}}");
    assert!(l.admit("preview_table", secs(0.0)).is_ok());
    assert!(l.admit("preview_table", secs(0.0)).is_err());
    assert!(l.admit("preview_table", secs(3.0)).is_ok());
}

#[test]
fn every_window_holds_on_its_own() {
    let l = limiter("tools: {query_table: {per_second: 5, per_minute: 7}}");
    assert_eq!(admitted(&l, "query_table", 5, secs(0.0)), 5);
    assert!(l
        .admit("query_table", secs(0.0))
        .unwrap_err()
        .message
        .contains("per second"));
    assert_eq!(admitted(&l, "query_table", 10, secs(2.0)), 2);
    let e = l.admit("query_table", secs(3.0)).unwrap_err();
    assert!(e.message.contains("per minute"), "{}", e.message);
}
