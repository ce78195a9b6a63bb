//! notifier: every template renders as its checked-in snapshot; a mail is
//! sent once however often its event is delivered; throttled sends are
//! retried, refused ones recorded; suppressed addresses and opted-out
//! customers get nothing they should not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use notifier::notices::{Notice, Shop};
use notifier::{App, HOLD_SECS};
use serde_json::{Value, json};
use shopflow_domain::notification::{
    MarketingChoices, NotificationKey, NotificationPreferences, NotificationStatus, Suppression,
    SuppressionReason, Template,
};
use shopflow_domain::{Order, OrderId, Product, Timestamp};
use shopflow_lambda_kit::consumer::{BusEvent, Handled};
use shopflow_ports::{InventoryStore, MailError, NotificationStore, PreferenceStore};
use shopflow_testkit::{
    ADA, MemoryMailer, MemoryStore, OPENING_DAY, SharedStore, order_line, place_order,
    receive_stock, red_tee, unpaid_order,
};
use std::path::PathBuf;
use ulid::Ulid;

const ORDER: &str = "01HKQ7Z0000000000000000042";

fn shop() -> Shop {
    Shop {
        name: "Shopflow Demo".into(),
        url: "https://shop.example.com".into(),
        api_url: "https://api.shop.example.com".into(),
    }
}

fn order_id() -> OrderId {
    OrderId::from_ulid(Ulid::from_string(ORDER).unwrap())
}

/// Ada's order of 2 red tees and 1 blue mug, paid, the mug's name as given.
async fn ada_orders(store: &MemoryStore, mug_name: &str) -> Order {
    let tee = red_tee();
    let mug = Product {
        sku: shopflow_testkit::sku("MUG-BLUE"),
        name: mug_name.to_owned(),
        ..tee.clone()
    };
    store.upsert_product(&tee).await.unwrap();
    store.upsert_product(&mug).await.unwrap();
    receive_stock(store, "TEE-RED", "MAIN", 10, Ulid::generate(), OPENING_DAY).await;
    receive_stock(store, "MUG-BLUE", "MAIN", 10, Ulid::generate(), OPENING_DAY).await;
    let mut mug = order_line("MUG-BLUE", "MAIN", 1, 1_250);
    mug.name = mug_name.to_owned();
    let mut tee = order_line("TEE-RED", "MAIN", 2, 2_500);
    tee.name = "Red tee".into();
    let mut order = unpaid_order(order_id(), ADA, vec![tee, mug], OPENING_DAY);
    order.payment.captured_minor = order.totals.grand_total.minor;
    place_order(store, &order, Ulid::nil()).await;
    order
}

fn event(id: &str, detail_type: &str, data: Value) -> BusEvent {
    BusEvent {
        id: id.to_owned(),
        detail_type: detail_type.to_owned(),
        source: "shopflow.test".into(),
        occurred_at: OPENING_DAY.to_rfc3339(),
        data,
    }
}

fn about_order(data: Value) -> Value {
    let mut data = data;
    data["order_id"] = json!(ORDER);
    data["customer_id"] = json!(ADA);
    data
}

