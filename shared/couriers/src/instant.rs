//! Carriers' ways of writing a time, turned into UTC instants. They all
//! write `YYYY-MM-DDTHH:MM:SS[.fff]`; they differ in how (and whether)
//! they say the offset, so the offset is read here and the rest is left to
//! `Timestamp::parse_rfc3339`.

use shopflow_domain::Timestamp;

/// A UTC offset, in minutes east of Greenwich.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offset(i32);

impl Offset {
    pub(crate) const UTC: Offset = Offset(0);

    pub(crate) const fn hours_minutes(hours: i32, minutes: i32) -> Self {
        Self(hours * 60 + if hours < 0 { -minutes } else { minutes })
    }

    /// `Z`, or a sign followed by `HH:MM`, `H:MM`, `HHMM`, `HH` or `H`
    /// (USPS writes `-7:00`, others `+0100`).
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("z") {
            return Some(Self::UTC);
        }
        let (negative, rest) = match raw.as_bytes().first()? {
            b'+' => (false, raw.get(1..)?),
            b'-' => (true, raw.get(1..)?),
            _ => return None,
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((hours, minutes)) if (1..=2).contains(&hours.len()) && minutes.len() == 2 => {
                (hours, minutes)
            }
            Some(_) => return None,
            None if (1..=2).contains(&rest.len()) => (rest, "00"),
            None if rest.len() == 4 => (rest.get(..2)?, rest.get(2..)?),
            None => return None,
        };
        let hours = number(hours)?;
        let minutes = number(minutes)?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        let total = hours * 60 + minutes;
        Some(Self(if negative { -total } else { total }))
    }

    fn rfc3339(self) -> String {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let minutes = self.0.unsigned_abs();
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// `raw` as an instant: a date-time with its own offset (in any of the
/// spellings `Offset::parse` reads), or without one when `when_absent`
/// says which offset the carrier means.
pub(crate) fn instant(raw: &str, when_absent: Option<Offset>) -> Option<Timestamp> {
    let (local, offset) = split_offset(raw.trim())?;
    let offset = match offset {
        "" => when_absent?,
        written => Offset::parse(written)?,
    };
    at_offset(local, offset)
}

/// A local date-time without offset (`2024-05-01T10:21:00`), at `offset`.
/// A date-time that carries its own offset is refused: it would be read
/// twice.
pub(crate) fn at_offset(local: &str, offset: Offset) -> Option<Timestamp> {
    let (local, rest) = split_offset(local.trim())?;
    if !rest.is_empty() {
        return None;
    }
    Timestamp::parse_rfc3339(&format!("{local}{}", offset.rfc3339()))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]` and what follows it (the offset, if any).
fn split_offset(raw: &str) -> Option<(&str, &str)> {
    const DATE_TIME: usize = "YYYY-MM-DDTHH:MM:SS".len();
    let rest = raw.get(DATE_TIME..)?;
    let fraction = match rest.strip_prefix('.') {
        Some(after) => 1 + after.bytes().take_while(u8::is_ascii_digit).count(),
        None => 0,
    };
    let end = DATE_TIME + fraction;
    Some((raw.get(..end)?, raw.get(end..)?))
}

fn number(digits: &str) -> Option<i32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(raw)
    }

    #[test]
    fn offsets_are_read_in_every_spelling_carriers_use() {
        for (raw, minutes) in [
            ("Z", 0),
            ("+01:00", 60),
            ("-04:00", -240),
            ("-7:00", -420),
            ("+0530", 330),
            ("-03", -180),
            ("-3:30", -210),
        ] {
            assert_eq!(Offset::parse(raw), Some(Offset(minutes)), "{raw}");
        }
        for raw in [
            "", "04:00", "+24:00", "+01:60", "+1:0", "+123", "+ab:cd", "-", "+",
        ] {
            assert_eq!(Offset::parse(raw), None, "{raw}");
        }
        assert_eq!(Offset::hours_minutes(-3, 30), Offset(-210));
    }

    #[test]
    fn a_time_with_its_own_offset_keeps_it_and_one_without_takes_the_default() {
        let utc = at("2024-11-22T18:58:40Z");
        assert_eq!(instant("2024-11-22T18:58:40Z", None), utc);
        assert_eq!(instant("2024-11-22T13:58:40-05:00", None), utc);
        assert_eq!(instant("2024-11-22T13:58:40-0500", None), utc);
        assert_eq!(instant("2024-11-22T18:58:40", Some(Offset::UTC)), utc);
        assert_eq!(instant("2024-11-22T18:58:40", None), None);
        assert_eq!(
            instant("2024-04-04T14:03:12.041Z", None),
            at("2024-04-04T14:03:12.041Z")
        );
        assert_eq!(
            instant("2024-11-22T18:58:40.5", Some(Offset::UTC)),
            at("2024-11-22T18:58:40.5Z")
        );
    }

    #[test]
    fn a_local_time_is_placed_at_the_offset_given() {
        assert_eq!(
            at_offset("2024-11-22T13:58:00", Offset::parse("-05:00").unwrap()),
            at("2024-11-22T18:58:00Z")
        );
        assert_eq!(
            at_offset("2024-11-22T13:58:00Z", Offset::UTC),
            None,
            "a time that has an offset already is not given another"
        );
    }

    #[test]
    fn junk_and_odd_characters_are_refused_without_panicking() {
        for raw in [
            "",
            "yesterday",
            "2024-11-22",
            "2024-11-22T25:00:00Z",
            "2024-11-22T13:58:00+",
            "2024-11-22T13:58:00.Z",
            "2024-11-22T13:58:0é",
            "éééééééééééééééééééééé",
            "2024-11-22T13:58:00 junk",
        ] {
            assert_eq!(instant(raw, Some(Offset::UTC)), None, "{raw}");
        }
    }
}
