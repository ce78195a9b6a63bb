//! Stripe events as shopflow payment outcomes. Only what the order lifecycle
//! needs is read; everything else in the payload is ignored.

use serde::Deserialize;
use serde_json::Value;
use shopflow_domain::events::PaymentReported;
use shopflow_domain::{OrderId, PaymentOutcome};

/// The envelope of every Stripe event.
#[derive(Debug, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What a Stripe event means for shopflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    Payment(PaymentReported),
    /// Not an event shopflow acts on (yet); answered 200 and logged.
    Ignored(String),
}

fn text(object: &Value, field: &str) -> Option<String> {
    object.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn amount(object: &Value, field: &str) -> i64 {
    object.get(field).and_then(Value::as_i64).unwrap_or(0)
}

impl StripeEvent {
    pub fn meaning(&self) -> Meaning {
        let object = &self.data.object;
        let outcome = match self.kind.as_str() {
            "payment_intent.amount_capturable_updated" => PaymentOutcome::Authorized,
            "payment_intent.succeeded" => PaymentOutcome::Captured,
            "payment_intent.payment_failed" => PaymentOutcome::Failed,
            "charge.refunded" => PaymentOutcome::Refunded {
                fully: object
                    .get("refunded")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            other => return Meaning::Ignored(format!("event type {other} is not handled")),
        };
        let Some(order_id) = object
            .pointer("/metadata/order_id")
            .and_then(Value::as_str)
            .and_then(|raw| raw.parse::<OrderId>().ok())
        else {
            return Meaning::Ignored("no shopflow order_id in the object's metadata".into());
        };
        let (payment_id, amount_minor) = match outcome {
            PaymentOutcome::Authorized => (
                text(object, "id"),
                amount(object, "amount_capturable").max(amount(object, "amount")),
            ),
            PaymentOutcome::Captured => (text(object, "id"), amount(object, "amount_received")),
            PaymentOutcome::Failed => (text(object, "id"), amount(object, "amount")),
            PaymentOutcome::Refunded { .. } => (
                text(object, "payment_intent"),
                amount(object, "amount_refunded"),
            ),
        };
        Meaning::Payment(PaymentReported {
            outcome,
            order_id,
            payment_id: payment_id.unwrap_or_default(),
            amount_minor,
            currency: text(object, "currency").unwrap_or_default().to_uppercase(),
            fully_refunded: match outcome {
                PaymentOutcome::Refunded { fully } => Some(fully),
                _ => None,
            },
            failure_code: match outcome {
                PaymentOutcome::Failed => object
                    .pointer("/last_payment_error/code")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDER: &str = "01JDSAMPXE0000000000000003";

    fn event(kind: &str, object: Value) -> StripeEvent {
        serde_json::from_value(json!({ "id": "evt_1", "type": kind, "data": { "object": object } }))
            .unwrap()
    }

    fn intent(extra: Value) -> Value {
        let mut object = json!({
            "id": "pi_1", "object": "payment_intent", "amount": 4495, "currency": "eur",
            "metadata": { "order_id": ORDER }
        });
        object
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        object
    }

    fn payment(meaning: Meaning) -> PaymentReported {
        match meaning {
            Meaning::Payment(payment) => payment,
            Meaning::Ignored(why) => panic!("ignored: {why}"),
        }
    }

    #[test]
    fn a_capturable_amount_is_an_authorization() {
        let reported = payment(
            event(
                "payment_intent.amount_capturable_updated",
                intent(json!({ "amount_capturable": 4495 })),
            )
            .meaning(),
        );
        assert_eq!(reported.outcome, PaymentOutcome::Authorized);
        assert_eq!(
            (
                reported.amount_minor,
                reported.currency.as_str(),
                reported.payment_id.as_str()
            ),
            (4495, "EUR", "pi_1")
        );
        assert_eq!(reported.order_id.to_string(), ORDER);
    }

    #[test]
    fn success_is_a_capture_and_failure_carries_its_code() {
        let captured = payment(
            event(
                "payment_intent.succeeded",
                intent(json!({ "amount_received": 4495 })),
            )
            .meaning(),
        );
        assert_eq!(
            (captured.outcome, captured.amount_minor),
            (PaymentOutcome::Captured, 4495)
        );
        let failed = payment(
            event(
                "payment_intent.payment_failed",
                intent(json!({ "last_payment_error": { "code": "card_declined" } })),
            )
            .meaning(),
        );
        assert_eq!(failed.failure_code.as_deref(), Some("card_declined"));
    }

    #[test]
    fn a_refunded_charge_says_whether_all_of_it_went_back() {
        let charge = |refunded: bool| {
            json!({ "id": "ch_1", "payment_intent": "pi_1", "amount": 4495, "amount_refunded": 1000,
                    "refunded": refunded, "currency": "eur", "metadata": { "order_id": ORDER } })
        };
        let partial = payment(event("charge.refunded", charge(false)).meaning());
        assert_eq!(
            (
                partial.fully_refunded,
                partial.payment_id.as_str(),
                partial.amount_minor
            ),
            (Some(false), "pi_1", 1000)
        );
        assert_eq!(
            payment(event("charge.refunded", charge(true)).meaning()).fully_refunded,
            Some(true)
        );
    }

    #[test]
    fn unknown_types_and_objects_without_an_order_are_ignored() {
        assert!(matches!(
            event("customer.created", json!({})).meaning(),
            Meaning::Ignored(_)
        ));
        let foreign = json!({ "id": "pi_2", "amount": 1, "currency": "eur", "metadata": {} });
        assert!(matches!(
            event("payment_intent.succeeded", foreign).meaning(),
            Meaning::Ignored(_)
        ));
    }
}
