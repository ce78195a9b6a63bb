//! The Stripe API over the HTTP and TLS stack the AWS SDK already links
//! (hyper, rustls): form-encoded POSTs, each with an idempotency key; a
//! timeout on every attempt; retries with jittered backoff on network
//! errors, timeouts, 409, 429 and 5xx only, or as Stripe's
//! `Stripe-Should-Retry` header says. See docs/decisions/0006.

use super::form::Form;
use super::wire::{self, ChargeWire, ErrorWire, IntentWire, ListWire, RefundWire, SessionWire};
use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use shopflow_ports::{
    CheckoutSession, CheckoutSessionRequest, GatewayError, Intent, IntentRequest, PaymentGateway,
    ProviderRefund, RefundRequest,
};
use std::sync::Arc;
use std::time::Duration;

/// Pages of a payment's refunds read at most when looking for one (100 per
/// page): every refund is at least one minor unit, so this covers payments
/// of up to 10,000 refunds.
const MAX_REFUND_PAGES: usize = 100;

/// The API version the request and response shapes here are written for.
pub const API_VERSION: &str = "2024-06-20";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How the client reaches Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeConfig {
    pub secret_key: String,
    /// `https://api.stripe.com`, or an emulator's address.
    pub api_base: String,
    /// How long one attempt may take, connection included.
    pub attempt_timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The pause before the second attempt; it doubles for each one after.
    pub first_backoff: Duration,
}

impl StripeConfig {
    pub const DEFAULT_API_BASE: &'static str = "https://api.stripe.com";

    /// Three attempts of at most 3 s each, 200 ms then 400 ms apart (plus
    /// jitter): at most about 9.7 s, inside a 15 s Lambda timeout.
    pub fn new(secret_key: impl Into<String>, api_base: impl Into<String>) -> Self {
        Self {
            secret_key: secret_key.into(),
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            attempt_timeout: Duration::from_secs(3),
            max_attempts: 3,
            first_backoff: Duration::from_millis(200),
        }
    }
}

type HttpClient = shopflow_https::HttpsClient<Full<Bytes>>;

/// A Stripe account, reached through one connection pool built at start-up.
#[derive(Clone)]
pub struct StripeClient {
    http: HttpClient,
    config: Arc<StripeConfig>,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("StripeClient")
            .field("api_base", &self.config.api_base)
            .finish_non_exhaustive()
    }
}

/// One HTTP exchange's result, before retry decisions.
struct Answer {
    status: u16,
    should_retry: Option<bool>,
    body: Bytes,
}

enum Method {
    Get,
    Post(Form, String),
}

impl StripeClient {
    /// The client, with the machine's trusted roots for TLS.
    pub fn new(config: StripeConfig) -> std::io::Result<Self> {
        Ok(Self {
            http: shopflow_https::client(CONNECT_TIMEOUT)?,
            config: Arc::new(config),
        })
    }

