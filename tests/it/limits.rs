//! Rate limits, the session row budget and the result cache, through the
//! real call path: a `Session` over the demo warehouse in a fresh database
//! on the local PostgreSQL, with a clock the tests move by hand (so no test
//! sleeps through a window or a TTL), plus one run of the real binary over
//! stdio. Config errors for the new policy keys are checked on real files.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sqlwarden::audit::{AuditError, AuditRecord, Outcome};
use sqlwarden::config::{self, ConfigError};
use sqlwarden::error::ErrorCode;
use sqlwarden::policy::{CacheBounds, Policy};
use sqlwarden::tools::{
    AuditSink, CallContext, Clock, ConfiguredEngines, ResultCache, Session, ToolOutput,
};
use tempfile::TempDir;

use crate::support::demo::{self, warehouse};
use crate::support::pg::TestDb;

/// A clock that moves only when told.
#[derive(Default)]
struct ManualClock(Mutex<Duration>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }
}

/// Keeps audit records in memory.
#[derive(Default)]
struct Recorded(Mutex<Vec<AuditRecord>>);

impl AuditSink for Recorded {
    fn append(&self, record: &mut AuditRecord) -> Result<(), AuditError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

/// The demo config set for `db`, its policy passed through `edit`.
fn config_dir(db: &TestDb, edit: impl Fn(String) -> String) -> TempDir {
    demo::config_dir(db, |relative, contents| {
        if relative == Path::new("policy.yaml") {
            edit(contents)
        } else {
            contents
        }
    })
}

fn load(dir: &Path, managed: Option<&Path>) -> Result<config::Config, Vec<ConfigError>> {
    let none = dir.join("no-managed-policy.yaml");
    config::load_with_managed(dir, managed.unwrap_or(&none))
}

struct Harness {
    session: Session,
    audit: Arc<Recorded>,
    clock: Arc<ManualClock>,
}

impl Harness {
    fn new(dir: &Path, managed: Option<&Path>) -> Harness {
        let config = load(dir, managed).unwrap_or_else(|e| panic!("{e:#?}"));
        let audit = Arc::new(Recorded::default());
        let clock = Arc::new(ManualClock::default());
        let session = Session::new(
            Policy::new(config),
            Arc::new(ConfiguredEngines),
            audit.clone(),
        )
        .with_clock(clock.clone());
        Harness {
            session,
            audit,
            clock,
        }
    }

    fn sharing(mut self, cache: &Arc<ResultCache>) -> Harness {
        self.session = self.session.with_result_cache(cache.clone());
        self
    }

    async fn call(&self, tool: &str, args: Value) -> ToolOutput {
        let output = self
            .session
            .call(tool, Some(args), CallContext::default())
            .await;
        crate::support::output::assert_valid(tool, &output.envelope()).await;
        output
    }

