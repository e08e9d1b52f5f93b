use super::*;
use serde_json::json;

#[test]
fn parses_scalars_and_nested_types() {
    assert_eq!(McType::parse("BIGINT"), Ok(McType::BigInt));
    assert_eq!(McType::parse("decimal(38, 18)"), Ok(McType::Decimal));
    assert_eq!(McType::parse("varchar(20)"), Ok(McType::String));
    assert_eq!(
        McType::parse("map<string,array<bigint>>"),
        Ok(McType::Map(
            Box::new(McType::String),
            Box::new(McType::Array(Box::new(McType::BigInt)))
        ))
    );
    assert_eq!(
        McType::parse("struct<Name:string, `a b`:timestamp_ntz comment 'x, y'>"),
        Ok(McType::Struct(vec![
            ("Name".into(), McType::String),
            ("a b".into(), McType::TimestampNtz)
        ]))
    );
    assert!(McType::parse("array<int").is_err());
    assert!(McType::parse("geometry").is_err());
    assert!(McType::parse("int extra").is_err());
}

#[test]
fn renders_time_types() {
    assert_eq!(
        datetime_value(1_704_067_200_123),
        json!("2024-01-01T00:00:00.123Z")
    );
    assert_eq!(date_value(19_723), json!("2024-01-01"));
    assert_eq!(date_value(-1), json!("1969-12-31"));
    assert_eq!(
        timestamp_value(1_704_067_200, 5, true),
        json!("2024-01-01T00:00:00.000000005Z")
    );
    assert_eq!(
        timestamp_value(1_704_067_200, 5, false),
        json!("2024-01-01T00:00:00.000000005")
    );
    assert_eq!(
        interval_day_time_value(90_061, 500_000_000),
        json!("PT90061.5S")
    );
    assert_eq!(interval_day_time_value(-2, 0), json!("-PT2S"));
    assert_eq!(interval_year_month_value(14), json!("P1Y2M"));
    assert_eq!(interval_year_month_value(-3), json!("-P0Y3M"));
}

/// The hand-written calendar agrees with chrono across four centuries,
/// both sides of the epoch, and leap days.
#[test]
fn civil_text_matches_chrono() {
    use chrono::{DateTime, SecondsFormat};
    let mut seconds = -62_135_596_800_i64; // 0001-01-01
    while seconds < 253_402_300_799 {
        let at = DateTime::from_timestamp(seconds, 123_456_789).unwrap();
        assert_eq!(
            timestamp_value(seconds, 123_456_789, true),
            json!(at.to_rfc3339_opts(SecondsFormat::Nanos, true)),
            "{seconds}"
        );
        seconds += 7_776_017; // about 90 days and an odd number of seconds
    }
    assert_eq!(date_value(-719_162), json!("0001-01-01"));
    assert_eq!(date_value(11_016), json!("2000-02-29"));
    assert_eq!(datetime_value(-1), json!("1969-12-31T23:59:59.999Z"));
    assert_eq!(
        datetime_value(i64::MAX),
        json!(format!("{} ms since 1970-01-01T00:00:00Z", i64::MAX))
    );
    assert_eq!(
        timestamp_value(0, -1, true),
        json!("0s -1ns since 1970-01-01T00:00:00")
    );
}

#[test]
fn renders_numbers_bytes_and_maps() {
    assert_eq!(float_value(0.1), json!(0.1));
    assert_eq!(float_value(f32::NAN), json!("NaN"));
    assert_eq!(double_value(f64::NEG_INFINITY), json!("-Infinity"));
    assert_eq!(double_value(2.5), json!(2.5));
    assert_eq!(binary_value(&[0, 255]), json!("AP8="));
    assert_eq!(json_value(br#"{"a":[1]}"#), json!({"a": [1]}));
    assert_eq!(json_value(b"not json"), json!("not json"));
    assert_eq!(
        map_value(&McType::String, vec![json!("k")], vec![json!(1)]),
        json!({"k": 1})
    );
    assert_eq!(
        map_value(&McType::BigInt, vec![json!(7)], vec![json!("v")]),
        json!([[7, "v"]])
    );
}
