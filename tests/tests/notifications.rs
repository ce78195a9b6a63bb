//! Customer mail end to end on the local stack: events travel from the
//! bus through notifier's queue to SES (moto), whose sent mail is read
//! back. A paid checkout is confirmed, a shipment sends its tracking link,
//! a backorder is confirmed and then allocated, one event delivered
//! three times is one mail, a hard bounce suppresses the next mail to
//! its address, and a customer who refused back-in-stock mail gets none
//! (but still their confirmation).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use shopflow_domain::OrderId;
use shopflow_domain::notification::{Notification, NotificationStatus, Template};
use shopflow_dynamo::DynamoStore;
use shopflow_ports::NotificationStore;
use shopflow_tests::{
    cart, fulfil, paid_order, paid_order_mailed_to, stack, tracking_number, unique, warehouses,
};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_paid_checkout_is_confirmed_once_and_its_shipment_mails_the_tracking_link() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAIL");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 2_500, &[(&warehouse, 3)])
        .await;
    let (id, buyer) = paid_order(&api, &[(&sku, 2)]).await;

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
    let recorded = notification_once(&id, Template::OrderConfirmation, |n| {
        n.status == NotificationStatus::Sent
    })
    .await;
    assert_eq!(recorded.key.to, "buyer@example.com");
    let timeline = api.get(&format!("/v1/orders/{id}/timeline"), &buyer).await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    let mailed: Vec<_> = timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["lane"] == "notifications")
        .map(|entry| {
            (
                entry["template"].clone(),
                entry["to"].clone(),
                entry["status"].clone(),
            )
        })
        .collect();
    assert!(
        mailed.contains(&(
            json!("order_confirmation"),
            json!("buyer@example.com"),
            json!("sent")
        )),
        "{mailed:?}"
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
    api.allow_backorders(&admin, &sku, &warehouse, 5).await;
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

/// Sends `body` to `consumer`'s queue, as the bus would: the queue's URL.
async fn deliver_to(consumer: &str, body: &str) -> String {
    let clients = stack().clients().await;
    let spec = &stack().spec;
    let (_, logical_id) = spec
        .queue_consumers
        .iter()
        .find(|(function, _)| function == consumer)
        .expect("the consumer has a queue");
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

/// `shipment.delivered` for a parcel of order `id`, as the bus carries it.
fn delivered_event(id: &str, event: &str) -> String {
    shopflow_testkit::eventbridge_body(
        "shopflow.fulfillment",
        "shipment.delivered",
        event,
        json!({
            "order_id": id,
            "customer_id": "cust",
            "shipment_id": ulid::Ulid::generate().to_string(),
            "carrier": "usps",
            "tracking_number": "9400100000000000000000",
            "warehouse": warehouses()[0],
            "status": "delivered",
        }),
    )
}

#[tokio::test]
async fn one_event_delivered_three_times_sends_one_mail() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAILDUP");
    api.product_with_stock(&admin, &sku, 1_000, &[(&warehouses()[0], 1)])
        .await;
    let (id, _buyer) = paid_order(&api, &[(&sku, 1)]).await;
    let event = ulid::Ulid::generate().to_string();
    let body = delivered_event(&id, &event);
    let mut url = String::new();
    for _ in 0..3 {
        url = deliver_to("notifier", &body).await;
    }
    let subject = format!("Your parcel from order {id} was delivered");
    let first = stack().mail_once(&subject).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    drained(&url).await;
    let all = stack().mail_once(&subject).await;
    assert_eq!(all.len(), 1, "the redeliveries sent nothing: {all:#?}");
}

/// The order's notification of `template`, once `done` says it is there.
async fn notification_once(
    order: &str,
    template: Template,
    done: impl Fn(&Notification) -> bool,
) -> Notification {
    let clients = stack().clients().await;
    let store = DynamoStore::new(clients.dynamodb.clone(), stack().spec.table.name.clone());
    let order: OrderId = serde_json::from_value(json!(order)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = store
            .order_notifications(order)
            .await
            .unwrap()
            .into_iter()
            .find(|notification| notification.key.template == template);
        match found {
            Some(notification) if done(&notification) || Instant::now() > deadline => {
                return notification;
            }
            None if Instant::now() > deadline => panic!("no {template} notification"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_next_mail_to_its_address_and_is_recorded() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("MAILBNC");
    api.product_with_stock(&admin, &sku, 1_000, &[(&warehouses()[0], 1)])
        .await;
    let address = format!("bounce-{}@example.com", ulid::Ulid::generate()).to_lowercase();
    let (id, _buyer) = paid_order_mailed_to(&api, &[(&sku, 1)], &address).await;
    let confirmation = notification_once(&id, Template::OrderConfirmation, |n| {
        n.status == NotificationStatus::Sent
    })
    .await;

    // SES reports a hard bounce of the confirmation, as its configuration
    // set publishes it to the default bus.
    let bounce = json!({
        "version": "0",
        "id": ulid::Ulid::generate().to_string(),
        "detail-type": "Email Bounced",
        "source": "aws.ses",
        "account": "123456789012",
        "time": "2026-12-02T14:00:05Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventType": "Bounce",
            "mail": {
                "messageId": confirmation.message_id.clone().unwrap(),
                "destination": [address],
                "tags": {
                    "event": [confirmation.key.event_id],
                    "template": ["order_confirmation"],
                    "order": [id],
                },
            },
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "NoEmail",
                "bouncedRecipients": [{ "emailAddress": address }],
            },
        },
    });
    deliver_to("mail-feedback", &bounce.to_string()).await;
    let bounced = notification_once(&id, Template::OrderConfirmation, |n| {
        n.status == NotificationStatus::Bounced
    })
    .await;
    assert_eq!(bounced.status, NotificationStatus::Bounced);
    assert_eq!(bounced.detail.as_deref(), Some("Permanent/NoEmail"));

    // The next mail to the address is recorded suppressed, not sent.
    let delivered = delivered_event(&id, &ulid::Ulid::generate().to_string());
    deliver_to("notifier", &delivered).await;
    let withheld = notification_once(&id, Template::Delivered, |n| {
        n.status != NotificationStatus::Pending
    })
    .await;
    assert_eq!(withheld.status, NotificationStatus::Suppressed);
    // (Its invoice may have been mailed before the bounce came back.)
    let sent_to_it: Vec<_> = stack()
        .sent_mail()
        .await
        .into_iter()
        .filter(|mail| mail.to.contains(&address))
        .map(|mail| mail.subject)
        .collect();
    assert!(
        sent_to_it.contains(&format!("Your order {id} is confirmed")),
        "{sent_to_it:?}"
    );
    assert!(
        !sent_to_it
            .iter()
            .any(|subject| subject.contains("was delivered")),
        "{sent_to_it:?}"
    );
}

#[tokio::test]
async fn an_opted_out_customer_gets_no_back_in_stock_mail_but_their_confirmation() {
    let (api, admin) = (stack().api(), stack().admin());
    let ordered = unique("MAILOPT");
    api.product_with_stock(&admin, &ordered, 1_000, &[(&warehouses()[0], 1)])
        .await;
    let awaited = unique("MAILBACK");
    api.product_with_stock(&admin, &awaited, 1_000, &[]).await;
    let ada = format!("ada-{}@example.com", ulid::Ulid::generate()).to_lowercase();
    let grace = format!("grace-{}@example.com", ulid::Ulid::generate()).to_lowercase();

    // Ada orders (her confirmation links her address to her account),
    // then refuses back-in-stock mail.
    let (id, buyer) = paid_order_mailed_to(&api, &[(&ordered, 1)], &ada).await;
    let confirmed = stack()
        .mail_once(&format!("Your order {id} is confirmed"))
        .await;
    assert_eq!(confirmed.len(), 1, "{confirmed:#?}");
    let refused = api
        .send(
            "PUT",
            "/v1/customers/me/notification-preferences",
            Some(&buyer),
            &[],
            Some(json!({ "marketing": { "back_in_stock": false } }).to_string()),
        )
        .await;
    assert_eq!(refused.status, 200, "{}", refused.body);

    // Both wait for the other product, which comes back.
    for address in [&ada, &grace] {
        let joined = api
            .send(
                "POST",
                &format!("/v1/products/{awaited}/waitlist"),
                None,
                &[],
                Some(json!({ "email": address }).to_string()),
            )
            .await;
        assert_eq!(joined.status, 202, "{}", joined.body);
    }
    api.restock(&admin, &awaited, &warehouses()[0], 3).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let opted_out = loop {
        let listed = api
            .get(
                "/v1/admin/notifications?template=back_in_stock&limit=100",
                &admin,
            )
            .await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let found = listed.body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["to"] == ada.as_str() && n["status"] != "pending")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no back-in-stock notification for Ada"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(opted_out["status"], "opted_out", "{opted_out}");
    let told = loop {
        let told: Vec<String> = stack()
            .sent_mail()
            .await
            .into_iter()
            .filter(|mail| mail.subject.contains("is back in stock"))
            .flat_map(|mail| mail.to)
            .collect();
        if told.contains(&grace) || Instant::now() > deadline {
            break told;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(told.contains(&grace), "{told:?}");
    assert!(!told.contains(&ada), "{told:?}");
}
