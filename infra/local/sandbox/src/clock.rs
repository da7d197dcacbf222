//! Colombian time (UTC−5, no daylight saving) and the date formats Factus writes: `DD-MM-YYYY
//! hh:mm:ss AM/PM` for `created_at` and `validated_at`, `DD-MM-YYYY` for dates in documents,
//! `YYYY-MM-DD` and `HH:MM:SS-05:00` for DIAN's issue date and time.

use time::{Date, OffsetDateTime, UtcOffset};

const COLOMBIA: UtcOffset = match UtcOffset::from_hms(-5, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Now, in Colombia.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(COLOMBIA)
}

/// Today, in Colombia.
pub fn today() -> Date {
    now().date()
}

/// `DD-MM-YYYY hh:mm:ss AM/PM`.
pub fn stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(COLOMBIA);
    let (hour, half) = match at.hour() {
        0 => (12, "AM"),
        hour @ 1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        hour => (hour - 12, "PM"),
    };
    format!(
        "{} {hour:02}:{:02}:{:02} {half}",
        day_month_year(at.date()),
        at.minute(),
        at.second()
    )
}

/// `DD-MM-YYYY`.
pub fn day_month_year(date: Date) -> String {
    format!(
        "{:02}-{:02}-{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// `YYYY-MM-DD`.
pub fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// DIAN's issue time: `HH:MM:SS-05:00`.
pub fn issue_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(COLOMBIA);
    format!("{:02}:{:02}:{:02}-05:00", at.hour(), at.minute(), at.second())
}

/// Laravel's serialisation of a timestamp: `YYYY-MM-DDTHH:MM:SS.000000Z`, in UTC.
pub fn laravel(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:{:02}.000000Z",
        iso_date(at.date()),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use time::{Month, PrimitiveDateTime, Time};

    use super::*;

    #[test]
    fn formats() {
        let date = Date::from_calendar_date(2019, Month::January, 16).unwrap();
        let at = PrimitiveDateTime::new(date, Time::from_hms(10, 53, 10).unwrap()).assume_offset(COLOMBIA);
        assert_eq!(stamp(at), "16-01-2019 10:53:10 AM");
        assert_eq!(issue_time(at), "10:53:10-05:00");
        assert_eq!(iso_date(at.date()), "2019-01-16");
        assert_eq!(laravel(at), "2019-01-16T15:53:10.000000Z");
        let midnight = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(COLOMBIA);
        assert_eq!(stamp(midnight), "16-01-2019 12:00:00 AM");
        assert_eq!(stamp(at + time::Duration::hours(3)), "16-01-2019 01:53:10 PM");
    }
}
