//! The SES v2 adapter: sends one mail from the shop's sender address
//! through its configuration set (whose event destination reports
//! deliveries, bounces and complaints back), tagged so that feedback finds
//! its notification. Throttling is backed off in the client (3 tries,
//! 0.2 s then 0.4 s apart with jitter, never more than 2 s), then handed
//! back as `Throttled` for the queue to retry minutes later: a throttled
//! SES never holds a Lambda near its timeout. (The SDK's adaptive mode,
//! tried first, held one send 40 s against a throttling stand-in.)
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use shopflow_ports::{Mail, MailError, Mailer};
use std::time::Duration;

/// Tries of one send inside the client, throttled ones included.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry's backoff, doubled for each next one.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// No retry waits longer.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    /// `Shop <no-reply@shop.example>`: an address of a verified identity.
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: String, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from,
            configuration_set,
        }
    }

    /// From an SDK configuration, with short, bounded retries.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        from: String,
        configuration_set: Option<String>,
    ) -> Self {
        let client_config = aws_sdk_sesv2::config::Builder::from(config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .build();
        Self::new(Client::from_conf(client_config), from, configuration_set)
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|error| MailError::Rejected(error.to_string()))
}

fn content(mail: &Mail) -> Result<EmailContent, MailError> {
    let message = Message::builder()
        .subject(utf8(&mail.subject)?)
        .body(
            Body::builder()
                .html(utf8(&mail.html)?)
                .text(utf8(&mail.text)?)
                .build(),
        )
        .build();
    Ok(EmailContent::builder().simple(message).build())
}

fn tags(mail: &Mail) -> Result<Vec<MessageTag>, MailError> {
    mail.tags
        .iter()
        .map(|(name, value)| {
            MessageTag::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|error| MailError::Rejected(error.to_string()))
        })
        .collect()
}

/// What a failed send means for the mail: only a refusal of this mail is
/// final; throttling, outages and the stack's own misconfiguration are
/// tried again. A timeout or a 5xx after SES received the request may
/// still have sent it: the retry can send it twice.
fn mail_error(error: SdkError<SendEmailError>) -> MailError {
    let detail = match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or_default()),
        None => aws_sdk_sesv2::error::DisplayErrorContext(&error).to_string(),
    };
    match error.as_service_error() {
        Some(
            SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_),
        ) => MailError::Throttled(detail),
        // Refused for this mail alone.
        Some(SendEmailError::MessageRejected(_) | SendEmailError::BadRequestException(_)) => {
            MailError::Rejected(detail)
        }
        // A missing configuration set or an unverified sender is the
        // stack's configuration, not the mail: retried, then in the
        // alarmed dead-letter queue, until it is fixed.
        _ => MailError::Unavailable(detail),
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(content(mail)?)
            .set_email_tags(Some(tags(mail)?))
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(mail_error)?;
        // SES took it either way: an answer without an id is still sent.
        Ok(sent.message_id.unwrap_or_else(|| "unknown".to_owned()))
    }
}
