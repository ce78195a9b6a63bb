//! Where a customer's notification preferences are kept: one record per
//! customer, replaced whole when they change it (only they write it).

use crate::StoreError;
use async_trait::async_trait;
use shopflow_domain::CustomerId;
use shopflow_domain::notification::NotificationPreferences;

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
