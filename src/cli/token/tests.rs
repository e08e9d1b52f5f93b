use chrono::TimeZone;

use super::*;

fn args(attrs: &[&str], expires: Option<&str>) -> CreateArgs {
    CreateArgs {
        user: "alice".into(),
        roles: vec!["analyst".into(), " ".into(), "finance".into()],
        attrs: attrs.iter().map(|a| (*a).to_owned()).collect(),
        expires: expires.map(str::to_owned),
        description: None,
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
}

#[test]
fn attributes_are_one_value_or_a_list() {
    let new = new_token(args(&["region_codes=EAST,NORTH", "tier=gold"], None), now()).unwrap();
    assert_eq!(new.roles, ["analyst", "finance"]);
    assert_eq!(
        new.attributes["region_codes"],
        AttributeValue::List(vec![
            Scalar::Text("EAST".into()),
            Scalar::Text("NORTH".into())
        ])
    );
    assert_eq!(
        new.attributes["tier"],
        AttributeValue::One(Scalar::Text("gold".into()))
    );
    assert_eq!(
        attributes_text(&new.attributes),
        "region_codes=EAST,NORTH tier=gold"
    );
}

#[test]
fn bad_requests_say_what_to_write() {
    for (attrs, expires, expect) in [
        (vec!["region"], None, "has no `=`"),
        (vec!["bad name=x"], None, "not an attribute name"),
        (vec!["a=1", "a=2"], None, "given twice"),
        (vec![], Some("soon"), "not a duration"),
        (vec![], Some("2020-01-01"), "in the past"),
        (vec![], Some("0d"), "not a duration"),
    ] {
        let (message, hint) = new_token(args(&attrs, expires), now()).unwrap_err();
        assert!(message.contains(expect), "{message}");
        assert!(!hint.is_empty());
    }
    let mut empty = args(&[], None);
    empty.user = "  ".into();
    assert!(new_token(empty, now()).unwrap_err().0.contains("--user"));
}

#[test]
fn expiry_reads_durations_dates_and_times() {
    let at = |text| parse_expiry(text, now()).unwrap();
    assert_eq!(at("90m"), now() + Duration::minutes(90));
    assert_eq!(at("12h"), now() + Duration::hours(12));
    assert_eq!(at("30d"), now() + Duration::days(30));
    assert_eq!(at("2w"), now() + Duration::weeks(2));
    assert_eq!(
        at("2026-12-31"),
        Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap()
    );
    assert_eq!(
        at("2026-12-31T18:00:00+02:00"),
        Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap()
    );
    for bad in ["", "d", "-3d", "3y", "99999999999999w", "3 d"] {
        assert_eq!(parse_expiry(bad, now()), None, "{bad}");
    }
}
