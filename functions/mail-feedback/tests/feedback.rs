//! mail-feedback: SES's reports move the notifications they are about; a
//! hard bounce or a complaint suppresses the address; a soft bounce, a
//! repeat, or a report on somebody else's mail changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_feedback::{App, Refusal};
use serde_json::{Value, json};
use shopflow_domain::OrderId;
use shopflow_domain::notification::{
    Notification, NotificationKey, NotificationStatus, SuppressionReason, Template,
};
use shopflow_ports::NotificationStore;
use shopflow_testkit::{OPENING_DAY, SharedStore};

const ORDER: &str = "01HKQ7Z0000000000000000042";
const TO: &str = "ada@example.com";

fn order() -> OrderId {
    serde_json::from_value(json!(ORDER)).unwrap()
}

fn key() -> NotificationKey {
    NotificationKey::new("evt-1", Template::OrderConfirmation, TO)
}

async fn sent_mail() -> (App<SharedStore>, SharedStore) {
    let store = SharedStore::new(());
    let pending = Notification::pending(key(), Some(order()), None, OPENING_DAY, 60);
    store.open_notification(&pending).await.unwrap();
    let sent = pending.sent(OPENING_DAY.plus_secs(1), "ses-1");
    assert!(store.save_notification(&sent).await.unwrap());
    (App::new(store.clone()), store)
}

/// An SES event as the default bus delivers it, for the mail notifier sent.
fn ses_event(detail_type: &str, extra: Value) -> String {
    let mut detail = json!({
        "mail": {
            "messageId": "ses-1",
            "destination": [TO],
            "tags": {
                "event": ["evt-1"],
                "template": ["order_confirmation"],
                "order": [ORDER],
                "ses:configuration-set": ["shopflow-dev"],
            },
        },
    });
    for (name, value) in extra.as_object().unwrap() {
        detail[name] = value.clone();
    }
    json!({
        "version": "0",
        "id": "c0ffee00-0000-0000-0000-000000000001",
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": "123456789012",
        "time": "2024-01-01T00:00:05Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    })
    .to_string()
}

fn bounce(kind: &str) -> String {
    ses_event(
        "Email Bounced",
        json!({ "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{ "emailAddress": "Ada@Example.com" }],
        }}),
    )
}

async fn status(store: &SharedStore) -> NotificationStatus {
    store
        .notification(&key(), Some(order()))
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_hard_bounce_marks_the_mail_bounced_and_suppresses_the_address() {
    let (app, store) = sent_mail().await;
    assert_eq!(app.apply(&bounce("Permanent")).await.unwrap(), 1);
    assert_eq!(status(&store).await, NotificationStatus::Bounced);
    let suppression = store.suppression(TO).await.unwrap().unwrap();
    assert_eq!(suppression.reason, SuppressionReason::Bounce);
    assert_eq!(suppression.notification, key());
    // Delivered again: nothing moves.
    assert_eq!(app.apply(&bounce("Permanent")).await.unwrap(), 0);
}

#[tokio::test]
async fn a_soft_bounce_leaves_the_mail_sent_and_the_address_open() {
    let (app, store) = sent_mail().await;
    assert_eq!(app.apply(&bounce("Transient")).await.unwrap(), 0);
    assert_eq!(status(&store).await, NotificationStatus::Sent);
    assert_eq!(store.suppression(TO).await.unwrap(), None);
}

#[tokio::test]
async fn a_delivery_then_a_complaint_move_the_mail_and_the_complaint_suppresses() {
    let (app, store) = sent_mail().await;
    assert_eq!(
        app.apply(&ses_event(
            "Email Delivered",
            json!({ "delivery": { "recipients": [TO] } })
        ))
        .await
        .unwrap(),
        1
    );
    assert_eq!(status(&store).await, NotificationStatus::Delivered);
    assert_eq!(store.suppression(TO).await.unwrap(), None);
    let complaint = ses_event(
        "Email Complaint Received",
        json!({ "complaint": { "complainedRecipients": [{ "emailAddress": TO }] } }),
    );
    assert_eq!(app.apply(&complaint).await.unwrap(), 1);
    assert_eq!(status(&store).await, NotificationStatus::Complained);
    assert_eq!(
        store.suppression(TO).await.unwrap().unwrap().reason,
        SuppressionReason::Complaint
    );
}

#[tokio::test]
async fn a_rejected_mail_is_recorded_failed_with_the_reason() {
    let (app, store) = sent_mail().await;
    let rejected = ses_event(
        "Email Rejected",
        json!({ "reject": { "reason": "Bad content" } }),
    );
    assert_eq!(app.apply(&rejected).await.unwrap(), 1);
    let read = store
        .notification(&key(), Some(order()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, NotificationStatus::Failed);
    assert_eq!(read.detail.as_deref(), Some("Bad content"));
}

#[tokio::test]
async fn reports_on_mail_that_is_not_ours_are_dropped() {
    let (app, store) = sent_mail().await;
    let mut untagged: Value = serde_json::from_str(&bounce("Permanent")).unwrap();
    untagged["detail"]["mail"]["tags"] = json!({ "ses:configuration-set": ["other"] });
    assert!(matches!(
        app.apply(&untagged.to_string()).await,
        Err(Refusal::NotOurs(_))
    ));
    assert!(matches!(
        app.apply("not json").await,
        Err(Refusal::NotOurs(_))
    ));
    assert_eq!(status(&store).await, NotificationStatus::Sent);
    assert_eq!(store.suppression(TO).await.unwrap(), None);
}
