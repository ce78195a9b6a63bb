//! Events as a consumer receives them: an EventBridge event, its `detail` the
//! shopflow envelope, delivered by an SQS queue the way
//! `samples/order-status/*.json` shows. Built as JSON, so a test reads it
//! into `SqsEvent` with `serde_json::from_value` exactly as Lambda would.

use serde_json::{Value, json};

use crate::fixtures::OPENING_DAY;

/// The `source` payment events are published under.
pub const PAYMENTS: &str = "shopflow.payments";

/// The consumer queue the SQS records in these helpers come from.
const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:shopflow-test-order-status";

/// An EventBridge event as an SQS target receives it in a message body:
/// `detail-type` and `source` on the outside, the envelope
/// `{id, occurred_at, version, data}` as its `detail`, dated [`OPENING_DAY`].
pub fn eventbridge_body(source: &str, detail_type: &str, event_id: &str, data: Value) -> String {
    let occurred_at = OPENING_DAY.to_rfc3339();
    json!({
        "version": "0",
        "id": format!("eb-{event_id}"),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": occurred_at,
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "id": event_id,
            "occurred_at": occurred_at,
            "version": 1,
            "data": data,
        },
    })
    .to_string()
}

/// One SQS message with `body`, received for the first time.
pub fn sqs_record(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("receipt-{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": OPENING_DAY.as_millis().to_string(),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": OPENING_DAY.as_millis().to_string(),
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    })
}

/// A batch of SQS records as the event source mapping hands it to Lambda.
pub fn sqs_batch(records: impl IntoIterator<Item = Value>) -> Value {
    json!({ "Records": records.into_iter().collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eventbridge_body_carries_the_envelope_as_its_detail() {
        let body: Value = serde_json::from_str(&eventbridge_body(
            PAYMENTS,
            "payment.captured",
            "01JDSAMPLE0000000000000010",
            json!({ "order_id": "01JD0000000000000000000000" }),
        ))
        .unwrap();

        assert_eq!(body["detail-type"], "payment.captured");
        assert_eq!(body["source"], "shopflow.payments");
        assert_eq!(body["detail"]["id"], "01JDSAMPLE0000000000000010");
        assert_eq!(body["detail"]["version"], 1);
        assert_eq!(body["detail"]["occurred_at"], "2024-01-01T00:00:00.000Z");
        assert_eq!(
            body["detail"]["data"]["order_id"],
            "01JD0000000000000000000000"
        );
    }

    #[test]
    fn a_batch_lists_its_records_in_order() {
        let batch = sqs_batch([sqs_record("m-1", "a"), sqs_record("m-2", "b")]);

        let ids: Vec<&str> = batch["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| record["messageId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["m-1", "m-2"]);
        assert_eq!(batch["Records"][1]["body"], "b");
        assert_eq!(
            batch["Records"][0]["attributes"]["ApproximateReceiveCount"],
            "1"
        );
    }
}
