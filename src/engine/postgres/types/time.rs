//! Dates, times and intervals from their binary forms to ISO 8601 text.
//!
//! PostgreSQL counts from 2000-01-01 in days (`date`) or microseconds
//! (`timestamp`, `timestamptz`), and sends the extreme values for
//! `infinity` / `-infinity`. `time` may be `24:00:00`, which no calendar
//! type accepts, so times of day are formatted by arithmetic, not chrono.

use std::error::Error;
use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

/// `date`: `YYYY-MM-DD` (ISO 8601 expanded years outside 0000..9999).
pub(super) fn date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => calendar_date(i64::from(days)),
    }
}

/// The date `days` after 2000-01-01 as `YYYY-MM-DD`, the text chrono's
/// `%Y-%m-%d` gives (a sign and at least four digits for a year outside
/// 0000..9999), written without parsing a format string for every cell.
fn calendar_date(days: i64) -> String {
    let Some(date) = epoch().checked_add_signed(Duration::days(days)) else {
        return format!("{days} days after 2000-01-01");
    };
    let mut out = String::with_capacity(32);
    let year = date.year();
    let _ = if (0..=9999).contains(&year) {
        write!(out, "{year:04}")
    } else {
        write!(out, "{year:+05}")
    };
    let _ = write!(out, "-{:02}-{:02}", date.month(), date.day());
    out
}

/// `timestamp` (`utc = false`, no offset) or `timestamptz` (`utc = true`,
/// RFC 3339 with `Z`).
pub(super) fn timestamp(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = micros.div_euclid(USECS_PER_DAY);
    let in_day = micros.rem_euclid(USECS_PER_DAY);
    let mut out = calendar_date(days);
    out.push('T');
    out.push_str(&time_of_day(in_day));
    if utc {
        out.push('Z');
    }
    out
}

/// `time`: `HH:MM:SS` with the fraction only when there is one.
pub(super) fn time_of_day(micros: i64) -> String {
    let mut out = format!(
        "{:02}:{:02}:{:02}",
        micros / USECS_PER_HOUR,
        micros % USECS_PER_HOUR / USECS_PER_MINUTE,
        micros % USECS_PER_MINUTE / USECS_PER_SEC
    );
    push_fraction(&mut out, micros % USECS_PER_SEC);
    out
}

/// `timetz`: the time of day and its UTC offset, as `12:00:00+05:30`.
pub(super) fn timetz(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    let (Some(time), Some(zone)) = (raw.get(0..8), raw.get(8..12)) else {
        return Err("timetz value is not 12 bytes".into());
    };
    let micros = i64::from_be_bytes(time.try_into()?);
    // PostgreSQL stores the zone as seconds *west* of UTC.
    let offset = -i64::from(i32::from_be_bytes(zone.try_into()?));
    let mut out = time_of_day(micros);
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = offset.abs();
    let _ = write!(out, "{:02}:{:02}", abs / 3600, abs % 3600 / 60);
    if abs % 60 != 0 {
        let _ = write!(out, ":{:02}", abs % 60);
    }
    Ok(out)
}

/// `interval` in ISO 8601, exactly as PostgreSQL prints it with
/// `intervalstyle = iso_8601`: every non-zero field carries its own sign.
pub(super) fn interval(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    let (Some(time), Some(days), Some(months)) = (raw.get(0..8), raw.get(8..12), raw.get(12..16))
    else {
        return Err("interval value is not 16 bytes".into());
    };
    let time = i64::from_be_bytes(time.try_into()?);
    let days = i32::from_be_bytes(days.try_into()?);
    let months = i32::from_be_bytes(months.try_into()?);
    if time == 0 && days == 0 && months == 0 {
        return Ok("PT0S".into());
    }
    let mut out = String::from("P");
    for (value, unit) in [(months / 12, 'Y'), (months % 12, 'M'), (days, 'D')] {
        if value != 0 {
            let _ = write!(out, "{value}{unit}");
        }
    }
    if time != 0 {
        out.push('T');
        let hours = time / USECS_PER_HOUR;
        let minutes = time % USECS_PER_HOUR / USECS_PER_MINUTE;
        let seconds = time % USECS_PER_MINUTE;
        for (value, unit) in [(hours, 'H'), (minutes, 'M')] {
            if value != 0 {
                let _ = write!(out, "{value}{unit}");
            }
        }
        if seconds != 0 {
            if seconds < 0 {
                out.push('-');
            }
            let abs = seconds.abs();
            let _ = write!(out, "{}", abs / USECS_PER_SEC);
            push_fraction(&mut out, abs % USECS_PER_SEC);
            out.push('S');
        }
    }
    Ok(out)
}

/// Append `.ffffff` without trailing zeros, or nothing for whole seconds.
fn push_fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        let fraction = format!("{micros:06}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests;