/// One sample event for every template.
fn samples() -> Vec<(Template, BusEvent)> {
    let shipment = |status: &str| {
        about_order(json!({
            "shipment_id": "01HKQ7Z0000000000000000077",
            "carrier": "dhl",
            "tracking_number": "JD014600006101234567",
            "warehouse": "MAIN",
            "status": status,
        }))
    };
    let backorder = |extra: Value| {
        let mut data = about_order(json!({
            "backorder_id": "01HKQ7Z0000000000000000055",
            "sku": "MUG-BLUE",
            "warehouse": "MAIN",
            "quantity": 1,
            "allocated": 0,
            "status": "pending",
            "priority": 0,
            "estimated_restock": "2024-01-20T00:00:00.000Z",
        }));
        for (name, value) in extra.as_object().unwrap() {
            data[name] = value.clone();
        }
        data
    };
    let invoice = json!({
        "invoice_id": "01HKQ7Z0000000000000000088",
        "number": "INV-2024-000001",
        "order_id": ORDER,
        "customer_id": ADA,
        "email": "ada@example.com",
        "status": "issued",
        "currency": "EUR",
        "total_minor": 7_740,
        "paid_minor": 0,
        "open_minor": 7_740,
        "issued_at": "2024-01-01T00:00:00.000Z",
        "due_at": "2024-01-15T00:00:00.000Z",
    });
    let mut overdue = invoice.clone();
    overdue["reminder"] = json!({ "step": 1, "days_overdue": 7 });
    let mut shipped = shipment("label_created");
    shipped["tracking_url"] = json!("https://www.dhl.com/track?id=JD014600006101234567");
    shipped["lines"] = json!([{ "sku": "TEE-RED", "quantity": 2 }]);
    let mut exception = shipment("delivery_failed");
    exception["previous_status"] = json!("out_for_delivery");
    vec![
        (
            Template::OrderConfirmation,
            event("e01", "order.paid", about_order(json!({}))),
        ),
        (
            Template::PaymentFailed,
            event(
                "e02",
                "order.payment_failed",
                about_order(json!({ "reason": "card_declined" })),
            ),
        ),
        (
            Template::OrderCancelled,
            event(
                "e03",
                "order.cancelled",
                about_order(json!({ "reason": "changed my mind" })),
            ),
        ),
        (
            Template::RefundIssued,
            event("e04", "order.partially_refunded", about_order(json!({}))),
        ),
        (Template::Shipped, event("e05", "shipment.created", shipped)),
        (
            Template::OutForDelivery,
            event(
                "e06",
                "shipment.status_changed",
                shipment("out_for_delivery"),
            ),
        ),
        (
            Template::Delivered,
            event("e07", "shipment.delivered", shipment("delivered")),
        ),
        (
            Template::DeliveryException,
            event("e08", "shipment.exception", exception),
        ),
        (
            Template::BackorderConfirmation,
            event("e09", "backorder.created", backorder(json!({}))),
        ),
        (
            Template::BackorderAllocated,
            event(
                "e10",
                "backorder.allocated",
                backorder(json!({ "allocated": 1, "units_allocated": 1, "status": "allocated" })),
            ),
        ),
        (
            Template::BackorderCancelled,
            event(
                "e11",
                "backorder.cancelled",
                backorder(json!({
                    "units_cancelled": 1,
                    "status": "cancelled",
                    "reason": "supplier discontinued it",
                    "refund": {
                        "refund_id": "rf_sample",
                        "currency": "EUR",
                        "goods_minor": 1_250,
                        "tax_minor": 238,
                        "shipping_minor": 0,
                        "amount_minor": 1_488,
                    },
                })),
            ),
        ),
        (
            Template::BackInStock,
            event(
                "e12",
                "inventory.back_in_stock",
                json!({
                    "sku": "MUG-BLUE",
                    "name": "Blue mug",
                    "subscribers": [{ "email": "grace@example.com", "unsubscribe_token": "tok.en-1" }],
                }),
            ),
        ),
        (
            Template::InvoiceIssued,
            event("e13", "invoice.issued", invoice),
        ),
        (
            Template::InvoiceOverdue,
            event("e14", "invoice.overdue", overdue),
        ),
    ]
}

fn snapshot_path(template: Template) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{template}.txt"))
}

async fn notice_of(store: &MemoryStore, event: &BusEvent) -> Notice {
    let mut notices = shop().notices(event, store).await.unwrap();
    assert_eq!(notices.len(), 1, "{}", event.detail_type);
    notices.remove(0)
}

