//! Batches as the queue delivers them: each message applied on its own, and
//! only the ones worth retrying handed back to SQS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    At as S, Shop, authorized, batch, captured, event_id, failed_ids, message, refunded,
    unknown_order,
};
use shopflow_domain::OrderTrigger as T;
use shopflow_testkit::sqs_record;
use std::path::PathBuf;

#[tokio::test]
async fn a_batch_hands_back_only_the_payment_for_an_order_not_there_yet() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PaymentAuthorized).await;

    let response = shop
        .handle(batch([
            message("m-good", &captured(order, &event_id(1))),
            message("m-unknown", &captured(unknown_order(), &event_id(2))),
        ]))
        .await;

    assert_eq!(failed_ids(&response), ["m-unknown"]);
    shop.assert_moved_once(order, S::PaymentAuthorized, S::Paid, T::PaymentCaptured)
        .await;
}

#[tokio::test]
async fn ignored_duplicate_and_applied_payments_in_one_batch_fail_nothing() {
    let mut shop = Shop::new().await;
    let paid = shop.order_in(S::Paid).await;
    let pending = shop.order_in(S::PendingPayment).await;

    let response = shop
        .handle(batch([
            message("m-late", &authorized(paid, &event_id(1))),
            message("m-pay", &captured(pending, &event_id(2))),
            message("m-refund", &refunded(paid, &event_id(3), false)),
        ]))
        .await;

    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(shop.status(pending).await, S::Paid.state());
    assert_eq!(shop.status(paid).await, S::PartiallyRefunded.state());
}

#[tokio::test]
async fn an_unreadable_message_is_handed_back_and_the_rest_of_the_batch_applied() {
    let mut shop = Shop::new().await;
    let order = shop.order_in(S::PendingPayment).await;

    let response = shop
        .handle(batch([
            sqs_record("m-garbled", "{\"detail-type\": \"payment.captured\""),
            message("m-good", &captured(order, &event_id(1))),
        ]))
        .await;

    assert_eq!(failed_ids(&response), ["m-garbled"]);
    assert_eq!(shop.status(order).await, S::Paid.state());
}

#[tokio::test]
async fn every_sample_batch_hands_back_exactly_what_its_name_promises() {
    // samples/order-status/<what>.fail.json: every message is handed back;
    // <what>.ok.json: none is. The shop is empty: no order exists.
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/order-status");
    let mut checked = 0;
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expect_failures = if name.ends_with(".fail.json") {
            true
        } else if name.ends_with(".ok.json") {
            false
        } else {
            continue;
        };
        let sample: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut message_ids: Vec<String> = sample["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| record["messageId"].as_str().unwrap().to_owned())
            .collect();
        message_ids.sort();

        let response = Shop::new().await.handle(sample).await;

        let expected = if expect_failures {
            message_ids
        } else {
            Vec::new()
        };
        assert_eq!(failed_ids(&response), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} samples found in {samples:?}");
}
