//! Reading orders: one by id for its owner or an admin, and a customer's own
//! orders newest first, a page at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADA, GRACE, History, admin, anonymous, customer, order_ids};
use serde_json::json;
use shopflow_lambda_kit::apigw::HttpEvent;

// --- one order ----------------------------------------------------------------

#[tokio::test]
async fn the_owner_of_an_order_can_read_it() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await.to_string();
    let api = history.open();

    let reply = api.get(&id, customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let order = &reply.json()["order"];
    assert_eq!(order["id"], id);
    assert_eq!(order["customer_id"], ADA);
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(
        order["lines"],
        json!([{
            "sku": "TEE-RED", "name": "Red tee", "quantity": 1,
            "unit_price_minor": 1_250, "line_total_minor": 1_250, "warehouse": "MAIN",
            "reserved": 1, "backordered": 0, "backorder_id": null
        }])
    );
    assert_eq!(order["backorder_status"], "none");
    assert_eq!(order["estimated_fulfillment_date"], serde_json::Value::Null);
    assert_eq!(order["totals"]["grand_total_minor"], 1_988);
    assert_eq!(order["created_at"], "2024-01-01T00:01:00.000Z");
    assert_eq!(order["reservation_expires_at"], "2024-01-01T00:16:00.000Z");
}

#[tokio::test]
async fn another_customers_order_is_not_found_rather_than_forbidden() {
    let mut history = History::new().await;
    let adas = history.order_for(ADA).await.to_string();
    let api = history.open();

    let reply = api.get(&adas, customer(GRACE)).await;

    reply.problem(404, "not_found");
    let missing = api
        .get(&ulid::Ulid::generate().to_string(), customer(GRACE))
        .await;
    assert_eq!(
        reply.body, missing.body,
        "someone else's order must look exactly like a missing one"
    );
}

#[tokio::test]
async fn an_admin_can_read_any_customers_order() {
    let mut history = History::new().await;
    let adas = history.order_for(ADA).await.to_string();
    let api = history.open();

    let reply = api.get(&adas, admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["order"]["customer_id"], ADA);
}

#[tokio::test]
async fn an_order_that_does_not_exist_is_not_found() {
    let mut history = History::new().await;
    history.order_for(ADA).await;
    let api = history.open();

    let reply = api
        .get(&ulid::Ulid::generate().to_string(), customer(ADA))
        .await;

    reply.problem(404, "not_found");
}

#[tokio::test]
async fn a_malformed_order_id_is_not_found() {
    let api = History::new().await.open();
    let too_long = format!("{}0", ulid::Ulid::generate());

    for id in [
        "not-an-id",
        "42",
        "01J0000000000000000000000U",
        too_long.as_str(),
    ] {
        let reply = api.get(id, customer(ADA)).await;
        assert_eq!(reply.status, 404, "id {id:?}: {}", reply.body);
        reply.problem(404, "not_found");
    }
}

#[tokio::test]
async fn reading_an_order_needs_a_caller() {
    let mut history = History::new().await;
    let id = history.order_for(ADA).await.to_string();
    let api = history.open();

    api.get(&id, anonymous())
        .await
        .problem(401, "unauthenticated");
}

// --- a customer's orders -----------------------------------------------------

#[tokio::test]
async fn a_customer_lists_only_their_own_orders_newest_first() {
    let mut history = History::new().await;
    let mut adas = Vec::new();
    for _ in 0..3 {
        adas.push(history.order_for(ADA).await.to_string());
        history.order_for(GRACE).await;
    }
    let api = history.open();

    let reply = api.list("", customer(ADA)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    adas.reverse();
    assert_eq!(order_ids(&body), adas);
    assert!(
        body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|order| order["customer_id"] == ADA)
    );
    assert_eq!(body["next_cursor"], json!(null));
}

#[tokio::test]
async fn listing_pages_through_every_order_with_an_opaque_cursor_until_exhausted() {
    let mut history = History::new().await;
    let mut adas = Vec::new();
    for _ in 0..5 {
        adas.push(history.order_for(ADA).await.to_string());
        history.order_for(GRACE).await;
    }
    let api = history.open();

    let (listed, pages) = api.list_all(2, customer(ADA)).await;

    adas.reverse();
    assert_eq!(listed, adas, "every order once, newest first");
    assert!(pages.iter().all(|page| page.len() <= 2), "{pages:?}");
    assert_eq!(pages[0].len(), 2);
    assert_eq!(pages[1].len(), 2);
}

#[tokio::test]
async fn each_customer_pages_through_their_own_orders_only() {
    let mut history = History::new().await;
    let mut graces = Vec::new();
    for _ in 0..4 {
        history.order_for(ADA).await;
        graces.push(history.order_for(GRACE).await.to_string());
    }
    let api = history.open();

    let (listed, _) = api.list_all(3, customer(GRACE)).await;

    graces.reverse();
    assert_eq!(listed, graces);
}

#[tokio::test]
async fn a_customer_without_orders_gets_an_empty_list() {
    let mut history = History::new().await;
    history.order_for(ADA).await;
    let api = history.open();

    let reply = api.list("", customer(GRACE)).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({ "orders": [], "next_cursor": null }));
}

#[tokio::test]
async fn a_page_size_from_one_to_one_hundred_is_accepted() {
    let mut history = History::new().await;
    for _ in 0..2 {
        history.order_for(ADA).await;
    }
    let api = history.open();

    let one = api.list("limit=1", customer(ADA)).await;
    let hundred = api.list("limit=100", customer(ADA)).await;

    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(order_ids(&one.json()).len(), 1);
    assert!(one.json()["next_cursor"].is_string());
    assert_eq!(hundred.status, 200, "{}", hundred.body);
    assert_eq!(order_ids(&hundred.json()).len(), 2);
}

#[tokio::test]
async fn a_page_size_outside_one_to_one_hundred_is_a_bad_request() {
    let api = History::new().await.open();

    for limit in ["0", "101", "abc", "-1", "65536", "1.5"] {
        let reply = api.list(&format!("limit={limit}"), customer(ADA)).await;
        assert_eq!(reply.status, 400, "limit {limit:?}: {}", reply.body);
        reply.invalid("limit");
    }
    // An empty parameter is an absent one.
    assert_eq!(api.list("limit=", customer(ADA)).await.status, 200);
}

#[tokio::test]
async fn a_cursor_this_api_did_not_issue_is_refused_as_such() {
    let api = History::new().await.open();

    // Not base64url; base64url of text that is not an order; a bare order id.
    let bare_id = "01HZY8J5V3Q4W2E6R7T9Y0ABCD";
    for cursor in ["!!!", "bm90LWFuLW9yZGVy", "x", bare_id] {
        let reply = api
            .list(&format!("limit=5&cursor={cursor}"), customer(ADA))
            .await;
        let details = reply.problem(422, "invalid_cursor");
        assert_eq!(details["field"], "cursor", "cursor {cursor:?}");
    }
    // An empty cursor is the first page.
    let first = api.list("limit=5&cursor=", customer(ADA)).await;
    assert_eq!(first.status, 200, "{}", first.body);
}

#[tokio::test]
async fn listing_orders_needs_a_caller() {
    let api = History::new().await.open();

    api.list("", anonymous())
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_route_the_orders_api_does_not_serve_is_not_found() {
    let api = History::new().await.open();

    let reply = api
        .send(HttpEvent {
            method: "DELETE".into(),
            route: "/v1/orders/{id}".into(),
            path: "/v1/orders/x".into(),
            claims: customer(ADA),
            ..HttpEvent::default()
        })
        .await;

    reply.problem(404, "route_not_found");
}
