//! The SQS adapter of the `DeadLetters` port: look into a consumer's
//! dead-letter queue and move its messages back to the consumer's queue.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use shopflow_ports::{DeadLetter, DeadLetterRoute, DeadLetters, StoreError};
use std::collections::HashSet;

/// Receives per peek; a message seen twice is shown once.
const PEEK_POLLS: usize = 5;

#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: Client,
}

/// A SQS call's failure, as the store error it is: transient or a
/// defect (see shopflow-aws-errors).
fn sdk<E>(
    error: aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    shopflow_aws_errors::store_error("SQS", error)
}

impl SqsDeadLetters {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Dead letters through a client of `config`.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    async fn url(&self, queue: &str) -> Result<String, StoreError> {
        self.client
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(sdk)?
            .queue_url
            .ok_or_else(|| StoreError::Defect {
                what: format!("SQS GetQueueUrl {queue}"),
                source: "the answer carries no queue URL".into(),
            })
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn peek(
        &self,
        route: &DeadLetterRoute,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let url = self.url(&route.dead_letter_queue).await?;
        let mut seen = HashSet::new();
        let mut letters = Vec::new();
        for _ in 0..PEEK_POLLS {
            if letters.len() >= max {
                break;
            }
            // Visibility 0: looking does not hide the message from a redrive.
            let output = self
                .client
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(sdk)?;
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let id = message.message_id().unwrap_or_default().to_owned();
                if letters.len() < max && seen.insert(id.clone()) {
                    let attribute = |name: MessageSystemAttributeName| {
                        message
                            .attributes()
                            .and_then(|a| a.get(&name))
                            .cloned()
                            .unwrap_or_default()
                    };
                    letters.push(DeadLetter {
                        message_id: id,
                        body: message.body().unwrap_or_default().to_owned(),
                        receive_count: attribute(
                            MessageSystemAttributeName::ApproximateReceiveCount,
                        )
                        .parse()
                        .unwrap_or(0),
                        sent_at_millis: attribute(MessageSystemAttributeName::SentTimestamp)
                            .parse()
                            .unwrap_or(0),
                    });
                }
            }
        }
        Ok(letters)
    }

    async fn redrive(&self, route: &DeadLetterRoute, max: usize) -> Result<usize, StoreError> {
        let (from, to) = (
            self.url(&route.dead_letter_queue).await?,
            self.url(&route.queue).await?,
        );
        let mut moved = 0;
        while moved < max {
            let batch = i32::try_from((max - moved).min(10)).unwrap_or(10);
            let output = self
                .client
                .receive_message()
                .queue_url(&from)
                .max_number_of_messages(batch)
                .visibility_timeout(60)
                .send()
                .await
                .map_err(sdk)?;
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                // Send first, then delete: a crash in between duplicates the
                // message, which consumers dedupe; it never loses it.
                self.client
                    .send_message()
                    .queue_url(&to)
                    .message_body(message.body().unwrap_or_default())
                    .send()
                    .await
                    .map_err(sdk)?;
                if let Some(receipt) = message.receipt_handle() {
                    self.client
                        .delete_message()
                        .queue_url(&from)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(sdk)?;
                }
                moved += 1;
            }
        }
        Ok(moved)
    }
}