    fn last_record(&self) -> AuditRecord {
        self.audit.0.lock().unwrap().last().unwrap().clone()
    }
}

fn ok(out: &ToolOutput) -> Value {
    assert!(!out.is_error, "{}", out.envelope());
    out.envelope()
}

fn code(out: &ToolOutput) -> String {
    out.envelope()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn rows(out: &ToolOutput) -> Vec<Value> {
    ok(out)["data"]["rows"].as_array().unwrap().clone()
}

fn sql(text: &str) -> Value {
    json!({ "sql": text })
}

const RATE_LIMITS: &str = "
rate_limits:
  per_session: {per_minute: 100}
  tools:
    run_select_sql: {per_minute: 5}
";

#[tokio::test]
async fn an_agent_hammering_run_select_sql_is_refused_and_other_tools_keep_working() {
    let db = warehouse("rate_hammer").await;
    let dir = config_dir(&db, |p| p + RATE_LIMITS);
    let h = Harness::new(dir.path(), None);
    let query = sql("SELECT order_id FROM orders ORDER BY order_id LIMIT 1");
    let mut outcomes = Vec::new();
    for _ in 0..40 {
        let out = h.call("run_select_sql", query.clone()).await;
        outcomes.push(if out.is_error {
            code(&out).to_string()
        } else {
            "ok".to_string()
        });
    }
    assert_eq!(outcomes.iter().filter(|o| *o == "ok").count(), 5);
    assert!(outcomes[5..].iter().all(|o| o == "RATE_LIMIT_EXCEEDED"));

    let refused = h.call("run_select_sql", query.clone()).await;
    let error = &refused.envelope()["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("at most 5 time(s) per minute"),
        "{error}"
    );
    let hint = error["hint"].as_str().unwrap();
    assert!(hint.contains("Retry `run_select_sql` in "), "{hint}");
    assert!(hint.contains("second(s)"), "{hint}");
    // Refused before any work: audited as a denial, with no source, no
    // gate output and no rows.
    let record = h.last_record();
    assert_eq!(record.outcome, Outcome::Denied);
    assert_eq!(record.error_code, Some(ErrorCode::RateLimitExceeded));
    assert_eq!(record.source, None);
    assert_eq!(record.rewritten_sql, None);
    assert_eq!(record.row_count, None);
    // Checked before the arguments and the SQL: garbage gets the same answer.
    let garbage = h.call("run_select_sql", json!({"sql": 42})).await;
    assert_eq!(code(&garbage), "RATE_LIMIT_EXCEEDED");
    let unparsable = h.call("run_select_sql", sql("DROP TABLE orders")).await;
    assert_eq!(code(&unparsable), "RATE_LIMIT_EXCEEDED");

    // The rest of the server keeps serving.
    ok(&h.call("list_allowed_tables", json!({})).await);
    let preview = h
        .call(
            "preview_table",
            json!({"table": "public.regions", "limit": 2}),
        )
        .await;
    assert_eq!(rows(&preview).len(), 2);

    // Refused calls pushed the retry time out by at most one window: two
    // minutes after the last refusal the tool works again.
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(
        code(&h.call("run_select_sql", query.clone()).await),
        "RATE_LIMIT_EXCEEDED"
    );
    h.clock.advance(Duration::from_secs(121));
    let back = h.call("run_select_sql", query.clone()).await;
    assert_eq!(rows(&back).len(), 1);
}

#[tokio::test]
async fn the_session_limit_covers_every_tool() {
    let db = warehouse("rate_session").await;
    let dir = config_dir(&db, |p| {
        p + "rate_limits:\n  per_session: {per_second: 3, per_hour: 1000}\n"
    });
    let h = Harness::new(dir.path(), None);
    ok(&h.call("list_sources", json!({})).await);
    ok(&h.call("list_allowed_tables", json!({})).await);
    ok(&h.call("list_metrics", json!({})).await);
    let refused = h
        .call("describe_table", json!({"table": "public.orders"}))
        .await;
    assert_eq!(code(&refused), "RATE_LIMIT_EXCEEDED");
    assert!(refused.envelope()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("This session may make at most 3 tool call(s) per second"));
    h.clock.advance(Duration::from_secs(2));
    ok(&h
        .call("describe_table", json!({"table": "public.orders"}))
        .await);
}

#[tokio::test]
async fn the_managed_policy_keeps_its_rate_limit() {
    let db = warehouse("rate_managed").await;
    let dir = config_dir(&db, |p| {
        p + "rate_limits:\n  tools:\n    preview_table: {per_minute: 1000}\n"
    });
    let managed = dir.path().join("managed.yaml");
    std::fs::write(
        &managed,
        "rate_limits:\n  tools:\n    preview_table: {per_minute: 2}\n",
    )
    .unwrap();
    let h = Harness::new(dir.path(), Some(&managed));
    let args = json!({"table": "public.regions", "limit": 1});
    ok(&h.call("preview_table", args.clone()).await);
    ok(&h.call("preview_table", args.clone()).await);
    assert_eq!(
        code(&h.call("preview_table", args).await),
        "RATE_LIMIT_EXCEEDED"
    );
}

#[tokio::test]
async fn the_row_budget_spans_every_query_tool_and_clamps_the_last_query() {
    let db = warehouse("row_budget").await;
    let dir = config_dir(&db, |p| {
        p.replacen("defaults:\n", "defaults:\n  max_session_rows: 30\n", 1)
    });
    let h = Harness::new(dir.path(), None);

    // A metric by region: two rows (the caller sees EAST and NORTH only).
    let metric = h
        .call(
            "run_metric_query",
            json!({"metric": "revenue", "dimensions": ["region"]}),
        )
        .await;
    assert_eq!(rows(&metric).len(), 2);
    let budget = &metric.envelope()["metadata"]["session_row_budget"];
    assert_eq!(
        budget,
        &json!({"max_session_rows": 30, "used": 2, "remaining": 28, "limited_this_call": true})
    );
    // The budget lowered the limit (100 by default) to the 30 rows left,
    // but the result was not cut by it.
    assert_eq!(metric.envelope()["metadata"]["applied_limit"], 30);
    assert_eq!(metric.envelope()["metadata"]["truncated"], false);

    let raw = h
        .call(
            "run_select_sql",
            json!({"sql": "SELECT order_id FROM orders ORDER BY order_id", "limit": 20}),
        )
        .await;
    assert_eq!(rows(&raw).len(), 20);
    assert_eq!(raw.envelope()["metadata"]["session_row_budget"]["used"], 22);

    // 8 rows are left: the next query is clamped to them, says so, and is
    // truthfully truncated (more products exist).
    let page = h
        .call(
            "query_table",
            json!({"table": "public.products", "columns": ["product_id"], "limit": 20}),
        )
        .await;
    assert_eq!(rows(&page).len(), 8);
    let metadata = &page.envelope()["metadata"];
    assert_eq!(metadata["applied_limit"], 8);
    assert_eq!(metadata["truncated"], true);
    assert_eq!(metadata["session_row_budget"]["remaining"], 0);
    assert_eq!(metadata["session_row_budget"]["limited_this_call"], true);
    assert!(page.text().contains("row budget"), "{}", page.text());
    assert!(page.envelope()["data"]["next_cursor"].is_string());

    // Nothing left: every row-returning tool is refused before it runs.
    for (tool, args) in [
        ("preview_table", json!({"table": "public.regions"})),
        ("run_select_sql", sql("SELECT region_code FROM regions")),
        (
            "query_table",
            json!({"table": "public.regions", "columns": ["region_code"]}),
        ),
        ("run_metric_query", json!({"metric": "revenue"})),
    ] {
        let out = h.call(tool, args).await;
        assert_eq!(code(&out), "COST_BUDGET_EXCEEDED", "{tool}");
        let envelope = out.envelope();
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(message.contains("`max_session_rows`"), "{message}");
        let record = h.last_record();
        assert_eq!(record.outcome, Outcome::Denied, "{tool}");
        assert_eq!(record.row_count, None, "{tool}");
    }
    // Tools that return no table rows still work, and the estimate shows
    // where the budget stands.
    ok(&h
        .call("describe_table", json!({"table": "public.orders"}))
        .await);
    let estimate = h
        .call(
            "estimate_query_cost",
            sql("SELECT region_code FROM regions"),
        )
        .await;
    let budget = &ok(&estimate)["data"]["budget"];
    assert_eq!(budget["max_session_rows"], 30);
    assert_eq!(budget["session_rows_used"], 30);
}

const CACHE: &str = "
cache:
  enabled: true
  max_entries: 100
";

/// The demo policy with the cache on, products cached for 60 s and
/// regions for 300 s (orders and customers are not cached).
fn cached_policy(policy: String) -> String {
    policy
        .replace(
            "      public.products:\n",
            "      public.products:\n        cache_ttl_seconds: 60\n",
        )
        .replace(
            "      public.regions:\n",
            "      public.regions:\n        cache_ttl_seconds: 300\n",
        )
        + CACHE
}

const PRODUCT_ONE: &str = "SELECT product_id, name FROM products WHERE product_id = 1";

async fn rename_product_one(db: &TestDb, name: &str) {
    db.client()
        .await
        .execute(
            "UPDATE products SET name = $1 WHERE product_id = 1",
            &[&name],
        )
        .await
        .unwrap();
}

fn first_name(out: &ToolOutput) -> String {
    rows(out)[0][1].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_cached_result_is_served_until_its_ttl_passes() {
    let db = warehouse("cache_ttl").await;
    let dir = config_dir(&db, cached_policy);
    let h = Harness::new(dir.path(), None);

    let first = h.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&first), "Coffee #1");
    assert_eq!(first.envelope()["metadata"]["cached"], false);
    assert!(!h.last_record().cache_hit);

    rename_product_one(&db, "Renamed").await;
    h.clock.advance(Duration::from_secs(20));
    let second = h.call("run_select_sql", sql(PRODUCT_ONE)).await;
    // The database changed, the answer did not: it came from the cache.
    assert_eq!(first_name(&second), "Coffee #1");
    let metadata = &second.envelope()["metadata"];
    assert_eq!(metadata["cached"], true);
    assert_eq!(metadata["cache_age_seconds"], 20.0);
    assert!(second.text().contains("served from the result cache"));
    let record = h.last_record();
    assert!(record.cache_hit);
    assert_eq!(record.outcome, Outcome::Ok);
    assert_eq!(record.row_count, Some(1));
    assert!(record.rewritten_sql.is_some());

    // The gate still runs on a cache hit: a denied column is refused.
    let denied = h
        .call(
            "run_select_sql",
            sql("SELECT name FROM customers WHERE customer_id = 1 AND phone IS NOT NULL"),
        )
        .await;
    assert_eq!(code(&denied), "COLUMN_NOT_ALLOWED");

    // A different limit is a different query.
    let limited = h
        .call("run_select_sql", json!({"sql": PRODUCT_ONE, "limit": 5}))
        .await;
    assert_eq!(first_name(&limited), "Renamed");

    h.clock.advance(Duration::from_secs(41));
    let fresh = h.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&fresh), "Renamed");
    assert_eq!(fresh.envelope()["metadata"]["cached"], false);
    assert!(fresh.envelope()["metadata"]
        .get("cache_age_seconds")
        .is_none());
}

