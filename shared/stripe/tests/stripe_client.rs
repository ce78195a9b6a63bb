//! The Stripe client against a scripted HTTP server: what it sends (form
//! fields, idempotency key, API version, key), and how it retries: network
//! trouble, 409, 429 and 5xx are tried again with the same key; 4xx is not;
//! a slow answer is a timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shopflow_domain::{Currency, CustomerId, OrderId};
use shopflow_ports::{GatewayError, IntentRequest, IntentStatus, PaymentGateway, RefundRequest};
use shopflow_stripe::form::Form;
use shopflow_stripe::{StripeClient, StripeConfig};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// One scripted answer: status, body, and how long to wait before it.
#[derive(Clone)]
struct Scripted {
    status: u16,
    body: String,
    delay: Duration,
    should_retry: Option<&'static str>,
}

fn answer(status: u16, body: serde_json::Value) -> Scripted {
    Scripted {
        status,
        body: body.to_string(),
        delay: Duration::ZERO,
        should_retry: None,
    }
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: http::HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct FakeStripe {
    script: Arc<Mutex<VecDeque<Scripted>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeStripe {
    /// Serves the script on a free port; answers 500 once it runs out.
    async fn start(script: Vec<Scripted>) -> (Self, String) {
        let fake = Self {
            script: Arc::new(Mutex::new(script.into())),
            ..Self::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = fake.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let server = server.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let server = server.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body.collect().await.unwrap().to_bytes();
                                server.seen.lock().unwrap().push(Seen {
                                    method: parts.method.to_string(),
                                    path: parts.uri.path().to_owned(),
                                    query: parts.uri.query().unwrap_or_default().to_owned(),
                                    headers: parts.headers,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                });
                                let next = server.script.lock().unwrap().pop_front();
                                let next =
                                    next.unwrap_or_else(|| answer(500, serde_json::json!({})));
                                tokio::time::sleep(next.delay).await;
                                let mut response =
                                    hyper::Response::new(Full::new(Bytes::from(next.body)));
                                *response.status_mut() =
                                    hyper::StatusCode::from_u16(next.status).unwrap();
                                if let Some(value) = next.should_retry {
                                    response
                                        .headers_mut()
                                        .insert("stripe-should-retry", value.parse().unwrap());
                                }
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (fake, base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A client of the fake whose attempts wait long enough for any answer the
/// fake gives in time, however busy the machine.
fn client(base: &str) -> StripeClient {
    client_waiting(base, Duration::from_secs(5))
}

fn client_waiting(base: &str, attempt_timeout: Duration) -> StripeClient {
    let mut config = StripeConfig::new("sk_test_fake", base);
    config.attempt_timeout = attempt_timeout;
    config.first_backoff = Duration::from_millis(5);
    StripeClient::new(config).unwrap()
}

fn intent_json(status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "pi_123", "object": "payment_intent", "status": status, "amount": 4495,
        "client_secret": "pi_123_secret_abc", "metadata": { "order_id": ORDER }
    })
}

const ORDER: &str = "01JDSAMPXE0000000000000003";

fn intent_request() -> IntentRequest {
    IntentRequest {
        order_id: ORDER.parse::<OrderId>().unwrap(),
        customer_id: CustomerId::parse("ada").unwrap(),
        amount_minor: 4495,
        currency: Currency::parse("EUR").unwrap(),
        idempotency_key: format!("intent-{ORDER}"),
    }
}

#[tokio::test]
async fn creating_a_payment_sends_the_order_for_manual_capture_with_its_key() {
    let (fake, base) =
        FakeStripe::start(vec![answer(200, intent_json("requires_payment_method"))]).await;
    let intent = client(&base)
        .create_intent(&intent_request())
        .await
        .unwrap();
    assert_eq!(intent.id, "pi_123");
    assert_eq!(intent.status, IntentStatus::RequiresPaymentMethod);
    assert_eq!(intent.client_secret.as_deref(), Some("pi_123_secret_abc"));
    assert_eq!(
        intent.order_id.map(|id| id.to_string()).as_deref(),
        Some(ORDER)
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(request.headers["authorization"], "Bearer sk_test_fake");
    assert_eq!(
        request.headers["idempotency-key"],
        format!("intent-{ORDER}").as_str()
    );
    assert_eq!(request.headers["stripe-version"], "2024-06-20");
    let form = Form::decode(&request.body);
    assert_eq!(form.value("amount"), Some("4495"));
    assert_eq!(form.value("currency"), Some("eur"));
    assert_eq!(form.value("capture_method"), Some("manual"));
    assert_eq!(form.value("metadata[order_id]"), Some(ORDER));
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_with_the_same_key() {
    let (fake, base) = FakeStripe::start(vec![
        answer(500, serde_json::json!({ "error": { "message": "boom" } })),
        answer(
            429,
            serde_json::json!({ "error": { "code": "rate_limit" } }),
        ),
        answer(200, intent_json("requires_payment_method")),
    ])
    .await;
    let intent = client(&base)
        .create_intent(&intent_request())
        .await
        .unwrap();
    assert_eq!(intent.id, "pi_123");
    let keys: Vec<_> = fake
        .seen()
        .iter()
        .map(|seen| seen.headers["idempotency-key"].clone())
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_carries_stripes_code() {
    let (fake, base) = FakeStripe::start(vec![answer(
        400,
        serde_json::json!({ "error": { "type": "invalid_request_error", "code": "amount_too_small", "message": "Amount must be at least 50 cents" } }),
    )])
    .await;
    let error = client(&base)
        .create_intent(&intent_request())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        GatewayError::Rejected {
            status: 400,
            code: Some("amount_too_small".into()),
            message: "Amount must be at least 50 cents".into()
        }
    );
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn stripe_should_retry_overrides_the_status() {
    let mut refused = answer(
        500,
        serde_json::json!({ "error": { "message": "do not retry" } }),
    );
    refused.should_retry = Some("false");
    let (fake, base) = FakeStripe::start(vec![refused]).await;
    let error = client(&base).intent("pi_123").await.unwrap_err();
    assert!(matches!(error, GatewayError::Rejected { status: 500, .. }));
    assert_eq!(fake.seen().len(), 1);

    let mut busy = answer(
        400,
        serde_json::json!({ "error": { "code": "lock_timeout" } }),
    );
    busy.should_retry = Some("true");
    let (fake, base) =
        FakeStripe::start(vec![busy, answer(200, intent_json("requires_capture"))]).await;
    assert_eq!(
        client(&base).intent("pi_123").await.unwrap().status,
        IntentStatus::RequiresCapture
    );
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_three_of_them_make_stripe_unavailable() {
    let slow = Scripted {
        delay: Duration::from_secs(2),
        ..answer(200, intent_json("requires_payment_method"))
    };
    let (fake, base) = FakeStripe::start(vec![slow.clone(), slow.clone(), slow]).await;
    let error = client_waiting(&base, Duration::from_millis(300))
        .create_intent(&intent_request())
        .await
        .unwrap_err();
    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert_eq!(fake.seen().len(), 3);
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = client(&format!("http://127.0.0.1:{port}"))
        .intent("pi_123")
        .await
        .unwrap_err();
    assert!(matches!(error, GatewayError::Unavailable(_)));
}

#[tokio::test]
async fn a_refund_reads_the_charge_for_what_went_back_in_all() {
    let (fake, base) = FakeStripe::start(vec![
        answer(200, serde_json::json!({ "object": "list", "data": [], "has_more": false })),
        answer(200, serde_json::json!({ "id": "re_1", "object": "refund", "status": "succeeded", "amount": 1000, "charge": "ch_1" })),
        answer(200, serde_json::json!({ "id": "ch_1", "object": "charge", "amount_refunded": 3000, "refunded": false })),
    ])
    .await;
    let refund = client(&base)
        .refund(&RefundRequest {
            intent_id: "pi_123".into(),
            amount_minor: Some(1000),
            order_id: ORDER.parse().unwrap(),
            refund_id: "rf_abc".into(),
            reason: "damaged in transit".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (refund.refunded_in_total_minor, refund.fully_refunded),
        (3000, false)
    );
    let seen = fake.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v1/refunds")
    );
    assert_eq!(seen[1].path, "/v1/refunds");
    assert_eq!(seen[1].headers["idempotency-key"], "rf_abc");
    let form = Form::decode(&seen[1].body);
    assert_eq!(form.value("payment_intent"), Some("pi_123"));
    assert_eq!(form.value("amount"), Some("1000"));
    assert_eq!(form.value("metadata[reason]"), Some("damaged in transit"));
    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("GET", "/v1/charges/ch_1")
    );
}

#[tokio::test]
async fn a_refund_made_before_is_found_and_not_made_again() {
    // Asked again after Stripe forgot the idempotency key (24 h).
    let (fake, base) = FakeStripe::start(vec![
        answer(200, serde_json::json!({ "object": "list", "data": [
            { "id": "re_other", "status": "succeeded", "amount": 500, "charge": "ch_1", "metadata": { "refund_id": "rf_other" } },
            { "id": "re_1", "status": "succeeded", "amount": 1000, "charge": "ch_1", "metadata": { "refund_id": "rf_abc" } }
        ] })),
        answer(200, serde_json::json!({ "id": "ch_1", "amount_refunded": 1500, "refunded": false })),
    ])
    .await;
    let refund = client(&base)
        .refund(&RefundRequest {
            intent_id: "pi_123".into(),
            amount_minor: None,
            order_id: ORDER.parse().unwrap(),
            refund_id: "rf_abc".into(),
            reason: "cancelled".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (refund.id.as_str(), refund.refunded_in_total_minor),
        ("re_1", 1500)
    );
    assert!(
        fake.seen().iter().all(|seen| seen.method == "GET"),
        "no second refund"
    );
}

#[tokio::test]
async fn a_refund_made_before_is_found_on_a_later_page_of_refunds() {
    let (fake, base) = FakeStripe::start(vec![
        answer(200, serde_json::json!({ "object": "list", "has_more": true, "data": [
            { "id": "re_a", "status": "succeeded", "amount": 1, "charge": "ch_1", "metadata": { "refund_id": "rf_other" } }
        ] })),
        answer(200, serde_json::json!({ "object": "list", "has_more": false, "data": [
            { "id": "re_1", "status": "succeeded", "amount": 1000, "charge": "ch_1", "metadata": { "refund_id": "rf_abc" } }
        ] })),
        answer(200, serde_json::json!({ "id": "ch_1", "amount_refunded": 1001, "refunded": false })),
    ])
    .await;
    let refund = client(&base)
        .refund(&RefundRequest {
            intent_id: "pi_123".into(),
            amount_minor: None,
            order_id: ORDER.parse().unwrap(),
            refund_id: "rf_abc".into(),
            reason: "cancelled".into(),
        })
        .await
        .unwrap();
    assert_eq!(refund.id, "re_1");
    let seen = fake.seen();
    assert!(
        seen.iter().all(|seen| seen.method == "GET"),
        "no second refund"
    );
    assert!(
        seen[1].query.contains("starting_after=re_a"),
        "{}",
        seen[1].query
    );
}

#[tokio::test]
async fn an_id_that_is_not_stripes_never_reaches_the_network() {
    let (fake, base) = FakeStripe::start(vec![]).await;
    assert!(matches!(
        client(&base).capture("../v1/charges", 1, "k").await,
        Err(GatewayError::Rejected { status: 400, .. })
    ));
    assert!(fake.seen().is_empty());
}
