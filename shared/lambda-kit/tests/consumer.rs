//! Consuming a batch of bus events from SQS: every message is read and handed
//! to the handler once, at most `concurrency` at a time, and only the messages
//! that failed (unreadable, or the handler said retry) are handed back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::{Value, json};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled, consume};
use shopflow_testkit::{PAYMENTS, eventbridge_body, logging, sqs_batch, sqs_record};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const CONSUMER: &str = "consumer-under-test";

/// The SQS message `message_id` carrying the payment event `event_id`.
fn payment_message(message_id: &str, event_id: &str) -> Value {
    let body = eventbridge_body(
        PAYMENTS,
        "payment.captured",
        event_id,
        json!({ "order_id": "01JD0000000000000000000000", "amount_minor": 4495 }),
    );
    sqs_record(message_id, &body)
}

fn batch(records: impl IntoIterator<Item = Value>) -> SqsEvent {
    serde_json::from_value(sqs_batch(records)).unwrap()
}

/// `m-1`…`m-n`, carrying events `e-1`…`e-n`.
fn numbered_batch(n: usize) -> SqsEvent {
    batch((1..=n).map(|i| payment_message(&format!("m-{i}"), &format!("e-{i}"))))
}

/// The message ids handed back for SQS to retry, sorted.
fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// Consumes `event` with `handle`, logging as Lambda does.
async fn consume_batch<F, Fut>(event: SqsEvent, concurrency: usize, handle: F) -> SqsBatchResponse
where
    F: Fn(BusEvent) -> Fut,
    Fut: Future<Output = Result<Handled, ConsumeError>>,
{
    let _logging = logging();
    consume(CONSUMER, event, concurrency, handle).await
}

#[tokio::test]
async fn a_message_the_handler_fails_is_the_only_batch_item_failure() {
    let seen = Mutex::new(Vec::new());

    let response = consume_batch(numbered_batch(3), 4, |event| {
        seen.lock().unwrap().push(event.id.clone());
        async move {
            if event.id == "e-2" {
                Err(ConsumeError::Failed("the order is not there yet".into()))
            } else {
                Ok(Handled::Applied)
            }
        }
    })
    .await;

    assert_eq!(failed_ids(&response), ["m-2"]);
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, ["e-1", "e-2", "e-3"], "every message is handled");
}

