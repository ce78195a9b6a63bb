//! Plays Lambda's SQS event source mapping: long-polls a queue, invokes the
//! consumer with batches in the Lambda event shape, deletes what succeeded
//! and leaves the reported failures for SQS to redeliver (and, after the
//! queue's maxReceiveCount, to move to its dead-letter queue).

use crate::resources::Clients;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type QueueFuture = Pin<Box<dyn Future<Output = Result<SqsBatchResponse, String>> + Send>>;
pub type QueueHandler = Arc<dyn Fn(SqsEvent) -> QueueFuture + Send + Sync>;

/// Locally a failed message comes back after this long instead of the queue's
/// visibility timeout, so retries and dead-lettering happen in seconds.
const LOCAL_RETRY_DELAY_SECS: i32 = 1;

/// Runs until the task is dropped.
pub async fn pump(clients: Clients, queue_url: String, handler: QueueHandler) {
    let arn = queue_arn(&clients, &queue_url).await.unwrap_or_default();
    loop {
        if let Err(error) = pump_once(&clients, &queue_url, &arn, &handler).await {
            tracing::warn!(%error, queue = %queue_url, "queue poll failed");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn queue_arn(clients: &Clients, queue_url: &str) -> Option<String> {
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .ok()?;
    attributes
        .attributes()?
        .get(&QueueAttributeName::QueueArn)
        .cloned()
}

async fn pump_once(
    clients: &Clients,
    queue_url: &str,
    arn: &str,
    handler: &QueueHandler,
) -> Result<(), String> {
    let received = clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(());
    }
    let records: Vec<_> = messages
        .iter()
        .map(|message| {
            let attributes: serde_json::Map<String, serde_json::Value> = message
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": crate::REGION,
            })
        })
        .collect();
    let event: SqsEvent =
        serde_json::from_value(json!({ "Records": records })).map_err(|e| e.to_string())?;
    let failed: HashSet<String> = match handler(event).await {
        Ok(response) => response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect(),
        // A failed invocation fails the whole batch, as in Lambda.
        Err(error) => {
            tracing::warn!(%error, "queue consumer failed; the batch will be redelivered");
            messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect()
        }
    };
    for message in &messages {
        let (Some(id), Some(receipt)) = (message.message_id(), message.receipt_handle()) else {
            continue;
        };
        if failed.contains(id) {
            clients
                .sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(LOCAL_RETRY_DELAY_SECS)
                .send()
                .await
                .map_err(|e| e.to_string())?;
        } else {
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
