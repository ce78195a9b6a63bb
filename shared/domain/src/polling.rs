//! Asking carriers that have no push: how many tracking calls a carrier's
//! limit allows, kept as one budget per carrier across runs, and how far
//! to back off when the carrier says stop or fails.

use crate::time::Timestamp;
use crate::tracking::Carrier;
use serde::{Deserialize, Serialize};

/// A carrier's stated limit: at most `requests` calls in any `per_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per_secs: u64,
}

impl RateLimit {
    /// Canada Post: 20 tracking calls a minute per key. Chit Chats: 2,000
    /// requests per 5 minutes. Push carriers are never polled.
    pub fn of(carrier: Carrier) -> Option<Self> {
        match carrier {
            Carrier::CanadaPost => Some(Self {
                requests: 20,
                per_secs: 60,
            }),
            Carrier::ChitChats => Some(Self {
                requests: 2_000,
                per_secs: 300,
            }),
            Carrier::Usps | Carrier::Dhl => None,
        }
    }

    /// The bucket's size, in thousandths of a call: a fifth of the limit.
    /// With the refill at four fifths of the limit per window, no window
    /// of `per_secs` can hold more than the burst plus the refill: the
    /// limit itself.
    fn burst_milli(self) -> u64 {
        u64::from(self.requests) * 1_000 / 5
    }

    /// Thousandths of a call that `elapsed_ms` earn back.
    fn refill_milli(self, elapsed_ms: u64) -> u64 {
        let earned = u128::from(elapsed_ms) * u128::from(self.requests) * 4
            / 5
            / u128::from(self.per_secs.max(1));
        u64::try_from(earned).unwrap_or(u64::MAX)
    }
}

/// The longest a carrier is left alone after failing (5xx, timeouts).
pub const MAX_BACKOFF_SECS: u64 = 15 * 60;
/// The first pause after a failing run; it doubles with each failing run.
pub const FIRST_BACKOFF_SECS: u64 = 30;
/// How long to stay away after a rate-limit answer that says nothing of when.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// A carrier's tracking-call budget as kept between runs: a token bucket
/// (in thousandths of a call), and when the carrier may be called again
/// after it refused or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub milli_calls: u64,
    pub refilled_at: Timestamp,
    /// No call before this: the carrier said to wait, or kept failing.
    pub blocked_until: Option<Timestamp>,
    /// Runs in a row that ended on a failure: each doubles the pause.
    pub failed_runs: u32,
}

impl Budget {
    /// A budget never used: a full burst.
    pub fn fresh(limit: RateLimit, now: Timestamp) -> Self {
        Self {
            milli_calls: limit.burst_milli(),
            refilled_at: now,
            blocked_until: None,
            failed_runs: 0,
        }
    }

    /// How many calls may be made at `now`, at most `wanted`, and the
    /// budget after taking them. None while the carrier is to be left alone.
    pub fn take(self, limit: RateLimit, now: Timestamp, wanted: u32) -> (Budget, u32) {
        let elapsed = now.as_millis().saturating_sub(self.refilled_at.as_millis());
        let milli = self
            .milli_calls
            .saturating_add(limit.refill_milli(elapsed))
            .min(limit.burst_milli().max(1_000));
        let refilled = Self {
            milli_calls: milli,
            refilled_at: now.max(self.refilled_at),
            ..self
        };
        if self.blocked_until.is_some_and(|until| now < until) {
            return (refilled, 0);
        }
        let granted = u32::try_from(milli / 1_000).unwrap_or(u32::MAX).min(wanted);
        (
            Self {
                milli_calls: milli - u64::from(granted) * 1_000,
                ..refilled
            },
            granted,
        )
    }

    /// Calls taken but not made go back.
    pub fn unused(self, limit: RateLimit, calls: u32) -> Budget {
        Self {
            milli_calls: (self.milli_calls + u64::from(calls) * 1_000)
                .min(limit.burst_milli().max(1_000)),
            ..self
        }
    }

