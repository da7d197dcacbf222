//! Time as the service writes it: RFC 3339 UTC in JSON, epoch seconds in the table's TTL.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current time, UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2026-11-22T07:03:04.123Z`: UTC, to the millisecond.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_millisecond(at.millisecond()).unwrap_or(at);
    // Formatting a UTC time as RFC 3339 only fails for years outside 0..=9999.
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Epoch milliseconds.
pub fn epoch_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// What [`rfc3339`] writes of epoch milliseconds `ms`.
pub fn rfc3339_of_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_or_else(|_| ms.to_string(), rfc3339)
}

/// When an invocation must be done (epoch ms), when Lambda says so usably: the local Runtime API
/// emulator sends a relative deadline, which reads as long past and is ignored.
pub fn deadline_ms(context: &lambda_runtime::Context) -> Option<i64> {
    i64::try_from(context.deadline)
        .ok()
        .filter(|deadline| *deadline > epoch_ms(now()))
}

/// Parses what [`rfc3339`] wrote.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc3339() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_331_080).unwrap();
        let text = rfc3339(at);
        assert_eq!(text, "2026-11-22T07:04:40Z");
        assert_eq!(parse_rfc3339(&text), Some(at));
        let precise = at + time::Duration::nanoseconds(123_456_789);
        assert_eq!(rfc3339(precise), "2026-11-22T07:04:40.123Z");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
