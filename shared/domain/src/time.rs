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
    /// Parses an RFC 3339 instant such as `2026-11-28T14:00:00Z`.
    pub fn parse_rfc3339(raw: &str) -> Option<Self> {
        let instant = humantime::parse_rfc3339_weak(raw).ok()?;
        let millis = instant
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis();
        u64::try_from(millis).ok().map(Self)
    }

    pub const fn minus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs.saturating_mul(1_000)))
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
}