#[tokio::test]
async fn a_message_the_handler_finds_unreadable_is_handed_back_too() {
    let response = consume_batch(numbered_batch(3), 4, |event| async move {
        if event.id == "e-3" {
            Err(ConsumeError::Unreadable("bad order_id".into()))
        } else {
            Ok(Handled::Applied)
        }
    })
    .await;

    assert_eq!(failed_ids(&response), ["m-3"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_only_its_own_message() {
    let seen = Mutex::new(Vec::new());
    let event = batch([
        payment_message("m-1", "e-1"),
        sqs_record("m-2", "not json"),
        payment_message("m-3", "e-3"),
    ]);

    let response = consume_batch(event, 4, |event| {
        seen.lock().unwrap().push(event.id.clone());
        async { Ok(Handled::Applied) }
    })
    .await;

    assert_eq!(failed_ids(&response), ["m-2"]);
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(
        seen,
        ["e-1", "e-3"],
        "an unreadable message never reaches the handler"
    );
}

#[tokio::test]
async fn an_event_without_an_envelope_id_fails_only_its_own_message() {
    let mut no_id: Value = serde_json::from_str(&eventbridge_body(
        PAYMENTS,
        "payment.failed",
        "e-2",
        json!({}),
    ))
    .unwrap();
    no_id["detail"].as_object_mut().unwrap().remove("id");
    let event = batch([
        payment_message("m-1", "e-1"),
        sqs_record("m-2", &no_id.to_string()),
        payment_message("m-3", "e-3"),
    ]);
    let handled = AtomicUsize::new(0);

    let response = consume_batch(event, 4, |_| {
        handled.fetch_add(1, Ordering::SeqCst);
        async { Ok(Handled::Applied) }
    })
    .await;

    assert_eq!(failed_ids(&response), ["m-2"]);
    assert_eq!(handled.into_inner(), 2);
}

#[tokio::test]
async fn a_message_without_a_body_fails_only_itself() {
    let mut bodiless = payment_message("m-2", "e-2");
    bodiless.as_object_mut().unwrap().remove("body");
    let event = batch([payment_message("m-1", "e-1"), bodiless]);

    let response = consume_batch(event, 4, |_| async { Ok(Handled::Applied) }).await;

    assert_eq!(failed_ids(&response), ["m-2"]);
}

#[tokio::test]
async fn duplicate_and_ignored_events_are_not_failures() {
    let response = consume_batch(numbered_batch(3), 4, |event| async move {
        match event.id.as_str() {
            "e-1" => Ok(Handled::Applied),
            "e-2" => Ok(Handled::Duplicate),
            _ => Ok(Handled::Ignored("the order is already paid".into())),
        }
    })
    .await;

    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
}

#[tokio::test]
async fn the_handler_sees_the_envelope_id_detail_type_source_time_and_data() {
    let seen = Mutex::new(Vec::new());
    let body = eventbridge_body(
        PAYMENTS,
        "payment.refunded",
        "01JDSAMPLE0000000000000012",
        json!({ "order_id": "01JD0000000000000000000000", "fully_refunded": true }),
    );

    let response = consume_batch(batch([sqs_record("m-1", &body)]), 1, |event| {
        seen.lock().unwrap().push(event);
        async { Ok(Handled::Applied) }
    })
    .await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        seen.into_inner().unwrap(),
        [BusEvent {
            id: "01JDSAMPLE0000000000000012".into(),
            detail_type: "payment.refunded".into(),
            source: "shopflow.payments".into(),
            occurred_at: "2024-01-01T00:00:00.000Z".into(),
            data: json!({ "order_id": "01JD0000000000000000000000", "fully_refunded": true }),
        }]
    );
}

/// Counts handlers running at once: each yields a few times while in
/// flight, so others get the chance to start if the bound allows.
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
    handled: Mutex<Vec<String>>,
}

impl InFlight {
    fn new() -> Self {
        Self {
            now: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            handled: Mutex::new(Vec::new()),
        }
    }

    async fn handle(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        self.handled.lock().unwrap().push(event.id);
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(Handled::Applied)
    }

    fn handled(self) -> Vec<String> {
        let mut handled = self.handled.into_inner().unwrap();
        handled.sort();
        handled
    }
}

#[tokio::test]
async fn no_more_messages_than_the_bound_are_handled_at_once_and_every_one_is_handled() {
    let in_flight = InFlight::new();

    let response = consume_batch(numbered_batch(6), 2, |event| in_flight.handle(event)).await;

    assert!(response.batch_item_failures.is_empty());
    let most = in_flight.most.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} handlers ran at once; the bound is 2");
    assert_eq!(
        most, 2,
        "handlers ran one at a time although 2 were allowed"
    );
    assert_eq!(
        in_flight.handled(),
        ["e-1", "e-2", "e-3", "e-4", "e-5", "e-6"]
    );
}

#[tokio::test]
async fn a_bound_of_zero_still_handles_every_message_one_at_a_time() {
    let in_flight = InFlight::new();

    let response = consume_batch(numbered_batch(3), 0, |event| in_flight.handle(event)).await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(in_flight.most.load(Ordering::SeqCst), 1);
    assert_eq!(in_flight.handled(), ["e-1", "e-2", "e-3"]);
}

#[tokio::test]
async fn an_empty_batch_calls_no_handler_and_fails_nothing() {
    let handled = AtomicUsize::new(0);

    let response = consume_batch(batch([]), 8, |_| {
        handled.fetch_add(1, Ordering::SeqCst);
        async { Ok(Handled::Applied) }
    })
    .await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(handled.into_inner(), 0);
}
