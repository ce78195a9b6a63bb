//! Emails customers about what happens to their orders, payments, parcels,
//! backorders and invoices, and tells a waitlist that a product is back.
//! A consumer like any other, with its own queue and DLQ: it never holds
//! up an order.
//!
//! Each mail is sent once per (event, template, address): a record is
//! written with a condition before sending and moves pending → sent (or
//! failed, suppressed, opted out). A redelivered event finds it settled; a
//! delivery that finds it pending and held by another waits (the queue
//! retries); one that finds it pending and nobody holding it (a sender
//! that stopped between the record and the send) sends it. An address
//! that bounced hard or complained receives nothing; marketing-like mail
//! also respects the choice of every customer who ordered with the
//! address (an order's confirmation links its address to its customer).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod letters;
pub mod notices;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use letters::{Letters, Locale};
use notices::{Notice, Shop};
use shopflow_domain::notification::{
    Notification, NotificationKey, NotificationStatus, Recorded, Template,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::now;
use shopflow_ports::{
    Mail, MailError, Mailer, NotificationStore, Opened, OrderReader, PreferenceStore,
};
use shopflow_ses::SesMailer;

pub const CONSUMER: &str = "notifier";
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 4;
/// How long a sender holds a notification it recorded: longer than a
/// send with its retries takes, shorter than the queue's visibility
/// timeout, so a redelivery after a crash finds it free.
pub const HOLD_SECS: u64 = 60;
/// Tries at recording a mail SES took.
const SETTLE_TRIES: u32 = 3;

pub struct App<S, M> {
    store: S,
    mailer: M,
    letters: Letters,
    shop: Shop,
}

/// notifier as deployed: the table and SES.
pub type Deployed = App<DynamoStore, SesMailer>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        let configuration_set =
            config::optional(env, "MAIL_CONFIGURATION_SET").filter(|name| !name.is_empty());
        Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SesMailer::from_config(
                &shared.aws.ses,
                config::required(env, "MAIL_FROM")?,
                configuration_set,
            ),
            shop(env)?,
        )
    }
}

/// The shop's name and addresses: `SHOP_NAME`, `SHOP_URL` and
/// `PUBLIC_API_URL` (the API's default address when empty).
pub fn shop(env: &impl config::Source) -> Result<Shop, ConfigError> {
    let trimmed = |url: String| url.trim_end_matches('/').to_owned();
    let api_url = config::optional(env, "PUBLIC_API_URL")
        .filter(|url| !url.is_empty())
        .map_or_else(|| config::required(env, "DEFAULT_API_URL"), Ok)?;
    Ok(Shop {
        name: config::required(env, "SHOP_NAME")?,
        url: trimmed(config::required(env, "SHOP_URL")?),
        api_url: trimmed(api_url),
    })
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

/// What became of one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Settled now: sent, failed for good, or withheld.
    Settled(NotificationStatus),
    /// Settled by an earlier delivery.
    AlreadySettled,
}