#[tokio::test]
async fn tables_without_a_ttl_are_never_cached_not_even_in_a_join() {
    let db = warehouse("cache_no_ttl").await;
    let dir = config_dir(&db, cached_policy);
    let h = Harness::new(dir.path(), None);
    let client = db.client().await;

    // The first order the caller's row policy lets them see.
    let order: i32 = client
        .query_one(
            "SELECT min(order_id) FROM orders WHERE region_code IN ('EAST', 'NORTH')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let orders = sql(&format!(
        "SELECT order_id, status FROM orders WHERE order_id = {order}"
    ));
    let before = h.call("run_select_sql", orders.clone()).await;
    client
        .execute(
            "UPDATE orders SET status = 'changed' WHERE order_id = $1",
            &[&order],
        )
        .await
        .unwrap();
    let after = h.call("run_select_sql", orders).await;
    assert_ne!(rows(&before)[0][1], rows(&after)[0][1]);
    assert_eq!(rows(&after)[0][1], "changed");
    assert_eq!(after.envelope()["metadata"]["cached"], false);

    // Orders (no TTL) joined to products (60 s): not cached.
    let join = sql(&format!(
        "SELECT o.order_id, p.name FROM orders o JOIN products p ON o.product_id = p.product_id WHERE o.order_id = {order}"
    ));
    let before = h.call("run_select_sql", join.clone()).await;
    let product: i32 = client
        .query_one(
            "SELECT product_id FROM orders WHERE order_id = $1",
            &[&order],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "UPDATE products SET name = 'joined' WHERE product_id = $1",
            &[&product],
        )
        .await
        .unwrap();
    let after = h.call("run_select_sql", join).await;
    assert_ne!(rows(&before)[0][1], rows(&after)[0][1]);
    assert_eq!(rows(&after)[0][1], "joined");
    assert_eq!(after.envelope()["metadata"]["cached"], false);
    assert!(h.audit.0.lock().unwrap().iter().all(|r| !r.cache_hit));
}

