//! Webhook deliveries: a dedupe record per provider event id, carrying the
//! event it becomes for the outbox relay: one conditional put.

use super::DynamoStore;
use async_trait::async_trait;
use serde::Serialize;
use shopflow_domain::Timestamp;
use shopflow_ports::{Delivery, OutboxEvent, StoreError, WebhookInbox};

/// Providers retry for days (Stripe: 3); a month covers every redelivery.
pub const WEBHOOK_DEDUPE_TTL_SECS: u64 = 30 * 24 * 60 * 60;

#[derive(Serialize)]
struct DeliveryItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    at: Timestamp,
    ttl: u64,
}

#[async_trait]
impl WebhookInbox for DynamoStore {
    async fn record_delivery(
        &self,
        provider: &str,
        event_id: &str,
        event: Option<&OutboxEvent>,
        at: Timestamp,
    ) -> Result<Delivery, StoreError> {
        let record = DeliveryItem {
            pk: format!("WEBHOOK#{provider}#{event_id}"),
            sk: "DELIVERY".into(),
            kind: "webhook_delivery".into(),
            at,
            ttl: at.as_secs() + WEBHOOK_DEDUPE_TTL_SECS,
        };
        // The delivery record carries the event it becomes for the relay.
        if self
            .put_new_carrying(&record, event, "webhook delivery")
            .await?
        {
            Ok(Delivery::Recorded)
        } else {
            Ok(Delivery::Duplicate)
        }
    }
}
