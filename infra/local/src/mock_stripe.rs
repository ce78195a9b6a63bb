//! The customer's side of the mock Stripe, served by the local stack under
//! `/_mock/stripe/` (never in AWS): confirm a payment with a test card, pay
//! or abandon a hosted checkout page. Stripe.js and Stripe's hosted pages do
//! this against real Stripe; the mock then posts the same signed webhooks.
//!
//! - `POST /_mock/stripe/payment_intents/{id}/confirm` `{"payment_method": "pm_card_visa"}`
//! - `GET  /_mock/stripe/checkout/{session}`: what the page would show
//! - `POST /_mock/stripe/checkout/{session}` `{"payment_method": "pm_card_visa"}`
//! - `POST /_mock/stripe/checkout/{session}/expire`

use crate::paths::match_path;
use serde_json::{Value, json};
use shopflow_ports::GatewayError;
use shopflow_ports::PaymentGateway;
use shopflow_stripe_mock::{MockGateway, TestCard};

pub const PREFIX: &str = "/_mock/stripe/";

/// The answer to a request under [`PREFIX`]: status and JSON body.
pub async fn answer(mock: &MockGateway, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let card = || {
        let requested: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let name = requested["payment_method"]
            .as_str()
            .unwrap_or("pm_card_visa");
        TestCard::parse(name).ok_or_else(|| {
            (
                400,
                json!({ "error": { "message": format!("unknown test payment method {name}; use pm_card_visa, pm_card_chargeDeclined or pm_card_chargeDeclinedInsufficientFunds") } }),
            )
        })
    };
    let route = |template: &str| match_path(template, path);
    let outcome = match method {
        "POST" => {
            if let Some(params) = route("/_mock/stripe/payment_intents/{id}/confirm") {
                match card() {
                    Ok(card) => mock
                        .confirm(&params["id"], card)
                        .map(|intent| json!({ "id": intent.id, "status": intent.status.as_str() })),
                    Err(refusal) => return refusal,
                }
            } else if let Some(params) = route("/_mock/stripe/checkout/{session}/expire") {
                mock.expire_checkout_session(&params["session"])
                    .await
                    .map(|()| json!({ "id": params["session"], "status": "expired" }))
            } else if let Some(params) = route("/_mock/stripe/checkout/{session}") {
                match card() {
                    Ok(card) => mock
                        .complete_checkout_session(&params["session"], card)
                        .map(|()| json!({ "id": params["session"], "paid_with": format!("{card:?}") })),
                    Err(refusal) => return refusal,
                }
            } else {
                return not_found();
            }
        }
        "GET" => match route("/_mock/stripe/checkout/{session}") {
            Some(params) => Ok(json!({
                "session": params["session"],
                "pay": format!("POST {path} with {{\"payment_method\": \"pm_card_visa\"}}"),
                "abandon": format!("POST {path}/expire"),
            })),
            None => return not_found(),
        },
        _ => return not_found(),
    };
    match outcome {
        Ok(body) => (200, body),
        Err(GatewayError::Rejected {
            status,
            code,
            message,
        }) => (
            status,
            json!({ "error": { "code": code, "message": message } }),
        ),
        Err(GatewayError::Unavailable(message)) => {
            (503, json!({ "error": { "message": message } }))
        }
    }
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({ "error": { "message": "no such mock Stripe route" } }),
    )
}
