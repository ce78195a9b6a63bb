//! Stripe events as shopflow payment reports. Only what the order's money
//! needs is read; everything else in the payload is ignored.

use serde::Deserialize;
use serde_json::Value;
use shopflow_domain::events::{PaymentFacts, PaymentReported};
use shopflow_domain::{OrderId, PaymentOutcome};
use shopflow_ports::{Intent, IntentStatus};

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
    /// The event alone does not say enough: the payment it names must be
    /// looked up at Stripe first.
    AskStripe(Lookup),
    /// Not an event shopflow acts on; answered 200 and logged.
    Ignored(String),
}

/// An event whose meaning depends on the payment it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A refunded charge: charges do not carry the payment's metadata, so the
    /// order is read from the payment.
    RefundedCharge {
        intent_id: String,
        refunded_in_total: i64,
        fully: bool,
        currency: String,
    },
    /// A completed hosted page that is not paid outright: its payment may be
    /// held for capture, or still processing.
    CompletedSession {
        order_id: OrderId,
        session_id: String,
        intent_id: String,
        currency: String,
    },
}

impl Lookup {
    pub fn intent_id(&self) -> &str {
        match self {
            Self::RefundedCharge { intent_id, .. } | Self::CompletedSession { intent_id, .. } => {
                intent_id
            }
        }
    }

    /// The report, once Stripe said what the payment is, or why there is none.
    pub fn resolve(self, intent: &Intent) -> Result<PaymentReported, String> {
        match self {
            Self::RefundedCharge {
                intent_id,
                refunded_in_total,
                fully,
                currency,
            } => {
                let Some(order_id) = intent.order_id else {
                    return Err("the refunded payment is not a shopflow order's".into());
                };
                Ok(PaymentReported::refunded(
                    order_id,
                    intent_id,
                    &currency,
                    refunded_in_total,
                    fully,
                ))
            }
            Self::CompletedSession {
                order_id,
                session_id,
                intent_id,
                currency,
            } => {
                let (outcome, amount) = match intent.status {
                    IntentStatus::RequiresCapture => {
                        (PaymentOutcome::Authorized, intent.amount_minor)
                    }
                    IntentStatus::Succeeded => {
                        (PaymentOutcome::Captured, intent.amount_received_minor)
                    }
                    other => {
                        return Err(format!(
                            "the page's payment is {}: its own events will follow",
                            other.as_str()
                        ));
                    }
                };
                Ok(PaymentReported {
                    outcome,
                    facts: PaymentFacts {
                        checkout_session_id: Some(session_id),
                        ..PaymentFacts::new(order_id, intent_id, amount, &currency)
                    },
                })
            }
        }
    }
}

fn report(outcome: PaymentOutcome, facts: PaymentFacts) -> Meaning {
    Meaning::Payment(PaymentReported { outcome, facts })
}

