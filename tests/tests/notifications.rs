//! Customer mail end to end on the local stack: events travel from the
//! bus through notifier's queue to SES (moto), whose sent mail is read
//! back. A paid checkout is confirmed, a shipment sends its tracking link,
//! a backorder is confirmed and then allocated, and one event delivered
//! three times is one mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use shopflow_tests::{cart, fulfil, paid_order, stack, tracking_number, unique, warehouses};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_paid_checkout_is_confirmed_once_and_its_shipment_mails_the_tracking_link() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAIL");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 2_500, &[(&warehouse, 3)])
        .await;
    let (id, _buyer) = paid_order(&api, &[(&sku, 2)]).await;

    let confirmations = stack()
        .mail_once(&format!("Your order {id} is confirmed"))
        .await;
    let [confirmation] = confirmations.as_slice() else {
        panic!("one confirmation: {confirmations:#?}")
    };
    assert_eq!(confirmation.to, vec!["buyer@example.com".to_owned()]);
    assert!(
        confirmation.body.contains("EUR 50.00"),
        "{}",
        confirmation.body
    );

    let number = tracking_number("9400");
    let shipped = fulfil(&api, &id, &warehouse, "usps", &number, &[(&sku, 2)]).await;
    assert_eq!(shipped.status, 201, "{}", shipped.body);
    let mails = stack().mail_once(&format!("Order {id} has shipped")).await;
    let [mail] = mails.as_slice() else {
        panic!("one shipped mail: {mails:#?}")
    };
    assert!(mail.body.contains(&number), "{}", mail.body);
    assert!(mail.body.contains("Track your parcel"), "{}", mail.body);
}

#[tokio::test]
async fn a_backorder_is_confirmed_then_its_allocation_is_mailed() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAILBO");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 900, &[]).await;
    let settings = json!({ "allow_backorder": true, "max_backorder_quantity": 5 });
    let reply = api
        .send(
            "PUT",
            &format!("/v1/inventory/{sku}/{warehouse}/backorder-settings"),
            Some(&admin),
            &[],
            Some(settings.to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let buyer = stack().customer(&unique("buyer"));
    let mut body = cart(&[(&sku, 1)]);
    body["accept_backorder"] = json!(true);
    let placed = api.checkout(&buyer, &unique("key"), &body).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let id = placed.body["order"]["id"].as_str().unwrap().to_owned();

    let confirmed = stack()
        .mail_once(&format!("on backorder for order {id}"))
        .await;
    assert_eq!(confirmed.len(), 1, "{confirmed:#?}");

    api.restock(&admin, &sku, &warehouse, 1).await;
    let allocated = stack()
        .mail_once(&format!("set aside for order {id}"))
        .await;
    assert_eq!(allocated.len(), 1, "{allocated:#?}");
}

/// Sends `body` to notifier's queue, as the bus would.
async fn deliver_to_notifier(body: &str) -> String {
    let clients = stack().clients().await;
    let spec = &stack().spec;
    let (_, logical_id) = spec
        .queue_consumers
        .iter()
        .find(|(function, _)| function == "notifier")
        .expect("notifier has a queue");
    let queue = &spec
        .queues
        .iter()
        .find(|queue| &queue.logical_id == logical_id)
        .expect("the queue is in the template")
        .name;
    let url = clients
        .sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    clients
        .sqs
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    url
}

/// Waits until nothing is in `url`, in flight or waiting.
async fn drained(url: &str) {
    let clients = stack().clients().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let count: u64 = attributes
            .attributes()
            .map(|map| map.values().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or_default();
        if count == 0 || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn one_event_delivered_three_times_sends_one_mail() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAILDUP");
    api.product_with_stock(&admin, &sku, 1_000, &[(&warehouses()[0], 1)])
        .await;
    let (id, _buyer) = paid_order(&api, &[(&sku, 1)]).await;
    let event = ulid::Ulid::generate().to_string();
    let body = shopflow_testkit::eventbridge_body(
        "shopflow.orders",
        "order.payment_failed",
        &event,
        json!({ "order_id": id, "customer_id": "cust", "reason": "card_declined" }),
    );
    let mut url = String::new();
    for _ in 0..3 {
        url = deliver_to_notifier(&body).await;
    }
    let subject = format!("Your payment for order {id} did not go through");
    let first = stack().mail_once(&subject).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    drained(&url).await;
    let all = stack().mail_once(&subject).await;
    assert_eq!(all.len(), 1, "the redeliveries sent nothing: {all:#?}");
}
