//! Polling carriers that have no push: the schedule of parcels in flight
//! per carrier, the budget kept between runs, and the carriers' tracking
//! APIs as the poller sees them.

use crate::StoreError;
use async_trait::async_trait;
use shopflow_domain::{Budget, Carrier, OrderId, ShipmentId, Timestamp, TrackingNumber};

/// A polled parcel in flight, and when it is next due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollEntry {
    pub carrier: Carrier,
    pub tracking_number: TrackingNumber,
    pub order_id: OrderId,
    pub shipment_id: ShipmentId,
    pub due: Timestamp,
}

/// A carrier's budget as read, with the version a save must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptBudget {
    pub budget: Option<Budget>,
    pub version: u64,
}

#[async_trait]
pub trait PollingSchedule: Send + Sync {
    /// Parcels of `carrier` due at `now`, the longest waiting first (never
    /// checked ones before all others), at most `limit`.
    async fn due_parcels(
        &self,
        carrier: Carrier,
        now: Timestamp,
        limit: u16,
    ) -> Result<Vec<PollEntry>, StoreError>;

    /// The parcel is next due at `due`, unless it left the schedule meanwhile.
    async fn reschedule(&self, entry: &PollEntry, due: Timestamp) -> Result<(), StoreError>;

    /// The parcel leaves the schedule: its journey is over.
    async fn unschedule(&self, entry: &PollEntry) -> Result<(), StoreError>;

    /// How many parcels of `carrier` are in flight.
    async fn parcels_in_flight(&self, carrier: Carrier) -> Result<u64, StoreError>;

    /// The carrier's budget as the last run left it.
    async fn budget(&self, carrier: Carrier) -> Result<KeptBudget, StoreError>;

    /// Saves the budget if no other run saved one since `read`; `false`
    /// when another did (the caller reads again and decides again).
    async fn save_budget(
        &self,
        carrier: Carrier,
        read: &KeptBudget,
        budget: &Budget,
    ) -> Result<bool, StoreError>;
}

/// What a carrier's tracking API answered for one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierAnswer {
    pub status: u16,
    /// `Retry-After`, in seconds, when it sent one.
    pub retry_after_secs: Option<u64>,
    pub body: Vec<u8>,
}

/// Why a carrier could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierCallError {
    /// No answer: the connection failed or timed out.
    #[error("no answer from {carrier}: {reason}")]
    NoAnswer { carrier: Carrier, reason: String },
    /// The carrier is not polled, or not configured here.
    #[error("{0} cannot be polled here")]
    NotPolled(Carrier),
    /// Its credentials could not be read.
    #[error("the credentials for {carrier} cannot be read: {reason}")]
    Credentials { carrier: Carrier, reason: String },
}

#[async_trait]
pub trait TrackingApi: Send + Sync {
    /// Asks `carrier` where parcel `number` is: one call, no retries (the
    /// poller decides what a refusal or failure means for the budget).
    async fn track(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<CarrierAnswer, CarrierCallError>;
}
