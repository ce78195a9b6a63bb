//! Instants as milliseconds since the Unix epoch. The clock itself lives in
//! the handlers, so rules stay deterministic.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000
    }

    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1_000)))
    }
}

impl Timestamp {
    /// RFC 3339 in UTC with milliseconds, as events and API responses show instants.
    pub fn to_rfc3339(self) -> String {
        let instant = std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.0);
        humantime::format_rfc3339_millis(instant).to_string()
    }
}

/// Serde for an instant as an RFC 3339 string, as documents carried in
/// events show it: `#[serde(with = "crate::time::rfc3339")]`.
pub mod rfc3339 {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&raw).ok_or_else(|| D::Error::custom("not an RFC 3339 instant"))
    }

    /// The same for an instant that may be absent (`null`).
    pub mod option {
        use super::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<Timestamp>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            #[derive(Deserialize)]
            struct Instant(#[serde(with = "super")] Timestamp);
            Ok(Option::<Instant>::deserialize(deserializer)?.map(|Instant(at)| at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_in_utc_with_milliseconds() {
        assert_eq!(
            Timestamp::from_millis(1_700_000_000_123).to_rfc3339(),
            "2023-11-14T22:13:20.123Z"
        );
    }
}

impl Timestamp {
    /// Parses an RFC 3339 date-time (`2026-11-28T14:00:00Z`,
    /// `2026-11-28t15:00:00.5+01:00`): any offset, any fraction (kept to the
    /// millisecond), a leap second read as the last millisecond of its
    /// minute. An instant before 1970 is the epoch: nothing shopflow holds is
    /// older, so a search from then means "from the start".
    pub fn parse_rfc3339(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        let digits = |from: usize, len: usize| -> Option<i64> {
            let part = bytes.get(from..from + len)?;
            part.iter().all(u8::is_ascii_digit).then(|| {
                part.iter()
                    .fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0'))
            })
        };
        let at =
            |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));
        if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
            return None;
        }
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut index = 19;
        let mut millis = 0;
        if at(index, b".") {
            let fraction = bytes[index + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if fraction == 0 {
                return None;
            }
            let kept = fraction.min(3);
            millis = digits(index + 1, kept)? * 10i64.pow(u32::try_from(3 - kept).ok()?);
            index += 1 + fraction;
        }
        let offset_minutes = match bytes.get(index) {
            Some(b'Z' | b'z') if index + 1 == bytes.len() => 0,
            Some(sign @ (b'+' | b'-')) if index + 6 == bytes.len() && at(index + 3, b":") => {
                let (hours, minutes) = (digits(index + 1, 2)?, digits(index + 4, 2)?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let offset = hours * 60 + minutes;
                if *sign == b'-' { -offset } else { offset }
            }
            _ => return None,
        };
        let (second, millis) = if second == 60 {
            (59, 999)
        } else {
            (second, millis)
        };
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
                - offset_minutes * 60;
        let total = seconds * 1_000 + millis;
        Some(Self(u64::try_from(total).unwrap_or(0)))
    }

    pub const fn minus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs.saturating_mul(1_000)))
    }

    /// Its calendar day in UTC, `YYYY-MM-DD`, as documents and mails show
    /// dates.
    pub fn day(self) -> String {
        self.to_rfc3339().chars().take(10).collect()
    }

    /// Its calendar year in UTC.
    pub fn year(self) -> u16 {
        let days = i64::try_from(self.0 / 86_400_000).unwrap_or(i64::MAX);
        u16::try_from(civil_year(days)).unwrap_or(u16::MAX)
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian year of the day `days` after 1970-01-01 (the
/// year half of Hinnant's `civil_from_days`).
fn civil_year(days: i64) -> i64 {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let year = year_of_era + era * 400;
    if month_from_march >= 10 {
        year + 1
    } else {
        year
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parses_what_it_renders_and_refuses_junk() {
        let at = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()), Some(at));
        assert_eq!(
            Timestamp::parse_rfc3339("2023-11-14T22:13:20Z"),
            Some(Timestamp::from_millis(1_700_000_000_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn a_year_turns_at_midnight_utc_on_new_year() {
        let year_of = |raw: &str| Timestamp::parse_rfc3339(raw).unwrap().year();
        assert_eq!(year_of("1970-01-01T00:00:00Z"), 1970);
        assert_eq!(year_of("2026-12-31T23:59:59.999Z"), 2026);
        assert_eq!(year_of("2027-01-01T00:00:00Z"), 2027);
        assert_eq!(year_of("2028-02-29T12:00:00Z"), 2028);
        assert_eq!(year_of("2027-01-01T00:30:00+01:00"), 2026);
    }

    #[test]
    fn every_rfc3339_spelling_of_an_instant_is_that_instant() {
        let at = Some(Timestamp::from_millis(1_700_000_000_000));
        for raw in [
            "2023-11-14T22:13:20Z",
            "2023-11-14t22:13:20z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T23:13:20+01:00",
            "2023-11-14T17:43:20-04:30",
            "2023-11-14T22:13:20.000000001Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(raw), at, "{raw}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2023-11-14T22:13:20.5Z"),
            Some(Timestamp::from_millis(1_700_000_000_500))
        );
        // A leap second is the last millisecond of its minute.
        assert_eq!(
            Timestamp::parse_rfc3339("2016-12-31T23:59:60Z"),
            Timestamp::parse_rfc3339("2016-12-31T23:59:59.999Z")
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(Timestamp::from_millis(1_709_164_800_000))
        );
        // Before the epoch is the epoch.
        assert_eq!(
            Timestamp::parse_rfc3339("0001-01-01T00:00:00Z"),
            Some(Timestamp::from_millis(0))
        );
    }

    #[test]
    fn impossible_dates_times_and_offsets_are_refused() {
        for raw in [
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20+0100",
            "2023-11-14T22:13:20Zjunk",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(raw), None, "{raw}");
        }
    }
}