#[tokio::test]
async fn another_identity_or_policy_never_sees_a_cached_result() {
    let db = warehouse("cache_identity").await;
    let dir = config_dir(&db, cached_policy);
    let shared = Arc::new(ResultCache::new(CacheBounds {
        max_entries: 100,
        max_bytes: 1 << 20,
    }));
    let alice = Harness::new(dir.path(), None).sharing(&shared);
    ok(&alice.call("run_select_sql", sql(PRODUCT_ONE)).await);
    assert_eq!(shared.len(), 1);
    rename_product_one(&db, "Renamed").await;

    // The same identity under the same policy, in another session: a hit.
    let twin = Harness::new(dir.path(), None).sharing(&shared);
    let hit = twin.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&hit), "Coffee #1");
    assert_eq!(hit.envelope()["metadata"]["cached"], true);

    // Other roles: a miss.
    let other_roles = config_dir(&db, |p| {
        cached_policy(p).replace("roles: [analyst, region_manager]", "roles: [analyst]")
    });
    let analyst = Harness::new(other_roles.path(), None).sharing(&shared);
    let miss = analyst.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&miss), "Renamed");
    assert_eq!(miss.envelope()["metadata"]["cached"], false);

    // Another user id: a miss.
    let other_user = config_dir(&db, |p| {
        cached_policy(p).replace("user_id: demo_analyst", "user_id: someone_else")
    });
    let bob = Harness::new(other_user.path(), None).sharing(&shared);
    let miss = bob.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(miss.envelope()["metadata"]["cached"], false);

    // The same identity under an edited policy (a new policy hash): a miss.
    let edited = config_dir(&db, |p| cached_policy(p) + "# edited\n");
    let after_edit = Harness::new(edited.path(), None).sharing(&shared);
    let miss = after_edit.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&miss), "Renamed");
    assert_eq!(miss.envelope()["metadata"]["cached"], false);
    assert_eq!(shared.len(), 4);
}

