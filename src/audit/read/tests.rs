use super::*;
use crate::error::ToolError;

/// A `run_select_sql` record at `ts` on source `crm`, with multi-line SQL.
pub(crate) fn at(ts: &str) -> AuditRecord {
    let mut r = AuditRecord::new("run_select_sql", "r", "s", "p");
    r.timestamp = ts.into();
    r.source = Some("crm".into());
    r.tables_used = vec!["public.Orders".into()];
    r.request_params = serde_json::json!({"sql": "SELECT id\n  FROM orders"});
    r
}

#[test]
fn times_parse_in_three_spellings() {
    let now = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let p = |t: &str| parse_time(t, now).map(|t| t.to_rfc3339());
    assert_eq!(
        p("2026-01-09T10:00:00+02:00").unwrap(),
        "2026-01-09T08:00:00+00:00"
    );
    assert_eq!(p("2026-01-09").unwrap(), "2026-01-09T00:00:00+00:00");
    assert_eq!(p("7d").unwrap(), "2026-01-03T12:00:00+00:00");
    assert_eq!(p("90m").unwrap(), "2026-01-10T10:30:00+00:00");
    assert!(p("yesterday").unwrap_err().to_string().contains("RFC 3339"));
    assert!(p("").is_err());
    assert!(p("h").is_err());
}

#[test]
fn every_criterion_narrows() {
    let mut denied = at("2026-01-09T10:00:00Z");
    denied.fail(&ToolError::new(
        ErrorCode::ColumnNotAllowed,
        "column `phone`",
        "h",
    ));
    let ok = at("2026-01-10T10:00:00Z");
    let t = |s: &str| parse_time(s, Utc::now()).unwrap();
    let cases = [
        (Filter::default(), true, true),
        (
            Filter {
                outcome: Some(Outcome::Denied),
                ..Filter::default()
            },
            true,
            false,
        ),
        (
            Filter {
                code: Some(ErrorCode::ColumnNotAllowed),
                ..Filter::default()
            },
            true,
            false,
        ),
        (
            Filter {
                table: Some("public.orders".into()),
                ..Filter::default()
            },
            true,
            true,
        ),
        (
            Filter {
                table: Some("public.x".into()),
                ..Filter::default()
            },
            false,
            false,
        ),
        (
            Filter {
                tool: Some("describe_table".into()),
                ..Filter::default()
            },
            false,
            false,
        ),
        (
            Filter {
                source: Some("crm".into()),
                ..Filter::default()
            },
            true,
            true,
        ),
        (
            Filter {
                since: Some(t("2026-01-10")),
                ..Filter::default()
            },
            false,
            true,
        ),
        (
            Filter {
                until: Some(t("2026-01-10")),
                ..Filter::default()
            },
            true,
            false,
        ),
        (
            Filter {
                text: Some("PHONE".into()),
                ..Filter::default()
            },
            true,
            false,
        ),
        (
            Filter {
                text: Some("from customers".into()),
                ..Filter::default()
            },
            false,
            false,
        ),
    ];
    for (filter, want_denied, want_ok) in cases {
        assert_eq!(
            (filter.matches(&denied), filter.matches(&ok)),
            (want_denied, want_ok),
            "{filter:?}"
        );
    }
}

#[test]
fn a_torn_or_broken_line_is_skipped_and_counted() {
    let good = serde_json::to_string(&at("2026-01-09T10:00:00Z")).unwrap();
    let mut out = Records::default();
    parse_lines(
        &format!("{good}\n{{oops\n{good}\n{{\"torn"),
        &Filter::default(),
        &mut out,
    );
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.unreadable_lines, 1);
}

#[test]
fn the_follower_reads_new_lines_and_crosses_to_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let day1 = dir.path().join("audit-2026-01-09.jsonl");
    let day2 = dir.path().join("audit-2026-01-10.jsonl");
    let line = |ts: &str| serde_json::to_string(&at(ts)).unwrap() + "\n";
    std::fs::write(&day1, line("2026-01-09T10:00:00Z")).unwrap();
    let mut follower = Follower::at_end(dir.path()).unwrap();
    let all = Filter::default();
    assert!(follower.poll(&all).unwrap().records.is_empty());

    let second = line("2026-01-09T11:00:00Z");
    let head = &second[..30];
    std::fs::write(&day1, line("2026-01-09T10:00:00Z") + head).unwrap();
    assert!(follower.poll(&all).unwrap().records.is_empty());
    std::fs::write(&day1, line("2026-01-09T10:00:00Z") + &second).unwrap();
    let got = follower.poll(&all).unwrap().records;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].timestamp, "2026-01-09T11:00:00Z");

    std::fs::write(
        &day2,
        line("2026-01-10T00:00:01Z") + &line("2026-01-10T00:00:02Z"),
    )
    .unwrap();
    let got = follower.poll(&all).unwrap().records;
    assert_eq!(got.len(), 2);
    assert!(follower.poll(&all).unwrap().records.is_empty());
}
