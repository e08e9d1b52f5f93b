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

/// The date text written by hand is chrono's `%Y-%m-%d` for every date
/// PostgreSQL can send (4713 BC to 5874897 AD), a sign and four or more
/// digits outside 0000..9999 included, and says what it is beyond chrono.
#[test]
fn dates_read_as_chrono_writes_them() {
    let chrono_text = |days: i64| {
        epoch()
            .checked_add_signed(Duration::days(days))
            .map(|d| d.format("%Y-%m-%d").to_string())
    };
    let mut days: Vec<i64> = (-800_000..800_000).step_by(97).collect();
    // Around the first days of years 0, 1, 10000 and -10000, and the
    // extremes.
    for around in [-730_485_i64, -730_119, 2_921_940, -4_382_910] {
        days.extend(around - 400..around + 400);
    }
    days.extend([-2_451_546, 2_147_483_646, -95_000_000, 95_000_000]);
    for day in days {
        let Ok(day32) = i32::try_from(day) else {
            continue;
        };
        match chrono_text(day) {
            Some(expected) => assert_eq!(date(day32), expected, "{day} days"),
            None => assert_eq!(date(day32), format!("{day} days after 2000-01-01")),
        }
    }
    assert_eq!(date(2_921_940), "+10000-01-01");
    assert_eq!(date(-730_486), "-0001-12-31");
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
