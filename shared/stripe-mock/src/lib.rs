//! A payment provider that behaves like Stripe, for running without keys:
//! the same payment states and refusals, idempotency keys honoured, Stripe's
//! minimum amount, and the same webhook events, signed with the local
//! secret and posted to the webhook endpoint (retried like Stripe retries).
//!
//! Its state lives in this process: in the local stack every function shares
//! one mock, so a payment created at checkout can be confirmed, captured and
//! refunded later. The customer's side (confirming with a test card,
//! completing a hosted page) is [`MockGateway::confirm`] and
//! [`MockGateway::complete_checkout_session`], which the local stack serves.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use shopflow_domain::{OrderId, Timestamp};
use shopflow_ports::{
    CheckoutSession, CheckoutSessionRequest, GatewayError, Intent, IntentRequest, IntentStatus,
    PaymentGateway, ProviderRefund, RefundRequest,
};
use shopflow_stripe::signature;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use ulid::Ulid;

/// Stripe's smallest charge in most currencies (0.50).
const MINIMUM_AMOUNT: i64 = 50;

/// The test cards the mock knows, as Stripe's test payment methods name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    /// Authorizes (`pm_card_visa`, 4242 4242 4242 4242).
    Visa,
    /// Declined (`pm_card_chargeDeclined`, 4000 0000 0000 0002).
    Declined,
    /// Declined for lack of funds (`pm_card_chargeDeclinedInsufficientFunds`, 4000 0000 0000 9995).
    InsufficientFunds,
}

impl TestCard {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pm_card_visa" | "4242424242424242" => Some(Self::Visa),
            "pm_card_chargeDeclined" | "4000000000000002" => Some(Self::Declined),
            "pm_card_chargeDeclinedInsufficientFunds" | "4000000000009995" => {
                Some(Self::InsufficientFunds)
            }
            _ => None,
        }
    }

    fn decline_code(self) -> Option<&'static str> {
        match self {
            Self::Visa => None,
            Self::Declined => Some("card_declined"),
            Self::InsufficientFunds => Some("insufficient_funds"),
        }
    }
}

#[derive(Debug, Clone)]
struct MockIntent {
    id: String,
    status: IntentStatus,
    amount: i64,
    received: i64,
    refunded: i64,
    currency: String,
    order_id: String,
    client_secret: String,
    charge: String,
    decline: Option<&'static str>,
}

impl MockIntent {
    fn to_intent(&self) -> Intent {
        Intent {
            id: self.id.clone(),
            status: self.status,
            client_secret: Some(self.client_secret.clone()),
            amount_minor: self.amount,
            amount_received_minor: self.received,
            order_id: self.order_id.parse::<OrderId>().ok(),
        }
    }

    /// The PaymentIntent as Stripe renders it in events.
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": if self.status == IntentStatus::RequiresCapture { self.amount } else { 0 },
            "amount_received": self.received,
            "capture_method": "manual",
            "currency": self.currency,
            "status": self.status.as_str(),
            "latest_charge": self.charge,
            "metadata": { "order_id": self.order_id },
            "last_payment_error": self.decline.map(|code| json!({ "code": code, "message": "Your card was declined." })),
        })
    }

    /// The intent's charge as Stripe renders it: without the intent's metadata.
    fn charge_json(&self) -> Value {
        json!({
            "id": self.charge,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.received,
            "amount_refunded": self.refunded,
            "refunded": self.received > 0 && self.refunded >= self.received,
            "currency": self.currency,
            "payment_intent": self.id,
            "metadata": {},
        })
    }
}

#[derive(Debug, Clone)]
struct MockSession {
    id: String,
    url: String,
    expires_at: Timestamp,
    order_id: String,
    amount: i64,
    currency: String,
    /// `open`, `complete` or `expired`.
    status: &'static str,
    intent: Option<String>,
}

impl MockSession {
    fn json(&self, payment_status: &str) -> Value {
        json!({
            "id": self.id,
            "object": "checkout.session",
            "status": self.status,
            "payment_status": payment_status,
            "payment_intent": self.intent,
            "amount_total": self.amount,
            "currency": self.currency,
            "client_reference_id": self.order_id,
            "metadata": { "order_id": self.order_id },
            "url": self.url,
            "expires_at": self.expires_at.as_secs(),
        })
    }
}

