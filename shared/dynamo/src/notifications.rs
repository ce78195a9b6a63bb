//! A customer's notification preferences: one item per customer
//! (`PREFS#<sub>` / `NOTIFY`), put whole when they change it.

use super::DynamoStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shopflow_domain::notification::{MarketingChoices, NotificationPreferences};
use shopflow_domain::{CustomerId, Timestamp};
use shopflow_ports::{PreferenceStore, StoreError};

fn preferences_key(customer: &CustomerId) -> (String, String) {
    (format!("PREFS#{customer}"), "NOTIFY".to_owned())
}

#[derive(Debug, Serialize, Deserialize)]
struct PreferencesItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    /// The marketing-like mail the customer accepts.
    mkt: MarketingChoices,
    at: Option<Timestamp>,
}

#[async_trait]
impl PreferenceStore for DynamoStore {
    async fn notification_preferences(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        let item: Option<PreferencesItem> = self
            .get_consistent(preferences_key(customer), "notification preferences")
            .await?;
        Ok(item.map(|item| NotificationPreferences {
            marketing: item.mkt,
            updated_at: item.at,
        }))
    }

    async fn save_notification_preferences(
        &self,
        customer: &CustomerId,
        preferences: &NotificationPreferences,
    ) -> Result<(), StoreError> {
        let (pk, sk) = preferences_key(customer);
        let item = PreferencesItem {
            pk,
            sk,
            kind: "notification_preferences".into(),
            mkt: preferences.marketing,
            at: preferences.updated_at,
        };
        self.put_record(&item, "notification preferences").await
    }
}
