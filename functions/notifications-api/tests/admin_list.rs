//! Staff list what was sent to whom: newest first, narrowed by order,
//! customer, status or template, page by page; customers may not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use notifications_api::App;
use serde_json::json;
use shopflow_domain::notification::{Notification, NotificationKey, Template};
use shopflow_domain::{CustomerId, OrderId};
use shopflow_ports::NotificationStore;
use shopflow_testkit::{
    ADA, GRACE, MemoryStore, OPENING_DAY, Reply, admin, call, customer, request,
};
use ulid::Ulid;

const ROUTE: &str = "/v1/admin/notifications";

async fn list(app: &App<MemoryStore>, query: &str, claims: shopflow_testkit::Claims) -> Reply {
    let mut event = request("GET", ROUTE, &[], claims);
    event.raw_query = query.to_owned();
    call(|request| app.handle(request), event).await
}

/// Ada's confirmation and shipping mail for one order, then Grace's
/// invoice, the last one refused by the mail service.
async fn three_mails(store: &MemoryStore) -> OrderId {
    let order = OrderId::from_ulid(Ulid::from_parts(OPENING_DAY.as_millis(), 42));
    let mails = [
        (Template::OrderConfirmation, ADA, Some(order)),
        (Template::Shipped, ADA, Some(order)),
        (Template::InvoiceIssued, GRACE, None),
    ];
    for (n, (template, who, order)) in mails.into_iter().enumerate() {
        let key =
            NotificationKey::new(&format!("evt-{n}"), template, &format!("{who}@example.com"));
        let at = OPENING_DAY.plus_secs(n as u64);
        let pending =
            Notification::pending(key, order, Some(CustomerId::parse(who).unwrap()), at, 60);
        store.open_notification(&pending).await.unwrap();
        let settled = if n == 2 {
            pending.failed(at, "MessageRejected")
        } else {
            pending.sent(at, &format!("ses-{n}"))
        };
        store.save_notification(&settled).await.unwrap();
    }
    order
}

fn events(reply: &Reply) -> Vec<String> {
    reply.json()["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_list_everything_newest_first_page_by_page() {
    let store = MemoryStore::default();
    three_mails(&store).await;
    let app = App::new(store);
    let first = list(&app, "limit=2", admin()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(events(&first), vec!["evt-2", "evt-1"]);
    let newest = &first.json()["notifications"][0];
    assert_eq!(newest["template"], "invoice_issued");
    assert_eq!(newest["status"], "failed");
    assert_eq!(newest["detail"], "MessageRejected");
    assert_eq!(newest["to"], "cust-grace@example.com");
    let cursor = first.json()["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&app, &format!("limit=2&cursor={cursor}"), admin()).await;
    assert_eq!(events(&second), vec!["evt-0"]);
    assert_eq!(second.json()["next_cursor"], json!(null));
}

#[tokio::test]
async fn staff_narrow_the_list_by_order_customer_status_and_template() {
    let store = MemoryStore::default();
    let order = three_mails(&store).await;
    let app = App::new(store);
    let by_order = list(&app, &format!("order={order}"), admin()).await;
    assert_eq!(events(&by_order), vec!["evt-1", "evt-0"]);
    let by_customer = list(&app, &format!("customer={GRACE}"), admin()).await;
    assert_eq!(events(&by_customer), vec!["evt-2"]);
    let sent = list(&app, "status=sent", admin()).await;
    assert_eq!(events(&sent), vec!["evt-1", "evt-0"]);
    let shipped = list(&app, "template=shipped", admin()).await;
    assert_eq!(events(&shipped), vec!["evt-1"]);
}

#[tokio::test]
async fn only_staff_list_and_bad_filters_are_refused() {
    let app = App::new(MemoryStore::default());
    assert_eq!(list(&app, "", customer(ADA)).await.status, 403);
    for (query, field) in [
        ("status=lost", "status"),
        ("template=postcard", "template"),
        ("order=not-an-order", "order"),
    ] {
        let reply = list(&app, query, admin()).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert!(reply.body.contains(field), "{query}: {}", reply.body);
    }
    let reply = list(&app, "cursor=bm90LWEta2V5", admin()).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.body.contains("invalid_cursor"), "{}", reply.body);
}