#[derive(Debug, Default)]
struct State {
    intents: HashMap<String, MockIntent>,
    sessions: HashMap<String, MockSession>,
    /// What each idempotency key was first used for and answered, errors
    /// included, so a retry gets the same answer, as from Stripe.
    answers: HashMap<String, KeyUse>,
    /// Every event the mock emitted, oldest first.
    events: Vec<Value>,
    /// Every call made to the gateway, by name, oldest first.
    calls: Vec<&'static str>,
    unavailable: bool,
}

/// A request made under an idempotency key, and its answer. Stripe saves
/// the answer (success or refusal) of the first request under a key and
/// replays it; the same key on another endpoint or with other parameters
/// is `400 idempotency_error`.
#[derive(Debug, Clone)]
struct KeyUse {
    /// Method, path and parameters: what the key stands for.
    request: String,
    answer: Result<Answer, GatewayError>,
}

/// A saved answer, as the response body was when first given.
#[derive(Debug, Clone)]
enum Answer {
    Intent(Intent),
    Session(CheckoutSession),
    Refund(ProviderRefund),
}

fn idempotency_error(key: &str) -> GatewayError {
    rejected(
        400,
        "idempotency_error",
        &format!(
            "Keys for idempotent requests can only be used with the same endpoint and parameters they were first used with ({key})"
        ),
    )
}

fn unexpected_answer() -> GatewayError {
    GatewayError::Unavailable("mock: a saved answer of another kind".into())
}

impl Answer {
    fn into_intent(self) -> Result<Intent, GatewayError> {
        match self {
            Self::Intent(intent) => Ok(intent),
            _ => Err(unexpected_answer()),
        }
    }

    fn into_refund(self) -> Result<ProviderRefund, GatewayError> {
        match self {
            Self::Refund(refund) => Ok(refund),
            _ => Err(unexpected_answer()),
        }
    }

    fn into_session(self) -> Result<CheckoutSession, GatewayError> {
        match self {
            Self::Session(session) => Ok(session),
            _ => Err(unexpected_answer()),
        }
    }
}

/// Where the mock posts its webhook events.
#[derive(Debug, Clone)]
struct WebhookSink {
    url: String,
    secret: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// A Stripe stand-in. Clones share one state.
#[derive(Debug, Clone)]
pub struct MockGateway {
    state: Arc<Mutex<State>>,
    sink: Option<WebhookSink>,
    /// Where hosted checkout pages are served: `<base>/<session id>`.
    checkout_page_base: String,
}

impl Default for MockGateway {
    fn default() -> Self {
        Self::new("http://127.0.0.1/_mock/stripe/checkout")
    }
}

impl MockGateway {
    /// A mock that keeps its events to itself (see [`MockGateway::events`]).
    pub fn new(checkout_page_base: impl Into<String>) -> Self {
        Self {
            state: Arc::default(),
            sink: None,
            checkout_page_base: checkout_page_base.into(),
        }
    }

