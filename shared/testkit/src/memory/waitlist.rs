//! The waitlist in memory: one entry per SKU and address (case aside), and
//! a hit count per rate bucket and window, as the DynamoDB adapter keeps
//! them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::waitlist::{FixedWindow, WaitlistEntry};
use shopflow_domain::{Email, Sku, Timestamp};
use shopflow_ports::{Admission, OutboxEvent, StoreError, Waitlist};

#[async_trait]
impl Waitlist for MemoryStore {
    async fn admit(
        &self,
        bucket: &str,
        window: FixedWindow,
        now: Timestamp,
    ) -> Result<Admission, StoreError> {
        let mut state = self.state();
        let hits = state
            .rate_windows
            .entry((bucket.to_owned(), window.start(now)))
            .or_default();
        if *hits >= window.limit {
            return Ok(Admission::Refused {
                retry_after_secs: window.retry_after(now),
            });
        }
        *hits += 1;
        Ok(Admission::Admitted)
    }

    async fn join_waitlist(&self, entry: &WaitlistEntry) -> Result<bool, StoreError> {
        let at = (entry.sku.clone(), WaitlistEntry::address_key(&entry.email));
        let mut state = self.state();
        if state.waitlist.contains_key(&at) {
            return Ok(false);
        }
        state.waitlist.insert(at, entry.clone());
        Ok(true)
    }

    async fn leave_waitlist(&self, sku: &Sku, email: &Email) -> Result<bool, StoreError> {
        let at = (sku.clone(), WaitlistEntry::address_key(email));
        Ok(self.state().waitlist.remove(&at).is_some())
    }

    async fn waiting(&self, sku: &Sku, limit: u16) -> Result<Vec<WaitlistEntry>, StoreError> {
        let mut waiting = self.waitlist_of(sku);
        waiting.truncate(usize::from(limit));
        Ok(waiting)
    }

    async fn tell_waitlist(
        &self,
        told: &[WaitlistEntry],
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let keys: Vec<(Sku, String)> = told
            .iter()
            .map(|entry| (entry.sku.clone(), WaitlistEntry::address_key(&entry.email)))
            .collect();
        let mut state = self.state();
        if !keys.iter().all(|at| state.waitlist.contains_key(at)) {
            return Ok(false);
        }
        for at in &keys {
            state.waitlist.remove(at);
        }
        state.outbox.push(event.clone());
        Ok(true)
    }
}

impl MemoryStore {
    /// Every address on the SKU's waitlist, in key order.
    pub fn waitlist_of(&self, sku: &Sku) -> Vec<WaitlistEntry> {
        self.state()
            .waitlist
            .iter()
            .filter(|((listed, _), _)| listed == sku)
            .map(|(_, entry)| entry.clone())
            .collect()
    }
}
