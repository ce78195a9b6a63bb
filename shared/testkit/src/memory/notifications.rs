//! Notification preferences in memory, one record per customer, as the
//! DynamoDB adapter keeps them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::CustomerId;
use shopflow_domain::notification::NotificationPreferences;
use shopflow_ports::{PreferenceStore, StoreError};

#[async_trait]
impl PreferenceStore for MemoryStore {
    async fn notification_preferences(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        Ok(self.state().preferences.get(customer).copied())
    }

    async fn save_notification_preferences(
        &self,
        customer: &CustomerId,
        preferences: &NotificationPreferences,
    ) -> Result<(), StoreError> {
        self.state()
            .preferences
            .insert(customer.clone(), *preferences);
        Ok(())
    }
}