    /// The refund made for `refund_id` (its metadata names it) among all
    /// the payment's refunds, page by page.
    async fn refund_made(
        &self,
        intent_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundWire>, GatewayError> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_REFUND_PAGES {
            let mut path = format!("/v1/refunds?payment_intent={intent_id}&limit=100");
            if let Some(last) = &after {
                path.push_str(&format!("&starting_after={}", id_segment(last)?));
            }
            let page: ListWire<RefundWire> = self.get("refunds", &path).await?;
            let more = page.has_more;
            after = page.data.last().map(|refund| refund.id.clone());
            if let Some(found) = page.data.into_iter().find(|refund| {
                refund.metadata.get("refund_id").map(String::as_str) == Some(refund_id)
            }) {
                return Ok(Some(found));
            }
            if !more || after.is_none() {
                return Ok(None);
            }
        }
        Err(GatewayError::Unavailable(format!(
            "the payment has more than {MAX_REFUND_PAGES} pages of refunds"
        )))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<T, GatewayError> {
        let answer = self.call(path, Method::Get).await?;
        wire::parse(what, &answer.body)
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        form: Form,
        idempotency_key: &str,
    ) -> Result<T, GatewayError> {
        let answer = self
            .call(path, Method::Post(form, idempotency_key.to_owned()))
            .await?;
        wire::parse(what, &answer.body)
    }

    /// Sends the request until it succeeds, is refused, or runs out of attempts.
    async fn call(&self, path: &str, method: Method) -> Result<Answer, GatewayError> {
        let mut last = GatewayError::Unavailable("no attempt made".into());
        for attempt in 1..=self.config.max_attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            let outcome =
                tokio::time::timeout(self.config.attempt_timeout, self.send(path, &method)).await;
            let answer = match outcome {
                Err(_) => {
                    last = GatewayError::Unavailable(format!(
                        "no answer within {:?}",
                        self.config.attempt_timeout
                    ));
                    tracing::warn!(attempt, path, "Stripe timed out");
                    continue;
                }
                Ok(Err(error)) => {
                    tracing::warn!(attempt, path, %error, "Stripe unreachable");
                    last = GatewayError::Unavailable(error);
                    continue;
                }
                Ok(Ok(answer)) => answer,
            };
            if (200..300).contains(&answer.status) {
                return Ok(answer);
            }
            let error: ErrorWire = serde_json::from_slice(&answer.body).unwrap_or_default();
            let message = error
                .error
                .message
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            let retryable = answer
                .should_retry
                .unwrap_or(matches!(answer.status, 409 | 429 | 500..=599));
            if !retryable {
                return Err(GatewayError::Rejected {
                    status: answer.status,
                    code: error.error.code,
                    message,
                });
            }
            tracing::warn!(
                attempt,
                path,
                status = answer.status,
                "Stripe asked for a retry"
            );
            last = GatewayError::Unavailable(format!("HTTP {}: {message}", answer.status));
        }
        Err(last)
    }

    async fn send(&self, path: &str, method: &Method) -> Result<Answer, String> {
        let uri = format!("{}{path}", self.config.api_base);
        let builder = hyper::Request::builder()
            .uri(&uri)
            .header(
                "authorization",
                format!("Bearer {}", self.config.secret_key),
            )
            .header("stripe-version", API_VERSION);
        let request = match method {
            Method::Get => builder.method("GET").body(Full::new(Bytes::new())),
            Method::Post(form, key) => builder
                .method("POST")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", key)
                .body(Full::new(Bytes::from(form.encode()))),
        }
        .map_err(|e| e.to_string())?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let should_retry = response
            .headers()
            .get("stripe-should-retry")
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(|v| v == "true");
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            should_retry,
            body,
        })
    }

    /// Doubling from `first_backoff`, with up to as much again of jitter so
    /// retries from many functions spread out.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.first_backoff * 2u32.saturating_pow(attempt.saturating_sub(2));
        let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX).max(1);
        let jitter =
            u64::try_from(ulid::Ulid::generate().random() % u128::from(base_ms)).unwrap_or(0);
        Duration::from_millis(base_ms + jitter)
    }
}

/// A path segment taken from a provider id: only what Stripe ids contain.
fn id_segment(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError::Rejected {
            status: 400,
            code: Some("invalid_id".into()),
            message: format!("{id:?} is not a Stripe id"),
        })
    }
}

#[async_trait]
impl PaymentGateway for StripeClient {
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError> {
        let form = Form::new()
            .field("amount", request.amount_minor)
            .field("currency", request.currency.as_str().to_lowercase())
            .field("capture_method", "manual")
            .metadata([
                ("order_id", request.order_id.to_string()),
                ("customer_id", request.customer_id.to_string()),
            ]);
        let intent: IntentWire = self
            .post(
                "payment intent",
                "/v1/payment_intents",
                form,
                &request.idempotency_key,
            )
            .await?;
        intent.into_intent()
    }

