use super::*;

fn interval_bytes(time: i64, days: i32, months: i32) -> Vec<u8> {
    let mut out = time.to_be_bytes().to_vec();
    out.extend_from_slice(&days.to_be_bytes());
    out.extend_from_slice(&months.to_be_bytes());
    out
}

#[test]
fn dates_and_timestamps_count_from_2000() {
    assert_eq!(date(0), "2000-01-01");
    assert_eq!(date(-1), "1999-12-31");
    assert_eq!(date(i32::MAX), "infinity");
    assert_eq!(timestamp(-1, true), "1999-12-31T23:59:59.999999Z");
    assert_eq!(timestamp(1_500_000, false), "2000-01-01T00:00:01.5");
}

#[test]
fn time_of_day_allows_24_hours() {
    assert_eq!(time_of_day(24 * USECS_PER_HOUR), "24:00:00");
}

#[test]
fn interval_signs_each_field() {
    let raw = interval_bytes(-(4 * USECS_PER_HOUR + 500_000), 3, -14);
    assert_eq!(interval(&raw).expect("test value"), "P-1Y-2M3DT-4H-0.5S");
    assert_eq!(
        interval(&interval_bytes(0, 0, 0)).expect("test value"),
        "PT0S"
    );
}
