//! Webhook deliveries: a dedupe record per provider event id and the event it
//! becomes, in one transaction.

use super::items::OutboxItem;
use super::{DynamoStore, corrupt, unavailable};
use crate::{Delivery, OutboxEvent, StoreError, WebhookInbox};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use serde::Serialize;
use shopflow_domain::Timestamp;

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
        let mut writes = vec![
            self.put_new(serde_dynamo::to_item(record).map_err(corrupt("webhook delivery"))?)?,
        ];
        if let Some(event) = event {
            writes.push(self.put_new(
                serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?,
            )?);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(Delivery::Recorded),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                    if cancelled
                        .cancellation_reasons()
                        .first()
                        .and_then(|r| r.code())
                        == Some("ConditionalCheckFailed") =>
                {
                    Ok(Delivery::Duplicate)
                }
                _ => Err(unavailable(error)),
            },
        }
    }
}