fn text(object: &Value, field: &str) -> Option<String> {
    object.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn amount(object: &Value, field: &str) -> Option<i64> {
    object.get(field).and_then(Value::as_i64)
}

/// The shopflow order in the object's metadata (or, for hosted pages, its
/// client reference).
fn order_of(object: &Value) -> Option<OrderId> {
    object
        .pointer("/metadata/order_id")
        .or_else(|| object.get("client_reference_id"))
        .and_then(Value::as_str)
        .and_then(|raw| raw.parse::<OrderId>().ok())
}

impl StripeEvent {
    pub fn meaning(&self) -> Meaning {
        let object = &self.data.object;
        let currency = text(object, "currency").unwrap_or_default().to_uppercase();
        let (outcome, payment_id, amount_minor) = match self.kind.as_str() {
            "payment_intent.amount_capturable_updated" => (
                PaymentOutcome::Authorized,
                text(object, "id"),
                amount(object, "amount_capturable").or_else(|| amount(object, "amount")),
            ),
            "payment_intent.succeeded" => (
                PaymentOutcome::Captured,
                text(object, "id"),
                amount(object, "amount_received").or_else(|| amount(object, "amount")),
            ),
            "payment_intent.payment_failed" => (
                PaymentOutcome::Failed,
                text(object, "id"),
                amount(object, "amount"),
            ),
            "payment_intent.canceled" => (PaymentOutcome::Voided, text(object, "id"), Some(0)),
            "charge.refunded" => return self.refunded_charge(currency),
            "checkout.session.completed" => return self.completed_session(currency),
            "checkout.session.expired" => (
                PaymentOutcome::CheckoutExpired,
                Some(text(object, "payment_intent").unwrap_or_default()),
                Some(0),
            ),
            other => return Meaning::Ignored(format!("event type {other} is not handled")),
        };
        let Some(order_id) = order_of(object) else {
            return Meaning::Ignored("no shopflow order_id in the object's metadata".into());
        };
        let Some(payment_id) = payment_id else {
            return Meaning::Ignored("the object names no payment".into());
        };
        report(
            outcome,
            PaymentFacts {
                failure_code: match outcome {
                    PaymentOutcome::Failed => object
                        .pointer("/last_payment_error/decline_code")
                        .or_else(|| object.pointer("/last_payment_error/code"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    _ => None,
                },
                checkout_session_id: match outcome {
                    PaymentOutcome::CheckoutExpired => text(object, "id"),
                    _ => None,
                },
                ..PaymentFacts::new(order_id, payment_id, amount_minor.unwrap_or(0), &currency)
            },
        )
    }

    fn refunded_charge(&self, currency: String) -> Meaning {
        let object = &self.data.object;
        let Some(intent_id) = text(object, "payment_intent") else {
            return Meaning::Ignored("a refunded charge without a payment".into());
        };
        let refunded_in_total = amount(object, "amount_refunded").unwrap_or(0);
        let fully = object
            .get("refunded")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match order_of(object) {
            Some(order_id) => Meaning::Payment(PaymentReported::refunded(
                order_id,
                intent_id,
                &currency,
                refunded_in_total,
                fully,
            )),
            None => Meaning::AskStripe(Lookup::RefundedCharge {
                intent_id,
                refunded_in_total,
                fully,
                currency,
            }),
        }
    }

    fn completed_session(&self, currency: String) -> Meaning {
        let object = &self.data.object;
        let Some(order_id) = order_of(object) else {
            return Meaning::Ignored("no shopflow order_id in the session's metadata".into());
        };
        let (Some(session_id), Some(intent_id)) =
            (text(object, "id"), text(object, "payment_intent"))
        else {
            return Meaning::Ignored("a completed session without a payment".into());
        };
        match text(object, "payment_status").as_deref() {
            Some("paid") => report(
                PaymentOutcome::Captured,
                PaymentFacts {
                    checkout_session_id: Some(session_id),
                    ..PaymentFacts::new(
                        order_id,
                        intent_id,
                        amount(object, "amount_total").unwrap_or(0),
                        &currency,
                    )
                },
            ),
            Some("unpaid") => Meaning::AskStripe(Lookup::CompletedSession {
                order_id,
                session_id,
                intent_id,
                currency,
            }),
            other => Meaning::Ignored(format!("a completed session that is {other:?}")),
        }
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
            other => panic!("not a payment: {other:?}"),
        }
    }

    fn stripe_intent(status: IntentStatus, order: Option<&str>) -> Intent {
        Intent {
            id: "pi_1".into(),
            status,
            client_secret: None,
            amount_minor: 4495,
            amount_received_minor: if status == IntentStatus::Succeeded {
                4495
            } else {
                0
            },
            order_id: order.map(|id| id.parse().unwrap()),
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
        let facts = &reported.facts;
        assert_eq!(
            (
                facts.amount_minor,
                facts.currency.as_str(),
                facts.payment_id.as_str()
            ),
            (4495, "EUR", "pi_1")
        );
        assert_eq!(facts.order_id.to_string(), ORDER);
    }

    #[test]
    fn success_is_a_capture_and_failure_carries_its_code() {
        let captured = payment(
            event(
                "payment_intent.succeeded",
                intent(json!({ "amount_received": 4000 })),
            )
            .meaning(),
        );
        assert_eq!(
            (captured.outcome, captured.facts.amount_minor),
            (PaymentOutcome::Captured, 4000)
        );
        // Emulators that leave out amount_received: the amount was received.
        let emulated = payment(event("payment_intent.succeeded", intent(json!({}))).meaning());
        assert_eq!(emulated.facts.amount_minor, 4495);
        let failed = payment(
            event(
                "payment_intent.payment_failed",
                intent(json!({ "last_payment_error": { "code": "card_declined", "decline_code": "insufficient_funds" } })),
            )
            .meaning(),
        );
        assert_eq!(
            failed.facts.failure_code.as_deref(),
            Some("insufficient_funds")
        );
    }

    #[test]
    fn a_cancelled_payment_is_a_voided_hold() {
        let voided = payment(event("payment_intent.canceled", intent(json!({}))).meaning());
        assert_eq!(voided.outcome, PaymentOutcome::Voided);
    }

    #[test]
    fn a_refunded_charge_names_its_payment_and_the_total_refunded() {
        let charge = |refunded: bool| {
            json!({ "id": "ch_1", "payment_intent": "pi_1", "amount": 4495, "amount_refunded": 1000,
                    "refunded": refunded, "currency": "eur", "metadata": {} })
        };
        let Meaning::AskStripe(lookup) = event("charge.refunded", charge(false)).meaning() else {
            panic!("a charge without the order must be looked up");
        };
        assert_eq!(lookup.intent_id(), "pi_1");
        let partial = lookup
            .resolve(&stripe_intent(IntentStatus::Succeeded, Some(ORDER)))
            .unwrap();
        assert_eq!(partial.outcome, PaymentOutcome::Refunded);
        assert_eq!(
            (partial.facts.fully_refunded, partial.facts.amount_minor),
            (Some(false), 1000)
        );
        let Meaning::AskStripe(lookup) = event("charge.refunded", charge(true)).meaning() else {
            panic!("looked up");
        };
        assert!(
            lookup
                .resolve(&stripe_intent(IntentStatus::Succeeded, None))
                .is_err()
        );
    }

    fn session(payment_status: &str) -> Value {
        json!({ "id": "cs_1", "object": "checkout.session", "payment_status": payment_status,
                "payment_intent": "pi_1", "amount_total": 4495, "currency": "eur",
                "client_reference_id": ORDER, "metadata": { "order_id": ORDER } })
    }

    #[test]
    fn a_completed_page_is_held_or_paid_as_its_payment_says() {
        let paid = payment(event("checkout.session.completed", session("paid")).meaning());
        assert_eq!(paid.outcome, PaymentOutcome::Captured);
        assert_eq!(paid.facts.checkout_session_id.as_deref(), Some("cs_1"));
        let Meaning::AskStripe(lookup) =
            event("checkout.session.completed", session("unpaid")).meaning()
        else {
            panic!("an unpaid completion asks Stripe");
        };
        let held = lookup
            .clone()
            .resolve(&stripe_intent(IntentStatus::RequiresCapture, Some(ORDER)))
            .unwrap();
        assert_eq!(
            (held.outcome, held.facts.amount_minor),
            (PaymentOutcome::Authorized, 4495)
        );
        assert!(
            lookup
                .resolve(&stripe_intent(IntentStatus::Processing, Some(ORDER)))
                .is_err()
        );
    }

    #[test]
    fn an_expired_page_names_itself() {
        let mut expired = session("unpaid");
        expired["payment_intent"] = Value::Null;
        let reported = payment(event("checkout.session.expired", expired).meaning());
        assert_eq!(reported.outcome, PaymentOutcome::CheckoutExpired);
        assert_eq!(reported.facts.checkout_session_id.as_deref(), Some("cs_1"));
        assert_eq!(reported.facts.payment_id, "");
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
