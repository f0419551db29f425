//! Event times: RFC 3339 with an offset, or a wall-clock time in the event's zone.
//!
//! Organizers think in local time ("the sale opens at 09:00 in Brussels"), so a time without
//! an offset is read in the event's zone and stored as UTC. A local time that a DST change
//! skips, or repeats, has no single meaning and is refused rather than guessed.

use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a time could not be read; the strings are `validation_failed` field codes.
pub type TimeError = &'static str;

pub fn parse_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Reads an event time, interpreting a time without offset in `zone`.
pub fn parse_event_time(input: &str, zone: Tz) -> Result<DateTime<Utc>, TimeError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(input) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M"))
        .map_err(|_| "invalid")?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(_, _) => Err("ambiguous_local_time"),
        LocalResult::None => Err("nonexistent_local_time"),
    }
}

/// How the API writes a time: UTC, whole seconds, `Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brussels() -> Tz {
        parse_zone("Europe/Brussels").unwrap()
    }

    #[test]
    fn local_time_on_spring_dst_day_uses_summer_offset() {
        // 2027-03-28: clocks go from 02:00 CET to 03:00 CEST; 09:00 is CEST (UTC+2).
        let t = parse_event_time("2027-03-28T09:00", brussels()).unwrap();
        assert_eq!(format_time(t), "2027-03-28T07:00:00Z");
        // The day before is still winter time (UTC+1).
        let t = parse_event_time("2027-03-27T09:00:00", brussels()).unwrap();
        assert_eq!(format_time(t), "2027-03-27T08:00:00Z");
    }

    #[test]
    fn local_time_on_autumn_dst_day_uses_winter_offset() {
        let t = parse_event_time("2026-10-25T09:00", brussels()).unwrap();
        assert_eq!(format_time(t), "2026-10-25T08:00:00Z");
    }

    #[test]
    fn skipped_and_repeated_local_times_are_refused() {
        assert_eq!(
            parse_event_time("2027-03-28T02:30", brussels()),
            Err("nonexistent_local_time")
        );
        assert_eq!(
            parse_event_time("2026-10-25T02:30", brussels()),
            Err("ambiguous_local_time")
        );
    }

    #[test]
    fn offsets_win_over_the_zone() {
        let t = parse_event_time("2026-03-29T09:00:00+02:00", brussels()).unwrap();
        assert_eq!(format_time(t), "2026-03-29T07:00:00Z");
        let t = parse_event_time("2026-03-29T07:00:00Z", brussels()).unwrap();
        assert_eq!(format_time(t), "2026-03-29T07:00:00Z");
    }

    #[test]
    fn garbage_is_invalid() {
        assert_eq!(parse_event_time("tomorrow", brussels()), Err("invalid"));
        assert_eq!(
            parse_event_time("2026-13-01T09:00", brussels()),
            Err("invalid")
        );
        assert!(parse_zone("Mars/Olympus").is_none());
    }
}