/// Set `UPDATE_SNAPSHOTS=1` to write them after a deliberate change, then
/// read the diff.
#[tokio::test]
async fn every_template_renders_as_its_snapshot() {
    let store = MemoryStore::new();
    ada_orders(&store, "Blue mug").await;
    let letters = notifier::letters::Letters::new(notifier::letters::Locale::En).unwrap();
    let samples = samples();
    assert_eq!(samples.len(), Template::ALL.len());
    let mut stale = Vec::new();
    for (template, event) in samples {
        let notice = notice_of(&store, &event).await;
        assert_eq!(notice.template, template);
        let rendered = letters.render(template, &notice.letter).unwrap();
        let snapshot = format!(
            "To: {}\nSubject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
            notice.to, rendered.subject, rendered.text, rendered.html
        );
        let path = snapshot_path(template);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &snapshot).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(snapshot.as_str()) {
            stale.push(format!("{template}:\n{snapshot}"));
        }
    }
    assert!(
        stale.is_empty(),
        "renders differ from tests/snapshots (UPDATE_SNAPSHOTS=1 rewrites):\n{}",
        stale.join("\n")
    );
}

#[tokio::test]
async fn money_shows_in_the_order_currency_from_minor_units() {
    let store = MemoryStore::new();
    ada_orders(&store, "Blue mug").await;
    let notice = notice_of(&store, &event("e1", "order.paid", about_order(json!({})))).await;
    // 2 x 25.00 + 12.50, with the fixture's tax and shipping.
    let total = notice.letter["order"]["total"].as_str().unwrap();
    assert!(total.starts_with("EUR "), "{total}");
    assert_eq!(
        notice.letter["order"]["lines"][0]["amount"],
        json!("EUR 50.00")
    );
    assert_eq!(
        notice.letter["order"]["lines"][1]["amount"],
        json!("EUR 12.50")
    );
}

#[tokio::test]
async fn an_invoice_shows_money_in_its_own_currency() {
    let store = MemoryStore::new();
    let yen = event(
        "e1",
        "invoice.issued",
        json!({
            "invoice_id": "01HKQ7Z0000000000000000088",
            "number": "INV-2024-000002",
            "order_id": null,
            "customer_id": ADA,
            "email": "ada@example.com",
            "currency": "JPY",
            "total_minor": 8_175,
            "open_minor": 8_175,
            "due_at": "2024-01-15T00:00:00.000Z",
        }),
    );
    let notice = notice_of(&store, &yen).await;
    assert_eq!(notice.letter["invoice"]["total"], json!("JPY 8175"));
    assert_eq!(notice.order_id, None);
}

#[tokio::test]
async fn a_product_named_like_markup_renders_inert_in_html() {
    let store = MemoryStore::new();
    ada_orders(&store, "<img src=x onerror=alert(1)>").await;
    let letters = notifier::letters::Letters::new(notifier::letters::Locale::En).unwrap();
    let notice = notice_of(&store, &event("e1", "order.paid", about_order(json!({})))).await;
    let rendered = letters.render(notice.template, &notice.letter).unwrap();
    assert!(!rendered.html.contains("<img"), "{}", rendered.html);
    assert!(
        rendered.html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        rendered.html
    );
    // The text part shows it as written: plain text runs nothing.
    assert!(rendered.text.contains("<img src=x onerror=alert(1)>"));
}

struct Notifier {
    app: App<SharedStore, MemoryMailer>,
    store: SharedStore,
    mailer: MemoryMailer,
}

async fn notifier() -> Notifier {
    let store = SharedStore::new(());
    ada_orders(store.memory(), "Blue mug").await;
    let mailer = MemoryMailer::default();
    Notifier {
        app: App::new(store.clone(), mailer.clone(), shop()).unwrap(),
        store,
        mailer,
    }
}

fn paid(id: &str) -> BusEvent {
    event(id, "order.paid", about_order(json!({})))
}

async fn recorded(
    store: &SharedStore,
    id: &str,
    template: Template,
    to: &str,
) -> shopflow_domain::notification::Notification {
    store
        .notification(&NotificationKey::new(id, template, to), Some(order_id()))
        .await
        .unwrap()
        .expect("recorded")
}

#[tokio::test]
async fn an_event_delivered_three_times_sends_one_mail() {
    let n = notifier().await;
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Applied);
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Duplicate);
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Duplicate);
    let sent = n.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(sent[0].tags.contains(&("event".into(), "e1".into())));
    assert!(sent[0].tags.contains(&("order".into(), ORDER.into())));
    let record = recorded(
        &n.store,
        "e1",
        Template::OrderConfirmation,
        "ada@example.com",
    )
    .await;
    assert_eq!(record.status, NotificationStatus::Sent);
    assert_eq!(record.message_id.as_deref(), Some("mem-1"));
    // Another event of the same kind is another mail.
    n.app.apply(paid("e2")).await.unwrap();
    assert_eq!(n.mailer.sent().len(), 2);
}

