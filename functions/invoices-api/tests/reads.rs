//! Reading invoices: one by id and an order's, by the invoice's customer or
//! staff; anyone else gets 404, as does an id that is not one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use shopflow_domain::Timestamp;
use shopflow_testkit::{ADA, GRACE, admin, anonymous, customer};

#[tokio::test]
async fn the_customer_and_staff_read_an_invoice_and_others_get_404() {
    let api = InvoicesApi::new().await;
    let (order, invoice) = api.invoiced_order(shopflow_lambda_kit::now()).await;
    let id = invoice.id.to_string();

    for claims in [customer(ADA), admin()] {
        let read = api.get("/v1/invoices/{id}", &id, claims).await;
        assert_eq!(read.status, 200, "{}", read.body);
        let body = read.json();
        assert_eq!(body["number"], invoice.number.unwrap().to_string());
        assert_eq!(body["status"], "paid");
        assert_eq!(body["order_id"], order.id.to_string());
        assert_eq!(
            body["totals"]["total_minor"],
            order.totals.grand_total.minor
        );
        assert_eq!(body["open_minor"], 0);
        assert_eq!(body["lines"][0]["sku"], "TEE-RED");
        assert_eq!(body["lines"][0]["quantity"], 3);
        assert_eq!(body["buyer"]["email"], order.email.as_str());
    }
    api.get("/v1/invoices/{id}", &id, customer(GRACE))
        .await
        .problem(404, "not_found");
    api.get("/v1/invoices/{id}", "not-a-ulid", admin())
        .await
        .problem(404, "not_found");
    api.get(
        "/v1/invoices/{id}",
        &ulid::Ulid::generate().to_string(),
        admin(),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(
        api.get("/v1/invoices/{id}", &id, anonymous()).await.status,
        401
    );
}

#[tokio::test]
async fn an_order_lists_its_invoice_for_its_customer_only() {
    let api = InvoicesApi::new().await;
    let (order, invoice) = api.invoiced_order(shopflow_lambda_kit::now()).await;
    let route = "/v1/orders/{id}/invoices";

    let listed = api.get(route, &order.id.to_string(), customer(ADA)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let body = listed.json();
    assert_eq!(body["order_id"], order.id.to_string());
    assert_eq!(body["invoices"][0]["id"], invoice.id.to_string());
    assert_eq!(body["invoices"].as_array().unwrap().len(), 1);

    api.get(route, &order.id.to_string(), customer(GRACE))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn an_order_not_invoiced_yet_lists_none() {
    let api = InvoicesApi::new().await;
    let at = shopflow_lambda_kit::now();
    let order = shopflow_testkit::paid_order(api.store.memory(), "TEE-RED", "BER", 1, at).await;

    let listed = api
        .get("/v1/orders/{id}/invoices", &order.id.to_string(), admin())
        .await;

    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["invoices"], serde_json::json!([]));
}

#[tokio::test]
async fn an_unpaid_invoice_past_due_reads_as_overdue() {
    let api = InvoicesApi::new().await;
    let invoice = api
        .unpaid_invoice_at(Timestamp::from_millis(1_704_067_200_000))
        .await;

    let read = api
        .get("/v1/invoices/{id}", &invoice.id.to_string(), admin())
        .await
        .json();

    assert_eq!(read["status"], "overdue");
    assert_eq!(read["open_minor"], invoice.totals.total_minor);
}

#[tokio::test]
async fn the_pdf_is_a_302_to_a_link_that_expires_once_it_is_rendered() {
    let api = InvoicesApi::new().await;
    let (_, invoice) = api.invoiced_order(shopflow_lambda_kit::now()).await;
    let id = invoice.id.to_string();

    let early = api.get("/v1/invoices/{id}/pdf", &id, customer(ADA)).await;
    early.problem(409, "pdf_not_ready");
    assert_eq!(
        early.headers.get("retry-after").map(String::as_str),
        Some("5")
    );

    // invoice-pdf puts it where the invoice's rendition is kept.
    let key = invoice.rendition().unwrap().key(invoice.id);
    shopflow_ports::DocumentShelf::shelve(&api.bucket, &key, b"%PDF-".to_vec())
        .await
        .unwrap();
    let link = api.get("/v1/invoices/{id}/pdf", &id, customer(ADA)).await;

    assert_eq!(link.status, 302, "{}", link.body);
    let location = link.headers.get("location").unwrap();
    assert!(
        location.contains(&format!("invoices/{id}/issued.pdf")),
        "{location}"
    );
    assert!(location.contains("expires-in=300"), "{location}");
    assert_eq!(
        link.headers.get("cache-control").map(String::as_str),
        Some("no-store")
    );
    api.get("/v1/invoices/{id}/pdf", &id, customer(GRACE))
        .await
        .problem(404, "not_found");
}
