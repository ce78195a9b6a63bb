//! "Notify me when it is back": a customer's address on a SKU's waitlist,
//! once per address whatever its case, and the fixed windows that bound
//! how often one address or one caller may sign up.

use crate::{Email, Sku, Timestamp};
use serde::{Deserialize, Serialize};

/// An address waiting for a SKU to be back in stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistEntry {
    pub sku: Sku,
    pub email: Email,
    pub at: Timestamp,
}

impl WaitlistEntry {
    /// What makes two signups the same: the address, case aside (mail
    /// providers treat `Ada@Example.com` and `ada@example.com` as one).
    pub fn address_key(email: &Email) -> String {
        email.as_str().to_lowercase()
    }
}

/// What an unsubscribe link names: a SKU's list and the address to take
/// off it. The link signs it (see the waitlist API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeLink {
    pub sku: String,
    pub email: String,
}

impl UnsubscribeLink {
    pub fn of(entry: &WaitlistEntry) -> Self {
        Self {
            sku: entry.sku.to_string(),
            email: entry.email.as_str().to_owned(),
        }
    }
}

/// At most `limit` attempts in each window of `secs` seconds, the windows
/// aligned on the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedWindow {
    pub limit: u32,
    pub secs: u64,
}

impl FixedWindow {
    /// The start of the window `now` falls in, in epoch seconds.
    pub fn start(self, now: Timestamp) -> u64 {
        let now = now.as_millis() / 1_000;
        now - now % self.secs.max(1)
    }

    /// Whole seconds until the next window opens (at least 1).
    pub fn retry_after(self, now: Timestamp) -> u64 {
        let end_ms = (self.start(now) + self.secs.max(1)) * 1_000;
        end_ms
            .saturating_sub(now.as_millis())
            .div_ceil(1_000)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_on_the_hour_and_say_when_the_next_opens() {
        let hourly = FixedWindow {
            limit: 5,
            secs: 3_600,
        };
        let at = Timestamp::from_millis(7_200_000 + 600_500);
        assert_eq!(hourly.start(at), 7_200);
        assert_eq!(hourly.retry_after(at), 3_000);
        let last_moment = Timestamp::from_millis(10_799_900);
        assert_eq!(hourly.retry_after(last_moment), 1);
    }

    #[test]
    fn an_address_is_the_same_whatever_its_case() {
        let upper = Email::parse("Ada@Example.COM").unwrap();
        let lower = Email::parse("ada@example.com").unwrap();
        assert_eq!(
            WaitlistEntry::address_key(&upper),
            WaitlistEntry::address_key(&lower)
        );
    }
}
