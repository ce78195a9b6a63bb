//! The webhook as Stripe calls it: real-shaped events (tests/events/*.json),
//! signed with the endpoint's secret at delivery time, each handled type
//! becoming one `payment.*` event in the outbox; redeliveries, forgeries and
//! unknown types changing nothing; Stripe asked about a payment only when the
//! event alone does not name the order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use shopflow_domain::PaymentOutcome;
use shopflow_domain::events::PaymentReported;
use shopflow_ports::{IntentRequest, PaymentGateway};
use shopflow_stripe::signature;
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::{Reply, SharedStore, json_request};
use stripe_webhook::App;

const SECRET: &str = "whsec_test_endpoint";
const ORDER: &str = "01JDSAMPXE0000000000000003";

struct Endpoint {
    store: SharedStore,
    stripe: MockGateway,
    app: App<SharedStore, MockGateway>,
}

impl Endpoint {
    fn new() -> Self {
        let store = SharedStore::default();
        let stripe = MockGateway::default();
        Self {
            app: App::new(store.clone(), stripe.clone(), SECRET),
            store,
            stripe,
        }
    }

    /// Posts `body` as Stripe does, signed now with `secret`.
    async fn deliver_signed(&self, body: &str, secret: &str) -> Reply {
        let header = signature::sign(
            body.as_bytes(),
            secret.as_bytes(),
            shopflow_lambda_kit::now().as_secs(),
        );
        let mut event = json_request(
            "POST",
            "/v1/webhooks/stripe",
            &[],
            Some(body.to_owned()),
            None,
        );
        event.headers.insert("stripe-signature".into(), header);
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    async fn deliver(&self, body: &str) -> Reply {
        self.deliver_signed(body, SECRET).await
    }

    fn reports(&self) -> Vec<PaymentReported> {
        shopflow_testkit::payment_reports(self.store.memory())
    }

    /// A payment the mock Stripe knows, made for the sample order.
    async fn known_payment(&self) -> String {
        let order = shopflow_testkit::unpaid_order(
            ORDER.parse().unwrap(),
            shopflow_testkit::ADA,
            vec![shopflow_testkit::order_line("TEE-RED", "BER", 2, 2_500)],
            shopflow_testkit::OPENING_DAY,
        );
        self.stripe
            .create_intent(&IntentRequest::for_order(&order))
            .await
            .unwrap()
            .id
    }
}

/// The sample event of `kind`, as Stripe sends it.
fn sample(kind: &str) -> Value {
    let path = format!("{}/tests/events/{kind}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_payment_event_type_becomes_one_payment_report() {
    let expected = [
        (
            "payment_intent.amount_capturable_updated",
            PaymentOutcome::Authorized,
            4495,
        ),
        ("payment_intent.succeeded", PaymentOutcome::Captured, 4495),
        (
            "payment_intent.payment_failed",
            PaymentOutcome::Failed,
            4495,
        ),
        ("payment_intent.canceled", PaymentOutcome::Voided, 0),
        (
            "checkout.session.expired",
            PaymentOutcome::CheckoutExpired,
            0,
        ),
    ];
    for (kind, outcome, amount) in expected {
        let endpoint = Endpoint::new();

        let reply = endpoint.deliver(&sample(kind).to_string()).await;

        assert_eq!(reply.status, 200, "{kind}: {}", reply.body);
        assert_eq!(reply.json()["duplicate"], false);
        let reports = endpoint.reports();
        assert_eq!(reports.len(), 1, "{kind}");
        assert_eq!(reports[0].outcome, outcome, "{kind}");
        assert_eq!(reports[0].facts.order_id.to_string(), ORDER);
        assert_eq!(reports[0].facts.amount_minor, amount, "{kind}");
        assert_eq!(reports[0].facts.currency, "EUR");
    }
}

#[tokio::test]
async fn a_decline_carries_its_decline_code() {
    let endpoint = Endpoint::new();
    endpoint
        .deliver(&sample("payment_intent.payment_failed").to_string())
        .await;
    assert_eq!(
        endpoint.reports()[0].facts.failure_code.as_deref(),
        Some("insufficient_funds")
    );
}

#[tokio::test]
async fn a_refunded_charge_finds_its_order_through_its_payment_at_stripe() {
    let endpoint = Endpoint::new();
    let payment = endpoint.known_payment().await;
    let mut event = sample("charge.refunded");
    event["data"]["object"]["payment_intent"] = payment.clone().into();

    let reply = endpoint.deliver(&event.to_string()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let report = &endpoint.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Refunded);
    assert_eq!(report.facts.order_id.to_string(), ORDER);
    assert_eq!(report.facts.payment_id, payment);
    assert_eq!(
        (report.facts.amount_minor, report.facts.fully_refunded),
        (1000, Some(false))
    );
}

#[tokio::test]
async fn a_completed_page_is_an_authorization_when_its_payment_is_held() {
    let endpoint = Endpoint::new();
    let payment = endpoint.known_payment().await;
    endpoint
        .stripe
        .confirm(&payment, shopflow_stripe_mock::TestCard::Visa)
        .unwrap();
    let mut event = sample("checkout.session.completed");
    event["data"]["object"]["payment_intent"] = payment.clone().into();

    endpoint.deliver(&event.to_string()).await;

    let report = &endpoint.reports()[0];
    assert_eq!(report.outcome, PaymentOutcome::Authorized);
    assert_eq!(report.facts.payment_id, payment);
    assert_eq!(
        report.facts.checkout_session_id.as_deref(),
        Some("cs_test_a1SampleSession")
    );
}

#[tokio::test]
async fn when_stripe_cannot_be_asked_the_event_is_refused_for_redelivery() {
    let endpoint = Endpoint::new();
    let payment = endpoint.known_payment().await;
    let mut event = sample("charge.refunded");
    event["data"]["object"]["payment_intent"] = payment.into();
    endpoint.stripe.set_unavailable(true);

    let refused = endpoint.deliver(&event.to_string()).await;

    refused.problem(503, "payment_provider_unavailable");
    assert!(endpoint.reports().is_empty());
    endpoint.stripe.set_unavailable(false);
    let redelivered = endpoint.deliver(&event.to_string()).await;
    assert_eq!(
        redelivered.json()["duplicate"],
        false,
        "nothing was recorded the first time"
    );
    assert_eq!(endpoint.reports().len(), 1);
}

#[tokio::test]
async fn a_refunded_charge_of_a_payment_stripe_does_not_know_is_ignored() {
    let endpoint = Endpoint::new();
    let reply = endpoint
        .deliver(&sample("charge.refunded").to_string())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(endpoint.reports().is_empty());
}

#[tokio::test]
async fn a_redelivery_is_a_duplicate_and_records_nothing_more() {
    let endpoint = Endpoint::new();
    let body = sample("payment_intent.succeeded").to_string();

    let first = endpoint.deliver(&body).await;
    let again = endpoint.deliver(&body).await;

    assert_eq!(first.json()["duplicate"], false);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(endpoint.reports().len(), 1);
}

#[tokio::test]
async fn a_forged_or_tampered_event_is_refused_and_changes_nothing() {
    let endpoint = Endpoint::new();
    let body = sample("payment_intent.succeeded").to_string();

    let forged = endpoint.deliver_signed(&body, "whsec_someone_else").await;
    forged.problem(400, "invalid_signature");
    let header = signature::sign(
        body.as_bytes(),
        SECRET.as_bytes(),
        shopflow_lambda_kit::now().as_secs(),
    );
    let tampered = body.replace("4495", "1");
    let mut event = json_request("POST", "/v1/webhooks/stripe", &[], Some(tampered), None);
    event.headers.insert("stripe-signature".into(), header);
    let reply = shopflow_testkit::call(|request| endpoint.app.handle(request), event).await;
    reply.problem(400, "invalid_signature");

    assert!(endpoint.reports().is_empty());
    // Stripe's genuine delivery of the same event is still taken.
    assert_eq!(endpoint.deliver(&body).await.json()["duplicate"], false);
}

#[tokio::test]
async fn event_types_shopflow_does_not_act_on_are_acknowledged_and_ignored() {
    let endpoint = Endpoint::new();
    let reply = endpoint
        .deliver(&sample("customer.created").to_string())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["received"], true);
    assert!(endpoint.store.memory().outbox().is_empty());
}

#[tokio::test]
async fn an_event_larger_than_an_api_body_is_taken_and_one_past_a_megabyte_is_not() {
    let endpoint = Endpoint::new();
    let mut event = sample("payment_intent.succeeded");
    // Stripe's objects grow with their contents: 200 KB of metadata here.
    event["data"]["object"]["metadata"]["notes"] = Value::String("x".repeat(200 * 1024));

    let large = endpoint.deliver(&event.to_string()).await;
    event["data"]["object"]["metadata"]["notes"] = Value::String("x".repeat(1024 * 1024));
    let too_large = endpoint.deliver(&event.to_string()).await;

    assert_eq!(large.status, 200, "{}", large.body);
    assert_eq!(endpoint.reports().len(), 1);
    too_large.problem(413, "payload_too_large");
}