    /// The carrier refused for being called too often: nothing more until
    /// it said (or a minute, when it did not say).
    pub fn rate_limited(self, now: Timestamp, retry_after_secs: Option<u64>) -> Budget {
        let wait = retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS);
        Self {
            milli_calls: 0,
            blocked_until: Some(now.plus_secs(wait)),
            ..self
        }
    }

    /// A run ended on the carrier failing: the next waits 30 s, then twice
    /// as long for each failing run in a row, up to 15 minutes.
    pub fn failed(self, now: Timestamp) -> Budget {
        let failed_runs = self.failed_runs.saturating_add(1);
        let pause = FIRST_BACKOFF_SECS
            .saturating_mul(1u64 << (failed_runs - 1).min(20))
            .min(MAX_BACKOFF_SECS);
        Self {
            blocked_until: Some(now.plus_secs(pause)),
            failed_runs,
            ..self
        }
    }

    /// A run got answers: failures are forgotten.
    pub fn answered(self) -> Budget {
        Self {
            failed_runs: 0,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CANADA_POST: RateLimit = RateLimit {
        requests: 20,
        per_secs: 60,
    };
    const T0: Timestamp = Timestamp::from_millis(1_750_000_000_000);

    #[test]
    fn a_fresh_budget_allows_a_burst_of_a_fifth_and_then_four_fifths_of_the_limit_a_window() {
        let (budget, burst) = Budget::fresh(CANADA_POST, T0).take(CANADA_POST, T0, 100);
        assert_eq!(burst, 4);
        let (_, next) = budget.take(CANADA_POST, T0.plus_secs(60), 100);
        assert_eq!(next, 4, "the bucket holds a burst at most");
        let (_, a_second) = budget.take(CANADA_POST, T0.plus_secs(3), 100);
        assert_eq!(a_second, 0, "3 s earn 0.8 of a call");
    }

    #[test]
    fn calls_not_made_go_back_and_the_bucket_never_overflows() {
        let (budget, taken) = Budget::fresh(CANADA_POST, T0).take(CANADA_POST, T0, 3);
        assert_eq!(taken, 3);
        let back = budget.unused(CANADA_POST, 3);
        assert_eq!(back.take(CANADA_POST, T0, 100).1, 4);
        assert_eq!(budget.unused(CANADA_POST, 50).milli_calls, 4_000);
    }

    #[test]
    fn a_rate_limit_answer_blocks_until_retry_after_or_a_minute() {
        let budget = Budget::fresh(CANADA_POST, T0).rate_limited(T0, Some(30));
        assert_eq!(budget.take(CANADA_POST, T0.plus_secs(29), 10).1, 0);
        assert!(budget.take(CANADA_POST, T0.plus_secs(30), 10).1 > 0);
        let unsaid = Budget::fresh(CANADA_POST, T0).rate_limited(T0, None);
        assert_eq!(unsaid.blocked_until, Some(T0.plus_secs(60)));
    }

    #[test]
    fn failing_runs_back_off_doubling_up_to_fifteen_minutes_and_an_answer_resets_it() {
        let mut budget = Budget::fresh(CANADA_POST, T0);
        let mut pauses = Vec::new();
        for _ in 0..8 {
            budget = budget.failed(T0);
            pauses.push(budget.blocked_until.unwrap().as_secs() - T0.as_secs());
        }
        assert_eq!(pauses, [30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(budget.answered().failed_runs, 0);
    }

    proptest! {
        /// However often runs come and however many calls they want, no
        /// window of the carrier's length ever holds more calls than its
        /// limit allows.
        #[test]
        fn no_window_ever_holds_more_calls_than_the_limit(
            runs in proptest::collection::vec((0u64..90_000, 0u32..50), 1..200),
            chit_chats in any::<bool>(),
        ) {
            let limit = if chit_chats {
                RateLimit { requests: 2_000, per_secs: 300 }
            } else {
                CANADA_POST
            };
            let mut budget = Budget::fresh(limit, T0);
            let mut now = T0;
            let mut calls: Vec<u64> = Vec::new();
            for (gap_ms, wanted) in runs {
                now = Timestamp::from_millis(now.as_millis() + gap_ms);
                let (after, granted) = budget.take(limit, now, wanted.saturating_mul(if chit_chats { 100 } else { 1 }));
                budget = after;
                calls.extend(std::iter::repeat_n(now.as_millis(), granted as usize));
            }
            // The calls in each window that starts at a call, by two pointers.
            let window = limit.per_secs * 1_000;
            let mut end = 0;
            for (start, at) in calls.iter().enumerate() {
                while end < calls.len() && calls[end] < at + window {
                    end += 1;
                }
                let within = end - start;
                prop_assert!(within as u32 <= limit.requests, "{} calls within {} ms", within, window);
            }
        }
    }
}