    /// A mock that also posts every event, signed with `secret`, to `url`.
    pub fn posting_webhooks(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.sink = Some(WebhookSink {
            url: url.into(),
            secret: secret.into(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        });
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// While `true`, every call fails as if Stripe could not be reached.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.state().unavailable = unavailable;
    }

    /// Every event emitted so far, oldest first, as Stripe would send it.
    pub fn events(&self) -> Vec<Value> {
        self.state().events.clone()
    }

    /// Every gateway call made so far, by name, oldest first.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// The status of a payment the mock holds.
    pub fn intent_status(&self, intent_id: &str) -> Option<IntentStatus> {
        self.state()
            .intents
            .get(intent_id)
            .map(|intent| intent.status)
    }

    /// Starts a call: refuses it during an outage, and counts it otherwise.
    fn begin(&self, call: &'static str) -> Result<MutexGuard<'_, State>, GatewayError> {
        let mut state = self.state();
        if state.unavailable {
            return Err(GatewayError::Unavailable(
                "mock outage: Stripe is unreachable".into(),
            ));
        }
        state.calls.push(call);
        Ok(state)
    }

    /// The customer confirms the payment with a test card: Stripe authorizes
    /// it (`payment_intent.amount_capturable_updated`) or declines it
    /// (`payment_intent.payment_failed`, and the payment can be retried).
    pub fn confirm(&self, intent_id: &str, card: TestCard) -> Result<Intent, GatewayError> {
        let mut state = self.begin("confirm")?;
        let intent = state
            .intents
            .get_mut(intent_id)
            .ok_or_else(|| no_such("payment_intent", intent_id))?;
        if !intent.status.is_open() {
            return Err(unexpected_state(intent));
        }
        intent.decline = card.decline_code();
        let kind = match card.decline_code() {
            None => {
                intent.status = IntentStatus::RequiresCapture;
                "payment_intent.amount_capturable_updated"
            }
            Some(_) => {
                intent.status = IntentStatus::RequiresPaymentMethod;
                "payment_intent.payment_failed"
            }
        };
        let (event, answer) = (intent.json(), intent.to_intent());
        self.emit(&mut state, kind, event);
        Ok(answer)
    }

    /// The customer pays on a hosted checkout page with a test card.
    pub fn complete_checkout_session(
        &self,
        session_id: &str,
        card: TestCard,
    ) -> Result<(), GatewayError> {
        let mut state = self.begin("complete_checkout_session")?;
        let session = state
            .sessions
            .get(session_id)
            .cloned()
            .ok_or_else(|| no_such("checkout.session", session_id))?;
        if session.status != "open" {
            return Err(rejected(
                400,
                "checkout_session_not_open",
                &format!("the session is {}", session.status),
            ));
        }
        let mut intent = new_intent(session.amount, &session.currency, &session.order_id);
        intent.decline = card.decline_code();
        if card.decline_code().is_some() {
            // Hosted pages let the customer try another card: the page stays open.
            let event = intent.json();
            state.intents.insert(intent.id.clone(), intent);
            self.emit(&mut state, "payment_intent.payment_failed", event);
            return Ok(());
        }
        intent.status = IntentStatus::RequiresCapture;
        let completed = MockSession {
            status: "complete",
            intent: Some(intent.id.clone()),
            ..session
        };
        state
            .sessions
            .insert(completed.id.clone(), completed.clone());
        let authorized = intent.json();
        state.intents.insert(intent.id.clone(), intent);
        self.emit(
            &mut state,
            "checkout.session.completed",
            completed.json("unpaid"),
        );
        self.emit(
            &mut state,
            "payment_intent.amount_capturable_updated",
            authorized,
        );
        Ok(())
    }

    /// Records the event and, with a sink, posts it the way Stripe does:
    /// shortly after, signed, retried until the endpoint answers 2xx.
    fn emit(&self, state: &mut State, kind: &str, object: Value) {
        let created = now().as_secs();
        let event = json!({
            "id": format!("evt_mock_{}", Ulid::generate()),
            "object": "event",
            "type": kind,
            "created": created,
            "livemode": false,
            "api_version": shopflow_stripe::client::API_VERSION,
            "data": { "object": object },
        });
        state.events.push(event.clone());
        let Some(sink) = self.sink.clone() else {
            return;
        };
        tokio::spawn(async move { sink.deliver(event).await });
    }
}

impl WebhookSink {
    async fn deliver(&self, event: Value) {
        let payload = event.to_string();
        for attempt in 0..6u32 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            let header =
                signature::sign(payload.as_bytes(), self.secret.as_bytes(), now().as_secs());
            let request = hyper::Request::post(&self.url)
                .header("content-type", "application/json")
                .header("stripe-signature", header)
                .body(Full::new(Bytes::from(payload.clone())));
            let Ok(request) = request else {
                return;
            };
            match self.http.request(request).await {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => {
                    tracing::warn!(status = %response.status(), attempt, "mock webhook refused; retrying");
                }
                Err(error) => tracing::warn!(%error, attempt, "mock webhook undelivered; retrying"),
            }
        }
        tracing::error!(event = %event["id"], "mock webhook given up after 6 attempts");
    }
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    Timestamp::from_millis(millis)
}

fn rejected(status: u16, code: &str, message: &str) -> GatewayError {
    GatewayError::Rejected {
        status,
        code: Some(code.to_owned()),
        message: message.to_owned(),
    }
}

fn no_such(kind: &str, id: &str) -> GatewayError {
    rejected(404, "resource_missing", &format!("No such {kind}: '{id}'"))
}

fn unexpected_state(intent: &MockIntent) -> GatewayError {
    rejected(
        400,
        "payment_intent_unexpected_state",
        &format!(
            "This PaymentIntent's status is {}, which does not allow it",
            intent.status.as_str()
        ),
    )
}

fn new_intent(amount: i64, currency: &str, order_id: &str) -> MockIntent {
    let id = format!("pi_mock_{}", Ulid::generate());
    MockIntent {
        client_secret: format!("{id}_secret_{}", Ulid::generate()),
        charge: format!("ch_mock_{}", Ulid::generate()),
        id,
        status: IntentStatus::RequiresPaymentMethod,
        amount,
        received: 0,
        refunded: 0,
        currency: currency.to_lowercase(),
        order_id: order_id.to_owned(),
        decline: None,
    }
}

impl MockGateway {
    fn intent_mut<'a>(
        state: &'a mut State,
        intent_id: &str,
    ) -> Result<&'a mut MockIntent, GatewayError> {
        state
            .intents
            .get_mut(intent_id)
            .ok_or_else(|| no_such("payment_intent", intent_id))
    }