#[tokio::test]
async fn a_throttled_send_is_handed_back_to_the_queue_and_sent_on_the_retry() {
    let n = notifier().await;
    n.mailer
        .fail_next(MailError::Throttled("TooManyRequestsException".into()));
    assert!(n.app.apply(paid("e1")).await.is_err());
    let pending = recorded(
        &n.store,
        "e1",
        Template::OrderConfirmation,
        "ada@example.com",
    )
    .await;
    assert_eq!(pending.status, NotificationStatus::Pending);
    assert_eq!(pending.attempts, 1);
    assert_eq!(pending.held_until, None, "released for the retry");
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Applied);
    assert_eq!(n.mailer.sent().len(), 1);
    let sent = recorded(
        &n.store,
        "e1",
        Template::OrderConfirmation,
        "ada@example.com",
    )
    .await;
    assert_eq!((sent.status, sent.attempts), (NotificationStatus::Sent, 2));
}

#[tokio::test]
async fn a_mail_the_service_refuses_is_recorded_failed_and_not_sent_again() {
    let n = notifier().await;
    n.mailer.fail_next(MailError::Rejected(
        "MessageRejected: address blacklisted".into(),
    ));
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Applied);
    let failed = recorded(
        &n.store,
        "e1",
        Template::OrderConfirmation,
        "ada@example.com",
    )
    .await;
    assert_eq!(failed.status, NotificationStatus::Failed);
    assert!(failed.detail.unwrap().contains("MessageRejected"));
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Duplicate);
    assert!(n.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_delivery_finding_the_mail_held_by_another_waits_and_one_left_pending_is_sent() {
    let n = notifier().await;
    let key = NotificationKey::new("e1", Template::OrderConfirmation, "ada@example.com");
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    // Held by a sender that is sending right now: this delivery waits.
    let held = shopflow_domain::notification::Notification::pending(
        key.clone(),
        Some(order_id()),
        None,
        now,
        HOLD_SECS,
    );
    n.store.open_notification(&held).await.unwrap();
    assert!(n.app.apply(paid("e1")).await.is_err());
    assert!(n.mailer.sent().is_empty());

    // Recorded long ago by a sender that stopped before sending.
    let n = notifier().await;
    let abandoned = shopflow_domain::notification::Notification::pending(
        key,
        Some(order_id()),
        None,
        OPENING_DAY,
        HOLD_SECS,
    );
    n.store.open_notification(&abandoned).await.unwrap();
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Applied);
    assert_eq!(n.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_suppressed_address_gets_nothing_and_the_record_says_why() {
    let n = notifier().await;
    n.store
        .suppress(&Suppression {
            address: "ADA@example.com".into(),
            reason: SuppressionReason::Bounce,
            at: OPENING_DAY,
            notification: NotificationKey::new("e0", Template::Shipped, "ada@example.com"),
        })
        .await
        .unwrap();
    assert_eq!(n.app.apply(paid("e1")).await.unwrap(), Handled::Applied);
    assert!(n.mailer.sent().is_empty());
    let withheld = recorded(
        &n.store,
        "e1",
        Template::OrderConfirmation,
        "ada@example.com",
    )
    .await;
    assert_eq!(withheld.status, NotificationStatus::Suppressed);
    assert!(withheld.detail.unwrap().contains("bounce"));
}

fn back_in_stock(id: &str) -> BusEvent {
    event(
        id,
        "inventory.back_in_stock",
        json!({
            "sku": "MUG-BLUE",
            "name": "Blue mug",
            "subscribers": [
                { "email": "Ada@Example.com", "unsubscribe_token": "t1" },
                { "email": "grace@example.com", "unsubscribe_token": "t2" },
            ],
        }),
    )
}

#[tokio::test]
async fn an_opted_out_customer_gets_no_back_in_stock_mail_but_still_an_order_confirmation() {
    let n = notifier().await;
    n.store
        .save_notification_preferences(
            &shopflow_domain::CustomerId::parse(ADA).unwrap(),
            &NotificationPreferences::chosen(
                MarketingChoices {
                    back_in_stock: false,
                },
                OPENING_DAY,
            ),
        )
        .await
        .unwrap();
    n.app.apply(paid("e1")).await.unwrap();
    n.app.apply(back_in_stock("e2")).await.unwrap();
    let sent: Vec<(String, String)> = n
        .mailer
        .sent()
        .into_iter()
        .map(|mail| (mail.to, mail.subject))
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                "ada@example.com".into(),
                format!("Your order {ORDER} is confirmed")
            ),
            (
                "grace@example.com".into(),
                "Blue mug is back in stock".into()
            ),
        ]
    );
    let opted_out = n
        .store
        .notification(
            &NotificationKey::new("e2", Template::BackInStock, "ada@example.com"),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opted_out.status, NotificationStatus::OptedOut);
}

