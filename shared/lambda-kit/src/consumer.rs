//! SQS consumers fed by EventBridge rules. Each message is one shopflow event
//! (`{id, occurred_at, version, data}` in the EventBridge `detail`). Messages
//! are handled concurrently up to a bound, each in its own span; failures are
//! reported per message, so SQS retries only those and moves a message that
//! keeps failing to the queue's DLQ after `maxReceiveCount` receives.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;
use tracing::Instrument;

/// An event as a consumer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    /// The envelope id: the same for every delivery of one event; dedupe on it.
    pub id: String,
    pub detail_type: String,
    pub source: String,
    pub occurred_at: String,
    pub data: Value,
}

/// What became of a message that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// Seen before (dedupe record present): nothing done again.
    Duplicate,
    /// Nothing to do, e.g. an event that arrived after a later one superseded it.
    Ignored(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("unreadable message: {0}")]
    Unreadable(String),
    /// Worth retrying: storage unavailable, a conflict that outlived its retries.
    #[error("{0}")]
    Failed(String),
}

impl ConsumeError {
    /// The message failed because of `error`, kept with all its causes.
    pub fn failed(error: &dyn std::error::Error) -> Self {
        Self::Failed(crate::problem::with_causes(error))
    }
}

#[derive(Deserialize)]
struct EventBridgeMessage {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    detail: Envelope,
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    occurred_at: String,
    data: Value,
}

pub fn parse(message: &SqsMessage) -> Result<BusEvent, ConsumeError> {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| ConsumeError::Unreadable("empty body".into()))?;
    let parsed: EventBridgeMessage =
        serde_json::from_str(body).map_err(|e| ConsumeError::Unreadable(e.to_string()))?;
    Ok(BusEvent {
        id: parsed.detail.id,
        detail_type: parsed.detail_type,
        source: parsed.source,
        occurred_at: parsed.detail.occurred_at,
        data: parsed.detail.data,
    })
}

/// Handles every message of the batch with at most `concurrency` in flight;
/// answers the ids of the ones to retry.
pub async fn consume<F, Fut>(
    consumer: &'static str,
    event: SqsEvent,
    concurrency: usize,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(BusEvent) -> Fut,
    Fut: Future<Output = Result<Handled, ConsumeError>>,
{
    let handle = &handle;
    consume_messages(consumer, event, concurrency, |message| async move {
        let event = parse(&message)?;
        tracing::Span::current().record("event_id", event.id.as_str());
        tracing::Span::current().record("detail_type", event.detail_type.as_str());
        handle(event).await
    })
    .await
}

/// [`consume`] for messages that are not shopflow's events (an AWS
/// service's, say): `handle` reads each SQS message itself, in the same
/// span, with the same logs and the same retries.
pub async fn consume_messages<F, Fut>(
    consumer: &'static str,
    event: SqsEvent,
    concurrency: usize,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<Handled, ConsumeError>>,
{
    let handle = &handle;
    let failures: Vec<BatchItemFailure> = futures::stream::iter(event.records)
        .map(|message| async move {
            let message_id = message.message_id.clone().unwrap_or_default();
            let receives = message
                .attributes
                .get("ApproximateReceiveCount")
                .cloned()
                .unwrap_or_default();
            let span = tracing::info_span!(
                "message",
                consumer,
                message_id = %message_id,
                receives = %receives,
                event_id = tracing::field::Empty,
                detail_type = tracing::field::Empty
            );
            let outcome = handle(message).instrument(span.clone()).await;
            let _entered = span.enter();
            match outcome {
                Ok(Handled::Applied) => tracing::info!("event applied"),
                Ok(Handled::Duplicate) => tracing::info!("duplicate event skipped"),
                Ok(Handled::Ignored(why)) => tracing::info!(why, "event ignored"),
                Err(error) => {
                    tracing::warn!(%error, "event failed; SQS will redeliver it");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = message_id;
                    return Some(failure);
                }
            }
            None
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// [`consume`], then the batch's counts as EMF metrics under `consumer`:
/// `<counted>Handled` (applied, duplicate or ignored) and `<counted>Failed`
/// (handed back to SQS).
pub async fn consume_counted<F, Fut>(
    consumer: &'static str,
    counted: &str,
    event: SqsEvent,
    concurrency: usize,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(BusEvent) -> Fut,
    Fut: Future<Output = Result<Handled, ConsumeError>>,
{
    let received = event.records.len();
    let response = consume(consumer, event, concurrency, handle).await;
    let failed = response.batch_item_failures.len();
    crate::metrics::emit(
        consumer,
        &[
            (
                &format!("{counted}Handled"),
                received.saturating_sub(failed) as f64,
                crate::metrics::Unit::Count,
            ),
            (
                &format!("{counted}Failed"),
                failed as f64,
                crate::metrics::Unit::Count,
            ),
        ],
    );
    response
}
