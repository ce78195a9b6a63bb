//! The waitlist's storage: signups once per SKU and address, taken off by
//! unsubscribing or by being told the SKU is back, and the fixed-window
//! counters that rate-limit signups.

use crate::{OutboxEvent, StoreError};
use async_trait::async_trait;
use shopflow_domain::waitlist::{FixedWindow, WaitlistEntry};
use shopflow_domain::{Email, Sku, Timestamp};

/// Whether an attempt fits its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The window is full: try again in this many seconds.
    Refused {
        retry_after_secs: u64,
    },
}

#[async_trait]
pub trait Waitlist: Send + Sync {
    /// Counts one attempt against `bucket` in the window `now` falls in:
    /// admitted while fewer than the window's limit were, atomically
    /// however many callers count at once.
    async fn admit(
        &self,
        bucket: &str,
        window: FixedWindow,
        now: Timestamp,
    ) -> Result<Admission, StoreError>;

    /// Puts `entry` on its SKU's list, once per address whatever its case:
    /// `true` when it was not there yet.
    async fn join_waitlist(&self, entry: &WaitlistEntry) -> Result<bool, StoreError>;

    /// Takes the address off the SKU's list: `true` when it was there.
    async fn leave_waitlist(&self, sku: &Sku, email: &Email) -> Result<bool, StoreError>;

    /// The first `limit` addresses on the SKU's list, as the last write
    /// left it.
    async fn waiting(&self, sku: &Sku, limit: u16) -> Result<Vec<WaitlistEntry>, StoreError>;

    /// Takes `told` off their list and records `event` (which tells them)
    /// in one write, all or nothing: `false`, and nothing written, when
    /// one of them left the list meanwhile (read the page again).
    async fn tell_waitlist(
        &self,
        told: &[WaitlistEntry],
        event: &OutboxEvent,
    ) -> Result<bool, StoreError>;
}
