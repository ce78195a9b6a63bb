//! A customer reads and sets their own email preferences: everything on
//! until they say otherwise, marketing-like mail theirs to refuse,
//! transactional mail not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use notifications_api::App;
use serde_json::{Value, json};
use shopflow_testkit::{
    ADA, Claims, GRACE, MemoryStore, Reply, anonymous, call, customer, json_request, request,
};

const ROUTE: &str = "/v1/customers/me/notification-preferences";

async fn read(app: &App<MemoryStore>, claims: Claims) -> Reply {
    call(
        |request| app.handle(request),
        request("GET", ROUTE, &[], claims),
    )
    .await
}

async fn choose(app: &App<MemoryStore>, body: &Value, claims: Claims) -> Reply {
    let event = json_request("PUT", ROUTE, &[], Some(body.to_string()), claims);
    call(|request| app.handle(request), event).await
}

#[tokio::test]
async fn everything_is_on_until_the_customer_refuses_back_in_stock_mail() {
    let app = App::new(MemoryStore::default());

    let unset = read(&app, customer(ADA)).await;
    assert_eq!(unset.status, 200, "{}", unset.body);
    assert_eq!(
        unset.json(),
        json!({
            "customer_id": ADA,
            "transactional": { "orders": true, "payments": true, "shipping": true, "invoices": true },
            "marketing": { "back_in_stock": true },
            "updated_at": null,
        })
    );

    let refused = choose(
        &app,
        &json!({ "marketing": { "back_in_stock": false } }),
        customer(ADA),
    )
    .await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    let read_back = read(&app, customer(ADA)).await.json();
    assert_eq!(read_back["marketing"]["back_in_stock"], false);
    assert!(read_back["updated_at"].is_string());
    assert_eq!(read_back["transactional"]["orders"], true);
    assert_eq!(
        read(&app, customer(GRACE)).await.json()["marketing"]["back_in_stock"],
        true,
        "one customer's choice is theirs alone"
    );
}

#[tokio::test]
async fn transactional_mail_cannot_be_refused_and_bodies_are_checked() {
    let app = App::new(MemoryStore::default());
    for body in [
        json!({ "marketing": { "back_in_stock": false }, "transactional": { "orders": false } }),
        json!({ "marketing": { "back_in_stock": "no" } }),
        json!({ "marketing": {} }),
        json!({}),
    ] {
        let reply = choose(&app, &body, customer(ADA)).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    assert_eq!(
        read(&app, customer(ADA)).await.json()["updated_at"],
        Value::Null
    );
    assert_eq!(read(&app, anonymous()).await.status, 401);
}