impl<S, M> App<S, M>
where
    S: NotificationStore + OrderReader + PreferenceStore,
    M: Mailer,
{
    pub fn new(store: S, mailer: M, shop: Shop) -> Result<Self, ConfigError> {
        let letters = Letters::new(Locale::En).map_err(|error| ConfigError::Invalid {
            name: "templates",
            reason: format!("{error:#}"),
        })?;
        Ok(Self {
            store,
            mailer,
            letters,
            shop,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "Notifications",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let notices = self.shop.notices(&event, &self.store).await?;
        if notices.is_empty() {
            return Ok(Handled::Ignored(format!(
                "no mail about {}",
                event.detail_type
            )));
        }
        // Every mail of the event is tried, even after one fails (a
        // waitlist's page is 50): the queue retries the event, and the
        // mails settled by now are not sent again.
        let mut settled_now = false;
        let mut first_failure = None;
        for notice in notices {
            match self.deliver(&event.id, notice).await {
                Ok(Outcome::Settled(_)) => settled_now = true,
                Ok(Outcome::AlreadySettled) => {}
                Err(error) => {
                    tracing::warn!(%error, "a mail of the event failed; the others go on");
                    first_failure.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_failure {
            return Err(error);
        }
        Ok(if settled_now {
            Handled::Applied
        } else {
            Handled::Duplicate
        })
    }

    /// Sends `notice` once for `event_id`.
    async fn deliver(&self, event_id: &str, notice: Notice) -> Result<Outcome, ConsumeError> {
        let key = NotificationKey::new(event_id, notice.template, &notice.to);
        // Rendered first: a template that cannot render is a defect, and
        // records nothing.
        let rendered = self
            .letters
            .render(notice.template, &notice.letter)
            .map_err(|error| ConsumeError::Unreadable(error.to_string()))?;
        let Some(held) = self.hold(&key, &notice).await? else {
            return Ok(Outcome::AlreadySettled);
        };
        if let Some((status, why)) = self.withheld(&notice).await? {
            self.settle(&held.withheld(now(), status, &why)).await?;
            tracing::info!(template = %key.template, order_id = ?notice.order_id, status = status.as_str(), why, "notification withheld");
            return Ok(Outcome::Settled(status));
        }
        if let (Template::OrderConfirmation, Some(customer)) =
            (notice.template, &notice.customer_id)
        {
            self.store
                .link_address(&notice.to, customer)
                .await
                .map_err(|error| ConsumeError::failed(&error))?;
        }
        let mail = Mail {
            to: notice.to.clone(),
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            tags: feedback_tags(&key, &notice),
        };
        match self.mailer.send(&mail).await {
            Ok(message_id) => {
                // SES has the mail: from here on nothing hands the event
                // back, or the retry would send it again.
                self.settle_sent(&held.sent(now(), &message_id)).await;
                tracing::info!(template = %key.template, order_id = ?notice.order_id, message_id, "notification sent");
                Ok(Outcome::Settled(NotificationStatus::Sent))
            }
            Err(MailError::Rejected(reason)) => {
                self.settle(&held.failed(now(), &reason)).await?;
                tracing::error!(template = %key.template, order_id = ?notice.order_id, reason, "notification refused by the mail service");
                metrics::emit(CONSUMER, &[("MailsRefused", 1.0, Unit::Count)]);
                Ok(Outcome::Settled(NotificationStatus::Failed))
            }
            Err(error) => {
                // Released for the queue's retry, which need not wait.
                self.settle(&held.retried(now(), &error.to_string()))
                    .await?;
                Err(ConsumeError::failed(&error))
            }
        }
    }

    /// Records a mail SES took, trying a few times: a failure here is
    /// logged and counted (`MailsUnrecorded`, alarmed), never handed back
    /// to the queue, whose retry would send the mail again. The record
    /// stays pending and says so in the admin list.
    async fn settle_sent(&self, sent: &Notification) {
        for attempt in 1..=SETTLE_TRIES {
            match self.settle(sent).await {
                Ok(()) => return,
                Err(error) if attempt < SETTLE_TRIES => {
                    tracing::warn!(%error, attempt, "recording a sent mail failed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                        .await;
                }
                Err(error) => {
                    tracing::error!(%error, template = %sent.key.template, order_id = ?sent.order_id, message_id = ?sent.message_id, "a sent mail could not be recorded; it stays pending");
                    metrics::emit(CONSUMER, &[("MailsUnrecorded", 1.0, Unit::Count)]);
                }
            }
        }
    }

    /// The notification recorded and held by this delivery, or none when an
    /// earlier delivery settled it. One that another delivery holds fails
    /// this one, for the queue to try again after the hold.
    async fn hold(
        &self,
        key: &NotificationKey,
        notice: &Notice,
    ) -> Result<Option<Notification>, ConsumeError> {
        let at = now();
        let pending = Notification::pending(
            key.clone(),
            notice.order_id,
            notice.customer_id.clone(),
            at,
            HOLD_SECS,
        );
        let existing = match self
            .store
            .open_notification(&pending)
            .await
            .map_err(|error| ConsumeError::failed(&error))?
        {
            Opened::New => return Ok(Some(pending)),
            Opened::Existing(existing) => *existing,
        };
        match existing.standing(at) {
            Recorded::Settled(status) => {
                tracing::info!(template = %key.template, status = status.as_str(), "notification settled before");
                Ok(None)
            }
            Recorded::Held(until) => Err(ConsumeError::Failed(format!(
                "notification {} is being sent by another delivery until {}",
                key.template,
                until.to_rfc3339()
            ))),
            Recorded::Abandoned => {
                let taken = existing.taken_over(at, HOLD_SECS);
                if !self
                    .store
                    .save_notification(&taken)
                    .await
                    .map_err(|error| ConsumeError::failed(&error))?
                {
                    return Err(ConsumeError::Failed(format!(
                        "notification {} was taken by another delivery",
                        key.template
                    )));
                }
                tracing::warn!(template = %key.template, attempts = taken.attempts, "sending a notification an earlier delivery left pending");
                Ok(Some(taken))
            }
        }
    }

    /// Why `notice` must not be sent, if it must not: its address is
    /// suppressed, or it is marketing-like and its customer said no.
    async fn withheld(
        &self,
        notice: &Notice,
    ) -> Result<Option<(NotificationStatus, String)>, ConsumeError> {
        let failed = |error: shopflow_ports::StoreError| ConsumeError::failed(&error);
        if let Some(suppression) = self.store.suppression(&notice.to).await.map_err(failed)? {
            return Ok(Some((
                NotificationStatus::Suppressed,
                format!(
                    "the address is suppressed after a {}",
                    suppression.reason.as_str()
                ),
            )));
        }
        if !notice.template.is_marketing() {
            return Ok(None);
        }
        let customers = match &notice.customer_id {
            Some(customer) => vec![customer.clone()],
            None => self
                .store
                .address_customers(&notice.to)
                .await
                .map_err(failed)?,
        };
        let mut refused = false;
        for customer in &customers {
            refused |= self
                .store
                .notification_preferences(customer)
                .await
                .map_err(failed)?
                .is_some_and(|preferences| !preferences.wants_back_in_stock());
        }
        Ok(refused.then(|| {
            (
                NotificationStatus::OptedOut,
                "the customer refused back-in-stock mail".to_owned(),
            )
        }))
    }

    async fn settle(&self, notification: &Notification) -> Result<(), ConsumeError> {
        let saved = self
            .store
            .save_notification(notification)
            .await
            .map_err(|error| ConsumeError::failed(&error))?;
        if !saved {
            tracing::warn!(template = %notification.key.template, status = notification.status.as_str(), "notification moved by another delivery meanwhile; left as it is");
        }
        Ok(())
    }
}

/// Tags the mail service reports back with a mail's feedback, from which
/// the delivery-status consumer finds its notification (the address comes
/// with the feedback).
fn feedback_tags(key: &NotificationKey, notice: &Notice) -> Vec<(String, String)> {
    let mut tags = vec![
        ("event".to_owned(), tag_value(&key.event_id)),
        ("template".to_owned(), key.template.as_str().to_owned()),
    ];
    if let Some(order) = notice.order_id {
        tags.push(("order".to_owned(), order.to_string()));
    }
    tags
}

/// A tag value keeps letters, digits, `_` and `-` only.
fn tag_value(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