    async fn intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        let path = format!("/v1/payment_intents/{}", id_segment(intent_id)?);
        let intent: IntentWire = self.get("payment intent", &path).await?;
        intent.into_intent()
    }

    async fn capture(
        &self,
        intent_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<Intent, GatewayError> {
        let path = format!("/v1/payment_intents/{}/capture", id_segment(intent_id)?);
        let form = Form::new().field("amount_to_capture", amount_minor);
        let intent: IntentWire = self
            .post("payment intent", &path, form, idempotency_key)
            .await?;
        intent.into_intent()
    }

    async fn cancel(&self, intent_id: &str, idempotency_key: &str) -> Result<Intent, GatewayError> {
        let path = format!("/v1/payment_intents/{}/cancel", id_segment(intent_id)?);
        let intent: IntentWire = self
            .post("payment intent", &path, Form::new(), idempotency_key)
            .await?;
        intent.into_intent()
    }

    async fn refund(&self, request: &RefundRequest) -> Result<ProviderRefund, GatewayError> {
        let intent_id = id_segment(&request.intent_id)?;
        // Stripe keeps idempotency keys 24 hours; a retry after that would
        // refund again. The payment's refunds say whether this one was made.
        let refund = match self.refund_made(intent_id, &request.refund_id).await? {
            Some(refund) => refund,
            None => {
                let mut form = Form::new().field("payment_intent", intent_id);
                if let Some(amount) = request.amount_minor {
                    form = form.field("amount", amount);
                }
                let form = form.metadata([
                    ("order_id", request.order_id.to_string()),
                    ("refund_id", request.refund_id.clone()),
                    ("reason", request.reason.clone()),
                ]);
                self.post("refund", "/v1/refunds", form, &request.refund_id)
                    .await?
            }
        };
        // The refund says what it gave back; the charge says how much has
        // gone back in all, which is what the order records.
        let path = format!("/v1/charges/{}", id_segment(&refund.charge)?);
        let charge: ChargeWire = self.get("charge", &path).await?;
        Ok(refund.into_refund(charge))
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let order_id = request.order_id.to_string();
        let form = Form::new()
            .field("mode", "payment")
            .field("client_reference_id", &order_id)
            .field("customer_email", request.email.as_str())
            .field("success_url", &request.success_url)
            .field("cancel_url", &request.cancel_url)
            .field("expires_at", request.expires_at.as_secs())
            .field("line_items[0][quantity]", 1)
            .field(
                "line_items[0][price_data][currency]",
                request.currency.as_str().to_lowercase(),
            )
            .field(
                "line_items[0][price_data][unit_amount]",
                request.amount_minor,
            )
            .field(
                "line_items[0][price_data][product_data][name]",
                &request.description,
            )
            .field("payment_intent_data[capture_method]", "manual")
            .field("payment_intent_data[metadata][order_id]", &order_id)
            .metadata([("order_id", order_id.clone())]);
        let session: SessionWire = self
            .post(
                "checkout session",
                "/v1/checkout/sessions",
                form,
                &request.idempotency_key,
            )
            .await?;
        session.into_session()
    }

    async fn expire_checkout_session(&self, session_id: &str) -> Result<(), GatewayError> {
        let path = format!("/v1/checkout/sessions/{}/expire", id_segment(session_id)?);
        let _: SessionWire = self
            .post(
                "checkout session",
                &path,
                Form::new(),
                &format!("expire-{session_id}"),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_pause_with_at_most_as_much_jitter() {
        let client = StripeClient::new(StripeConfig::new("sk_test", "http://127.0.0.1:1")).unwrap();
        for _ in 0..50 {
            let second = client.backoff(2);
            let third = client.backoff(3);
            assert!(second >= Duration::from_millis(200) && second < Duration::from_millis(400));
            assert!(third >= Duration::from_millis(400) && third < Duration::from_millis(800));
        }
    }

    #[test]
    fn only_stripe_shaped_ids_go_into_a_path() {
        assert!(id_segment("pi_3Mtw_abc123").is_ok());
        for bad in ["", "../charges", "pi_1?expand=x", "pi 1"] {
            assert!(id_segment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_debug_form_never_shows_the_key() {
        let client = StripeClient::new(StripeConfig::new(
            "sk_live_secret",
            "https://api.stripe.com",
        ))
        .unwrap();
        assert!(!format!("{client:?}").contains("sk_live_secret"));
    }
}