#[tokio::test]
async fn cache_hits_skip_the_engine_but_count_against_the_row_budget() {
    let db = warehouse("cache_budget").await;
    let dir = config_dir(&db, |p| {
        cached_policy(p).replacen("defaults:\n", "defaults:\n  max_session_rows: 7\n", 1)
    });
    let h = Harness::new(dir.path(), None);
    let regions = sql("SELECT region_code FROM regions ORDER BY region_code");
    assert_eq!(
        rows(&h.call("run_select_sql", regions.clone()).await).len(),
        5
    );
    // The budget has 2 rows left: the clamped query is another key, so it
    // runs, and then nothing is left even for a query the cache holds.
    let second = h.call("run_select_sql", regions.clone()).await;
    assert_eq!(rows(&second).len(), 2);
    assert_eq!(second.envelope()["metadata"]["cached"], false);
    assert_eq!(
        code(&h.call("run_select_sql", regions).await),
        "COST_BUDGET_EXCEEDED"
    );

    let fresh = warehouse("cache_budget_hit").await;
    let dir = config_dir(&fresh, |p| {
        cached_policy(p).replacen("defaults:\n", "defaults:\n  max_session_rows: 201\n", 1)
    });
    let h = Harness::new(dir.path(), None);
    ok(&h.call("run_select_sql", sql(PRODUCT_ONE)).await);
    let hit = h.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(hit.envelope()["metadata"]["cached"], true);
    assert_eq!(hit.envelope()["metadata"]["session_row_budget"]["used"], 2);
    // 199 rows left, below the default limit of 100 plus the next query's
    // 100: the budget, not the cache, decides.
    let products = sql("SELECT product_id FROM products");
    assert_eq!(
        rows(&h.call("run_select_sql", products.clone()).await).len(),
        50
    );
    assert_eq!(
        rows(&h.call("run_select_sql", products.clone()).await).len(),
        50
    );
    assert_eq!(
        rows(&h.call("run_select_sql", products.clone()).await).len(),
        50
    );
    let last = h.call("run_select_sql", products.clone()).await;
    assert_eq!(rows(&last).len(), 49);
    assert_eq!(last.envelope()["metadata"]["truncated"], true);
    assert_eq!(
        code(&h.call("run_select_sql", products).await),
        "COST_BUDGET_EXCEEDED"
    );
}

#[tokio::test]
async fn the_managed_policy_can_switch_the_cache_off() {
    let db = warehouse("cache_managed").await;
    let dir = config_dir(&db, cached_policy);
    let managed = dir.path().join("managed.yaml");
    std::fs::write(&managed, "cache: {enabled: false}\n").unwrap();
    let h = Harness::new(dir.path(), Some(&managed));
    ok(&h.call("run_select_sql", sql(PRODUCT_ONE)).await);
    rename_product_one(&db, "Renamed").await;
    let second = h.call("run_select_sql", sql(PRODUCT_ONE)).await;
    assert_eq!(first_name(&second), "Renamed");
    assert_eq!(second.envelope()["metadata"]["cached"], false);
    // And a shared cache handed to such a session is not used either.
    let shared = Arc::new(ResultCache::new(CacheBounds {
        max_entries: 10,
        max_bytes: 1 << 20,
    }));
    let h = Harness::new(dir.path(), Some(&managed)).sharing(&shared);
    ok(&h.call("run_select_sql", sql(PRODUCT_ONE)).await);
    assert!(shared.is_empty());
}