    /// Intent `intent_id` as it now is, announced to the webhook as `kind`.
    fn announce_intent(
        &self,
        state: &mut State,
        intent_id: &str,
        kind: &str,
    ) -> Result<Intent, GatewayError> {
        let intent = Self::intent_mut(state, intent_id)?;
        let (event, answer) = (intent.json(), intent.to_intent());
        self.emit(state, kind, event);
        Ok(answer)
    }

    /// `request` made under `key`, as Stripe makes it: the answer saved for
    /// the key when it was used before for the same request, an
    /// `idempotency_error` when it was used for another, otherwise `run`'s
    /// answer, saved for the key.
    fn keyed(
        state: &mut State,
        key: &str,
        request: String,
        run: impl FnOnce(&mut State) -> Result<Answer, GatewayError>,
    ) -> Result<Answer, GatewayError> {
        if let Some(used) = state.answers.get(key) {
            return if used.request == request {
                used.answer.clone()
            } else {
                Err(idempotency_error(key))
            };
        }
        let answer = run(state);
        state.answers.insert(
            key.to_owned(),
            KeyUse {
                request,
                answer: answer.clone(),
            },
        );
        answer
    }
}

#[async_trait]
impl PaymentGateway for MockGateway {
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError> {
        let mut state = self.begin("create_intent")?;
        let call = format!(
            "POST /v1/payment_intents amount={} currency={} order_id={}",
            request.amount_minor,
            request.currency.as_str(),
            request.order_id
        );
        Self::keyed(&mut state, &request.idempotency_key, call, |state| {
            if request.amount_minor < MINIMUM_AMOUNT {
                return Err(rejected(
                    400,
                    "amount_too_small",
                    "Amount must be at least 50 cents",
                ));
            }
            let intent = new_intent(
                request.amount_minor,
                request.currency.as_str(),
                &request.order_id.to_string(),
            );
            let intent_id = intent.id.clone();
            state.intents.insert(intent_id.clone(), intent);
            self.announce_intent(state, &intent_id, "payment_intent.created")
                .map(Answer::Intent)
        })?
        .into_intent()
    }