#[tokio::test]
async fn an_address_nobody_ordered_with_follows_only_its_unsubscribe_link() {
    let n = notifier().await;
    n.app.apply(back_in_stock("e2")).await.unwrap();
    assert_eq!(n.mailer.sent().len(), 2);
    let grace = &n.mailer.sent()[1];
    assert!(
        grace
            .html
            .contains("https://api.shop.example.com/v1/waitlist/unsubscribe?token=t2")
    );
}

#[tokio::test]
async fn a_cancelled_order_is_not_asked_to_pay_again() {
    let n = notifier().await;
    shopflow_testkit::apply(
        n.store.memory(),
        order_id(),
        shopflow_domain::OrderTrigger::Cancelled,
        &shopflow_domain::Actor::Customer(shopflow_domain::CustomerId::parse(ADA).unwrap()),
        Some("changed my mind".into()),
        OPENING_DAY.plus_secs(60),
    )
    .await
    .unwrap();
    // Voiding the cancelled order's hold reads as a failed payment.
    let voided = event(
        "e1",
        "order.payment_failed",
        about_order(json!({ "reason": "requested_by_customer" })),
    );
    assert!(matches!(
        n.app.apply(voided).await.unwrap(),
        Handled::Ignored(_)
    ));
    assert!(n.mailer.sent().is_empty());
}

#[tokio::test]
async fn every_mail_of_a_page_is_tried_when_one_fails() {
    let n = notifier().await;
    n.mailer
        .fail_next(MailError::Unavailable("connection reset".into()));
    assert!(n.app.apply(back_in_stock("e2")).await.is_err());
    // Ada's failed and waits for the retry; Grace's went.
    let sent: Vec<String> = n.mailer.sent().into_iter().map(|mail| mail.to).collect();
    assert_eq!(sent, vec!["grace@example.com".to_owned()]);
    assert_eq!(
        n.app.apply(back_in_stock("e2")).await.unwrap(),
        Handled::Applied
    );
    let sent: Vec<String> = n.mailer.sent().into_iter().map(|mail| mail.to).collect();
    assert_eq!(
        sent,
        vec!["grace@example.com".to_owned(), "Ada@Example.com".to_owned()]
    );
}

#[tokio::test]
async fn events_no_mail_is_about_are_ignored() {
    let n = notifier().await;
    let restocked = event("e1", "inventory.restocked", json!({ "sku": "TEE-RED" }));
    assert!(matches!(
        n.app.apply(restocked).await.unwrap(),
        Handled::Ignored(_)
    ));
    let moving = event(
        "e2",
        "shipment.status_changed",
        about_order(json!({
            "shipment_id": "01HKQ7Z0000000000000000077",
            "carrier": "dhl",
            "tracking_number": "JD1",
            "warehouse": "MAIN",
            "status": "in_transit",
        })),
    );
    assert!(matches!(
        n.app.apply(moving).await.unwrap(),
        Handled::Ignored(_)
    ));
    assert!(n.mailer.sent().is_empty());
}