/// `file:line:column: message` of each error.
fn located(errors: &[ConfigError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e.file.file_name().unwrap().to_string_lossy(),
                e.line.map_or("-".into(), |l| l.to_string()),
                e.column.map_or("-".into(), |c| c.to_string()),
                e.message
            )
        })
        .collect()
}

fn config_errors(policy_tail: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("connections.yaml"),
        "connections:\n  crm: {engine: postgres, host: 127.0.0.1, dbname: crm, user: ro}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        format!("sources:\n  crm:\n    tables:\n      public.orders:\n        cache_ttl_seconds: 0\n{policy_tail}"),
    )
    .unwrap();
    located(&load(dir.path(), None).expect_err("config should be refused"))
}

#[test]
fn bad_limit_settings_are_refused_at_their_position() {
    let errors = config_errors(
        "defaults:\n  max_session_rows: 0\nrate_limits:\n  per_session: {}\n  tools:\n    run_select: {per_minute: 5}\n    preview_table: {per_minute: 0, per_hour: 10}\ncache:\n  enabled: true\n  max_entries: 0\n",
    );
    let expected = [
        "policy.yaml:9:16: a rate limit needs at least one of `per_second`, `per_minute`, `per_hour`",
        "policy.yaml:12:33: `per_minute` must be at least 1",
        "policy.yaml:11:5: unknown tool `run_select` in `rate_limits.tools`; the tools are",
        "policy.yaml:15:16: `max_entries` must be greater than 0",
        "policy.yaml:7:21: `max_session_rows` must be greater than 0",
        "policy.yaml:5:28: `cache_ttl_seconds` must be greater than 0",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for want in expected {
        assert!(
            errors.iter().any(|got| got.starts_with(want)),
            "missing `{want}` in {errors:#?}"
        );
    }
}

#[test]
fn rate_limit_shapes_are_typed() {
    for (tail, needle) in [
        (
            "rate_limits:\n  per_session: {per_minute: -1}\n",
            "policy.yaml:7:",
        ),
        ("rate_limits:\n  per_session: {calls: 5}\n", "calls"),
        ("rate_limits:\n  per_tool: {}\n", "per_tool"),
        ("cache:\n  ttl: 5\n", "ttl"),
    ] {
        let errors = config_errors(tail);
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{tail}: {errors:#?}"
        );
    }
}

/// The real binary over stdio: the hammering agent gets
/// `RATE_LIMIT_EXCEEDED` (audited) while other tools keep answering.
#[tokio::test]
async fn over_stdio_hammering_is_refused_and_audited() {
    let fixture = crate::stdio::Fixture::new(
        "rate_stdio",
        "rate_limits:\n  tools:\n    run_select_sql: {per_minute: 3}\n",
    )
    .await;
    let client = fixture.client().await;
    let mut codes = Vec::new();
    for _ in 0..12 {
        let result = crate::stdio::call(
            &client,
            "run_select_sql",
            json!({"sql": "SELECT region_code FROM regions", "source": "demo"}),
        )
        .await;
        let envelope = result.structured_content.unwrap();
        codes.push(
            envelope["error"]["code"]
                .as_str()
                .unwrap_or("ok")
                .to_string(),
        );
    }
    assert_eq!(&codes[..3], ["ok", "ok", "ok"]);
    assert!(
        codes[3..].iter().all(|c| c == "RATE_LIMIT_EXCEEDED"),
        "{codes:?}"
    );
    let other = crate::stdio::call(&client, "list_sources", json!({})).await;
    assert_eq!(other.is_error, Some(false));
    client.cancel().await.unwrap();

    let records = fixture.audit_records();
    let refused: Vec<&Value> = records
        .iter()
        .filter(|r| r["error_code"] == "RATE_LIMIT_EXCEEDED")
        .collect();
    assert_eq!(refused.len(), 9);
    assert!(refused.iter().all(|r| r["outcome"] == "denied"));
    assert!(refused.iter().all(|r| r["rewritten_sql"].is_null()));
}