    async fn intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        let mut state = self.begin("intent")?;
        Ok(Self::intent_mut(&mut state, intent_id)?.to_intent())
    }

    async fn capture(
        &self,
        intent_id: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<Intent, GatewayError> {
        let mut state = self.begin("capture")?;
        let call = format!(
            "POST /v1/payment_intents/{intent_id}/capture amount_to_capture={amount_minor}"
        );
        Self::keyed(&mut state, idempotency_key, call, |state| {
            let intent = Self::intent_mut(state, intent_id)?;
            if intent.status != IntentStatus::RequiresCapture {
                return Err(unexpected_state(intent));
            }
            if amount_minor < 1 || amount_minor > intent.amount {
                return Err(rejected(
                    400,
                    "amount_too_large",
                    "amount_to_capture exceeds the authorized amount",
                ));
            }
            intent.status = IntentStatus::Succeeded;
            intent.received = amount_minor;
            self.announce_intent(state, intent_id, "payment_intent.succeeded")
                .map(Answer::Intent)
        })?
        .into_intent()
    }

    async fn cancel(&self, intent_id: &str, idempotency_key: &str) -> Result<Intent, GatewayError> {
        let mut state = self.begin("cancel")?;
        let call = format!("POST /v1/payment_intents/{intent_id}/cancel");
        Self::keyed(&mut state, idempotency_key, call, |state| {
            let intent = Self::intent_mut(state, intent_id)?;
            if !(intent.status.is_open() || intent.status == IntentStatus::RequiresCapture) {
                return Err(unexpected_state(intent));
            }
            intent.status = IntentStatus::Canceled;
            self.announce_intent(state, intent_id, "payment_intent.canceled")
                .map(Answer::Intent)
        })?
        .into_intent()
    }

    async fn refund(&self, request: &RefundRequest) -> Result<ProviderRefund, GatewayError> {
        let mut state = self.begin("refund")?;
        let call = format!(
            "POST /v1/refunds payment_intent={} amount={:?} refund_id={}",
            request.intent_id, request.amount_minor, request.refund_id
        );
        Self::keyed(&mut state, &request.refund_id, call, |state| {
            let intent = Self::intent_mut(state, &request.intent_id)?;
            if intent.status != IntentStatus::Succeeded {
                return Err(rejected(
                    400,
                    "charge_not_captured",
                    "This payment has not been captured: there is nothing to refund",
                ));
            }
            let left = intent.received - intent.refunded;
            if left == 0 {
                return Err(rejected(
                    400,
                    "charge_already_refunded",
                    "Charge has already been refunded",
                ));
            }
            let amount = request.amount_minor.unwrap_or(left);
            if amount < 1 || amount > left {
                return Err(rejected(
                    400,
                    "amount_too_large",
                    "Refund amount is greater than the unrefunded amount on the charge",
                ));
            }
            intent.refunded += amount;
            let refund = ProviderRefund {
                id: format!("re_mock_{}", Ulid::generate()),
                status: "succeeded".into(),
                amount_minor: amount,
                refunded_in_total_minor: intent.refunded,
                fully_refunded: intent.refunded >= intent.received,
            };
            let charge = intent.charge_json();
            self.emit(state, "charge.refunded", charge);
            Ok(Answer::Refund(refund))
        })?
        .into_refund()
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let mut state = self.begin("create_checkout_session")?;
        let call = format!(
            "POST /v1/checkout/sessions amount={} currency={} order_id={} expires_at={}",
            request.amount_minor,
            request.currency.as_str(),
            request.order_id,
            request.expires_at.as_secs()
        );
        Self::keyed(&mut state, &request.idempotency_key, call, |state| {
            if request.amount_minor < MINIMUM_AMOUNT {
                return Err(rejected(
                    400,
                    "amount_too_small",
                    "Amount must be at least 50 cents",
                ));
            }
            let id = format!("cs_mock_{}", Ulid::generate());
            let session = MockSession {
                url: format!("{}/{id}", self.checkout_page_base.trim_end_matches('/')),
                id: id.clone(),
                expires_at: request.expires_at,
                order_id: request.order_id.to_string(),
                amount: request.amount_minor,
                currency: request.currency.as_str().to_lowercase(),
                status: "open",
                intent: None,
            };
            let answer = CheckoutSession {
                id: session.id.clone(),
                url: session.url.clone(),
                expires_at: session.expires_at,
            };
            state.sessions.insert(id, session);
            Ok(Answer::Session(answer))
        })?
        .into_session()
    }

    async fn expire_checkout_session(&self, session_id: &str) -> Result<(), GatewayError> {
        let mut state = self.begin("expire_checkout_session")?;
        let session = state
            .sessions
            .get_mut(session_id)
            .ok_or_else(|| no_such("checkout.session", session_id))?;
        if session.status != "open" {
            return Err(rejected(
                400,
                "checkout_session_not_open",
                &format!("the session is {}", session.status),
            ));
        }
        session.status = "expired";
        let event = session.json("unpaid");
        self.emit(&mut state, "checkout.session.expired", event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopflow_domain::{Currency, CustomerId};

    fn request(amount: i64, key: &str) -> IntentRequest {
        IntentRequest {
            order_id: OrderId::from_ulid(Ulid::generate()),
            customer_id: CustomerId::parse("ada").unwrap(),
            amount_minor: amount,
            currency: Currency::parse("EUR").unwrap(),
            idempotency_key: key.into(),
        }
    }

    fn event_types(mock: &MockGateway) -> Vec<String> {
        mock.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_retried_create_returns_the_same_payment() {
        let mock = MockGateway::default();
        let create = request(4495, "k1");
        let first = mock.create_intent(&create).await.unwrap();
        let again = mock.create_intent(&create).await.unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.status, IntentStatus::RequiresPaymentMethod);
        assert!(first.client_secret.unwrap().starts_with(&first.id));
    }

    #[tokio::test]
    async fn authorize_capture_refund_walks_stripes_states_and_events() {
        let mock = MockGateway::default();
        let order = request(4495, "k1");
        let intent = mock.create_intent(&order).await.unwrap();
        mock.confirm(&intent.id, TestCard::Visa).unwrap();
        assert_eq!(
            mock.intent_status(&intent.id),
            Some(IntentStatus::RequiresCapture)
        );
        let captured = mock.capture(&intent.id, 4495, "cap-1").await.unwrap();
        assert_eq!(captured.amount_received_minor, 4495);
        let refund = RefundRequest {
            intent_id: intent.id.clone(),
            amount_minor: Some(1000),
            order_id: order.order_id,
            refund_id: "rf_1".into(),
            reason: "damaged".into(),
        };
        let refunded = mock.refund(&refund).await.unwrap();
        assert_eq!(
            (refunded.refunded_in_total_minor, refunded.fully_refunded),
            (1000, false)
        );
        // The same refund id is one refund.
        assert_eq!(mock.refund(&refund).await.unwrap(), refunded);
        let too_much = RefundRequest {
            refund_id: "rf_2".into(),
            amount_minor: Some(3496),
            ..refund.clone()
        };
        assert_eq!(
            mock.refund(&too_much).await.unwrap_err().code(),
            Some("amount_too_large")
        );
        // Without an amount, the rest goes back; then nothing is left.
        let rest = RefundRequest {
            refund_id: "rf_3".into(),
            amount_minor: None,
            ..refund.clone()
        };
        let all = mock.refund(&rest).await.unwrap();
        assert_eq!((all.amount_minor, all.fully_refunded), (3495, true));
        let more = RefundRequest {
            refund_id: "rf_4".into(),
            ..rest
        };
        assert_eq!(
            mock.refund(&more).await.unwrap_err().code(),
            Some("charge_already_refunded")
        );
        assert_eq!(
            event_types(&mock),
            [
                "payment_intent.created",
                "payment_intent.amount_capturable_updated",
                "payment_intent.succeeded",
                "charge.refunded",
                "charge.refunded"
            ]
        );
    }

    #[tokio::test]
    async fn a_declined_card_fails_the_attempt_and_the_payment_stays_payable() {
        let mock = MockGateway::default();
        let intent = mock.create_intent(&request(4495, "k1")).await.unwrap();
        mock.confirm(&intent.id, TestCard::Declined).unwrap();
        let failed = &mock.events()[1];
        assert_eq!(failed["type"], "payment_intent.payment_failed");
        assert_eq!(
            failed["data"]["object"]["last_payment_error"]["code"],
            "card_declined"
        );
        mock.confirm(&intent.id, TestCard::Visa).unwrap();
        assert_eq!(
            mock.intent_status(&intent.id),
            Some(IntentStatus::RequiresCapture)
        );
    }

    #[tokio::test]
    async fn refusals_match_stripes() {
        let mock = MockGateway::default();
        assert_eq!(
            mock.create_intent(&request(30, "small"))
                .await
                .unwrap_err()
                .code(),
            Some("amount_too_small")
        );
        let intent = mock.create_intent(&request(4495, "k1")).await.unwrap();
        assert_eq!(
            mock.capture(&intent.id, 4495, "cap")
                .await
                .unwrap_err()
                .code(),
            Some("payment_intent_unexpected_state")
        );
        mock.cancel(&intent.id, "cancel").await.unwrap();
        assert_eq!(
            mock.confirm(&intent.id, TestCard::Visa).unwrap_err().code(),
            Some("payment_intent_unexpected_state")
        );
        assert_eq!(
            mock.intent("pi_unknown").await.unwrap_err().code(),
            Some("resource_missing")
        );
    }

    #[tokio::test]
    async fn a_reused_key_answers_as_stripe_does() {
        let mock = MockGateway::default();
        let intent = mock.create_intent(&request(4495, "k1")).await.unwrap();
        // A refusal is saved with its key and answered again, even once the
        // request would succeed.
        let refused = mock.capture(&intent.id, 4495, "cap").await.unwrap_err();
        mock.confirm(&intent.id, TestCard::Visa).unwrap();
        assert_eq!(
            mock.capture(&intent.id, 4495, "cap").await.unwrap_err(),
            refused
        );
        // The same key with other parameters, or on another endpoint.
        assert_eq!(
            mock.capture(&intent.id, 100, "cap")
                .await
                .unwrap_err()
                .code(),
            Some("idempotency_error")
        );
        assert_eq!(
            mock.cancel(&intent.id, "k1").await.unwrap_err().code(),
            Some("idempotency_error")
        );
        // A success is replayed as it was first answered.
        let captured = mock.capture(&intent.id, 4495, "cap-2").await.unwrap();
        assert_eq!(
            mock.capture(&intent.id, 4495, "cap-2").await.unwrap(),
            captured
        );
        let refund = RefundRequest {
            intent_id: intent.id.clone(),
            amount_minor: None,
            order_id: OrderId::from_ulid(Ulid::generate()),
            refund_id: "cap-2".into(),
            reason: "test".into(),
        };
        assert_eq!(
            mock.refund(&refund).await.unwrap_err().code(),
            Some("idempotency_error"),
            "a refund under a capture's key"
        );
    }

    #[tokio::test]
    async fn during_an_outage_nothing_is_done_or_counted() {
        let mock = MockGateway::default();
        mock.set_unavailable(true);
        assert!(matches!(
            mock.create_intent(&request(4495, "k1")).await,
            Err(GatewayError::Unavailable(_))
        ));
        assert!(mock.calls().is_empty());
        mock.set_unavailable(false);
        mock.create_intent(&request(4495, "k1")).await.unwrap();
        assert_eq!(mock.calls(), ["create_intent"]);
    }

    #[tokio::test]
    async fn a_hosted_page_completes_with_its_own_payment_or_expires() {
        let mock = MockGateway::new("http://127.0.0.1:3000/_mock/stripe/checkout");
        let order = OrderId::from_ulid(Ulid::generate());
        let session_request = CheckoutSessionRequest {
            order_id: order,
            amount_minor: 4495,
            currency: Currency::parse("EUR").unwrap(),
            email: shopflow_domain::Email::parse("ada@example.com").unwrap(),
            description: "Order".into(),
            success_url: "https://shop.example/ok".into(),
            cancel_url: "https://shop.example/cancel".into(),
            expires_at: Timestamp::from_millis(1_900_000_000_000),
            idempotency_key: "s1".into(),
        };
        let session = mock
            .create_checkout_session(&session_request)
            .await
            .unwrap();
        assert!(session.url.ends_with(&session.id));
        mock.complete_checkout_session(&session.id, TestCard::Visa)
            .unwrap();
        let events = mock.events();
        assert_eq!(events[0]["type"], "checkout.session.completed");
        assert_eq!(
            events[0]["data"]["object"]["metadata"]["order_id"],
            order.to_string()
        );
        let intent = events[0]["data"]["object"]["payment_intent"]
            .as_str()
            .unwrap();
        assert_eq!(events[1]["data"]["object"]["id"], intent);
        let other = mock
            .create_checkout_session(&CheckoutSessionRequest {
                idempotency_key: "s2".into(),
                ..session_request
            })
            .await
            .unwrap();
        mock.expire_checkout_session(&other.id).await.unwrap();
        assert_eq!(mock.events()[2]["type"], "checkout.session.expired");
    }
}
