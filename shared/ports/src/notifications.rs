//! Where a customer's notification preferences are kept (one record per
//! customer, replaced whole when they change it: only they write it), and
//! the record of what was sent to whom.

use crate::{Page, StoreError};
use async_trait::async_trait;
use shopflow_domain::notification::{
    Notification, NotificationKey, NotificationPreferences, NotificationStatus, Suppression,
    Template,
};
use shopflow_domain::{CustomerId, OrderId};

#[async_trait]
pub trait PreferenceStore: Send + Sync {
    /// The customer's choices as last saved; none while never saved.
    async fn notification_preferences(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<NotificationPreferences>, StoreError>;

    /// Replaces the customer's choices with `preferences`.
    async fn save_notification_preferences(
        &self,
        customer: &CustomerId,
        preferences: &NotificationPreferences,
    ) -> Result<(), StoreError>;
}

/// What recording a new notification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Recorded now: the caller holds it and sends.
    New,
    /// Its key was recorded before, as this.
    Existing(Box<Notification>),
}

/// The record of every notification, and the addresses nothing is sent to.
/// A notification about an order is kept with the order, so its timeline
/// reads them with it.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Records `notification` unless its key is recorded already, in which
    /// case it answers what is recorded.
    async fn open_notification(&self, notification: &Notification) -> Result<Opened, StoreError>;

    /// Replaces the record with `notification` if the record is still at
    /// the version before it; false when something else moved it since.
    async fn save_notification(&self, notification: &Notification) -> Result<bool, StoreError>;

    /// The notification recorded under `key` (about `order`, when it is).
    async fn notification(
        &self,
        key: &NotificationKey,
        order: Option<OrderId>,
    ) -> Result<Option<Notification>, StoreError>;

    /// An order's notifications, oldest first.
    async fn order_notifications(&self, order: OrderId) -> Result<Vec<Notification>, StoreError>;

    /// Why `address` (any case) receives nothing, if it does not.
    async fn suppression(&self, address: &str) -> Result<Option<Suppression>, StoreError>;

    /// Puts `suppression.address` on the list (the first reason stays).
    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError>;

    /// Notes that `customer` orders with `address` (any case), so mail to
    /// the address that is not about an order (a waitlist's) follows their
    /// choices.
    async fn link_address(&self, address: &str, customer: &CustomerId) -> Result<(), StoreError>;

    /// The customers who ordered with `address` (any case).
    async fn address_customers(&self, address: &str) -> Result<Vec<CustomerId>, StoreError>;

    /// The notifications `query` admits, newest first, at most `limit`,
    /// below the listing key `below` (the last of the previous page).
    async fn find_notifications(
        &self,
        query: &NotificationQuery,
        below: Option<&str>,
        limit: u16,
    ) -> Result<Page<Notification, String>, StoreError>;
}

/// Which notifications staff list: about one order, or one customer's, or
/// everyone's; of one status, one template, or any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationQuery {
    pub order: Option<OrderId>,
    pub customer: Option<CustomerId>,
    pub status: Option<NotificationStatus>,
    pub template: Option<Template>,
}

impl NotificationQuery {
    /// Whether `notification` belongs in the listing.
    pub fn admits(&self, notification: &Notification) -> bool {
        self.order
            .is_none_or(|order| notification.order_id == Some(order))
            && self
                .customer
                .as_ref()
                .is_none_or(|customer| notification.customer_id.as_ref() == Some(customer))
            && self
                .status
                .is_none_or(|status| notification.status == status)
            && self
                .template
                .is_none_or(|template| notification.key.template == template)
    }
}

/// A mail, rendered and addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Name and value pairs the mail service reports back with its
    /// feedback (letters, digits, `_` and `-` only).
    pub tags: Vec<(String, String)>,
}

/// Why a mail did not go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The mail service asks to slow down: tried again later.
    #[error("the mail service is throttling: {0}")]
    Throttled(String),
    /// The mail service refuses this mail, and would again.
    #[error("the mail service refused the mail: {0}")]
    Rejected(String),
    /// The mail service could not be reached or failed: tried again later.
    #[error("the mail service failed: {0}")]
    Unavailable(String),
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`; the mail service's id for it.
    async fn send(&self, mail: &Mail) -> Result<String, MailError>;
}
