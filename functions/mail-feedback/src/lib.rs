//! What became of the mails notifier sent: SES's configuration set
//! publishes deliveries, bounces, complaints and rejections to the default
//! event bus, a rule queues them here, and each moves its notification
//! (found by the tags notifier put on the mail and the recipient). A hard
//! bounce or a complaint also suppresses the address: notifier sends it
//! nothing more. Feedback is applied as often as it comes: moving a
//! notification to where it already is, or suppressing an address twice,
//! changes nothing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::notification::{
    Feedback, Notification, NotificationKey, Suppression, Template,
};
use shopflow_domain::{OrderId, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_ports::{NotificationStore, StoreError};
use std::collections::HashMap;

pub const CONSUMER: &str = "mail-feedback";
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 4;
/// Tries at moving one notification whose version changed under us.
const MOVE_TRIES: usize = 3;

pub struct App<S> {
    store: S,
}

/// mail-feedback as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
    }
}

impl EventFunction<SqsEvent> for Deployed {
    type Answer = SqsBatchResponse;

    fn serve(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl std::future::Future<Output = Result<SqsBatchResponse, Error>> + Send {
        self.handle(event)
    }
}

/// An SES event as EventBridge delivers it.
#[derive(Debug, Deserialize)]
struct SesEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: SesDetail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesDetail {
    mail: SesMail,
    #[serde(default)]
    bounce: Option<SesBounce>,
    #[serde(default)]
    complaint: Option<SesComplaint>,
    #[serde(default)]
    reject: Option<SesReject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: String,
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesBounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    bounced_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesComplaint {
    complained_recipients: Vec<SesRecipient>,
}

#[derive(Debug, Deserialize)]
struct SesReject {
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesRecipient {
    email_address: String,
}

/// What one SES event says, about whom.
#[derive(Debug)]
struct Report {
    feedback: Feedback,
    recipients: Vec<String>,
    /// The notification's event, template and order, from the mail's tags.
    event_id: String,
    template: Template,
    order: Option<OrderId>,
    message_id: String,
}

/// Why a message cannot be applied.
#[derive(Debug)]
pub enum Refusal {
    /// Not feedback on a mail of ours: dropped.
    NotOurs(String),
    /// Storage failed: the queue tries again.
    Failed(StoreError),
}

fn tag<'a>(mail: &'a SesMail, name: &str) -> Option<&'a str> {
    mail.tags.get(name)?.first().map(String::as_str)
}

impl SesEvent {
    fn report(self) -> Result<Report, String> {
        let SesDetail {
            mail,
            bounce,
            complaint,
            reject,
        } = self.detail;
        let (feedback, recipients) = match (self.detail_type.as_str(), bounce, complaint, reject) {
            ("Email Delivered", ..) => (Feedback::Delivered, mail.destination.clone()),
            ("Email Bounced", Some(bounce), ..) => (
                Feedback::Bounced {
                    permanent: bounce.bounce_type == "Permanent",
                    kind: format!("{}/{}", bounce.bounce_type, bounce.bounce_sub_type),
                },
                bounce
                    .bounced_recipients
                    .into_iter()
                    .map(|r| r.email_address)
                    .collect(),
            ),
            ("Email Complaint Received", _, Some(complaint), _) => (
                Feedback::Complained,
                complaint
                    .complained_recipients
                    .into_iter()
                    .map(|r| r.email_address)
                    .collect(),
            ),
            ("Email Rejected", _, _, reject) => (
                Feedback::Rejected {
                    reason: reject.map(|r| r.reason).unwrap_or_default(),
                },
                mail.destination.clone(),
            ),
            (other, ..) => return Err(format!("no feedback in {other}")),
        };
        let (Some(event_id), Some(template)) = (
            tag(&mail, "event"),
            tag(&mail, "template").and_then(Template::parse),
        ) else {
            return Err(format!(
                "mail {} carries no notification tags",
                mail.message_id
            ));
        };
        let order = match tag(&mail, "order") {
            Some(raw) => Some(
                serde_json::from_value(serde_json::Value::String(raw.to_owned()))
                    .map_err(|error| format!("order tag {raw}: {error}"))?,
            ),
            None => None,
        };
        Ok(Report {
            feedback,
            recipients,
            event_id: event_id.to_owned(),
            template,
            order,
            message_id: mail.message_id,
        })
    }
}

impl<S: NotificationStore> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(
            consumer::consume_messages(CONSUMER, event.payload, CONCURRENCY, |message| {
                self.consume(message)
            })
            .await,
        )
    }

    /// Applies one message: dropped when it is not feedback on a mail of
    /// ours, failed (for the queue to retry) when storage failed.
    async fn consume(&self, message: SqsMessage) -> Result<Handled, ConsumeError> {
        match self
            .apply(message.body.as_deref().unwrap_or_default())
            .await
        {
            Ok(moved) => {
                tracing::info!(moved, "feedback applied");
                Ok(Handled::Applied)
            }
            Err(Refusal::NotOurs(why)) => Ok(Handled::Ignored(why)),
            Err(Refusal::Failed(error)) => Err(ConsumeError::failed(&error)),
        }
    }

    /// Applies the SES event in `body`: the notifications it moved.
    pub async fn apply(&self, body: &str) -> Result<usize, Refusal> {
        let event: SesEvent = serde_json::from_str(body)
            .map_err(|error| Refusal::NotOurs(format!("not an SES event: {error}")))?;
        let report = event.report().map_err(Refusal::NotOurs)?;
        let at = shopflow_lambda_kit::now();
        let mut moved = 0;
        for recipient in &report.recipients {
            let key = NotificationKey::new(&report.event_id, report.template, recipient);
            if let Some(reason) = report.feedback.suppresses() {
                self.store
                    .suppress(&Suppression {
                        address: key.to.clone(),
                        reason,
                        at,
                        notification: key.clone(),
                    })
                    .await
                    .map_err(Refusal::Failed)?;
                tracing::warn!(template = %key.template, reason = reason.as_str(), message_id = report.message_id, "address suppressed");
            }
            if self.moved(&key, report.order, &report.feedback, at).await? {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Moves the notification at `key` as `feedback` says: whether it moved.
    async fn moved(
        &self,
        key: &NotificationKey,
        order: Option<OrderId>,
        feedback: &Feedback,
        at: Timestamp,
    ) -> Result<bool, Refusal> {
        for _ in 0..MOVE_TRIES {
            let Some(notification) = self
                .store
                .notification(key, order)
                .await
                .map_err(Refusal::Failed)?
            else {
                tracing::warn!(template = %key.template, "feedback on a notification not recorded");
                return Ok(false);
            };
            let Some(next) = notification.reported(feedback, at) else {
                return Ok(false);
            };
            if self
                .store
                .save_notification(&next)
                .await
                .map_err(Refusal::Failed)?
            {
                log_moved(&next);
                return Ok(true);
            }
        }
        Err(Refusal::Failed(StoreError::Unavailable(format!(
            "notification {} kept moving under its feedback",
            key.template
        ))))
    }
}

fn log_moved(notification: &Notification) {
    tracing::info!(
        template = %notification.key.template,
        order_id = ?notification.order_id,
        status = notification.status.as_str(),
        "notification moved by its feedback"
    );
}
