//! Notification preferences in memory, one record per customer, and
//! notifications by key, as the DynamoDB adapter keeps them.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_domain::notification::{
    Notification, NotificationKey, NotificationPreferences, Suppression,
};
use shopflow_domain::{CustomerId, OrderId};
use shopflow_ports::{
    NotificationQuery, NotificationStore, Opened, Page, PreferenceStore, StoreError,
};

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

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn open_notification(&self, notification: &Notification) -> Result<Opened, StoreError> {
        let mut state = self.state();
        let key = (notification.key.clone(), notification.order_id);
        if let Some(existing) = state.notifications.get(&key) {
            return Ok(Opened::Existing(Box::new(existing.clone())));
        }
        state.notifications.insert(key, notification.clone());
        Ok(Opened::New)
    }

    async fn save_notification(&self, notification: &Notification) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state
            .notifications
            .get_mut(&(notification.key.clone(), notification.order_id))
        {
            Some(recorded) if recorded.version + 1 == notification.version => {
                *recorded = notification.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn notification(
        &self,
        key: &NotificationKey,
        order: Option<OrderId>,
    ) -> Result<Option<Notification>, StoreError> {
        // Kept as the DynamoDB adapter keeps them: with their order.
        Ok(self
            .state()
            .notifications
            .get(&(key.clone(), order))
            .cloned())
    }

    async fn order_notifications(&self, order: OrderId) -> Result<Vec<Notification>, StoreError> {
        let mut found: Vec<Notification> = self
            .state()
            .notifications
            .values()
            .filter(|n| n.order_id == Some(order))
            .cloned()
            .collect();
        found.sort_by_key(|n| n.created_at);
        Ok(found)
    }

    async fn suppression(&self, address: &str) -> Result<Option<Suppression>, StoreError> {
        Ok(self
            .state()
            .suppressions
            .get(&address.to_lowercase())
            .cloned())
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        self.state()
            .suppressions
            .entry(suppression.address.to_lowercase())
            .or_insert_with(|| suppression.clone());
        Ok(())
    }

    async fn link_address(&self, address: &str, customer: &CustomerId) -> Result<(), StoreError> {
        self.state()
            .addresses
            .insert((address.to_lowercase(), customer.clone()));
        Ok(())
    }

    async fn address_customers(&self, address: &str) -> Result<Vec<CustomerId>, StoreError> {
        let address = address.to_lowercase();
        Ok(self
            .state()
            .addresses
            .iter()
            .filter(|(linked, _)| *linked == address)
            .map(|(_, customer)| customer.clone())
            .collect())
    }

    async fn find_notifications(
        &self,
        query: &NotificationQuery,
        below: Option<&str>,
        limit: u16,
    ) -> Result<Page<Notification, String>, StoreError> {
        let mut found: Vec<Notification> = self
            .state()
            .notifications
            .values()
            .filter(|n| query.admits(n))
            .filter(|n| below.is_none_or(|below| n.listing_key().as_str() < below))
            .cloned()
            .collect();
        found.sort_by_key(|n| std::cmp::Reverse(n.listing_key()));
        Ok(Page::first(
            found,
            usize::from(limit),
            Notification::listing_key,
        ))
    }
}
