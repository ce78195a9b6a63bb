//! Invoices end to end on the local stack: an order checked out and paid
//! gets its invoice from `order.paid` through the bus and invoice-issuer's
//! queue, numbered in the year's sequence and paid by the capture; only its
//! customer and staff can read it; a refund brings a credit note, and once
//! everything is given back staff can void it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_tests::{Api, paid_order, stack, unique, warehouses};
use std::time::{Duration, Instant};

/// The order's invoice and credit notes, as `token` reads them, once there
/// are `count`.
async fn documents_once(api: &Api, id: &str, token: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api.get(&format!("/v1/orders/{id}/invoices"), token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let invoices = reply.body["invoices"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if invoices.len() >= count || Instant::now() > deadline {
            return invoices;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where `GET <route>/pdf` sends `token`, once the PDF is rendered.
async fn pdf_link_once(api: &Api, route: &str, token: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = api.get(&format!("{route}/pdf"), token).await;
        if reply.status == 302 {
            return reply.headers["location"].to_str().unwrap().to_owned();
        }
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert!(
            Instant::now() < deadline,
            "no PDF after 60 s: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_paid_order_gets_one_paid_invoice_only_its_customer_and_staff_see() {
    let api = stack().api();
    let sku = unique("INVE2E");
    api.product_with_stock(&stack().admin(), &sku, 2_500, &[(&warehouses()[0], 3)])
        .await;
    let (id, buyer) = paid_order(&api, &[(&sku, 3)]).await;

    let invoices = documents_once(&api, &id, &buyer, 1).await;

    let [invoice] = invoices.as_slice() else {
        panic!("one invoice for the order: {invoices:#?}")
    };
    let number = invoice["number"].as_str().unwrap();
    let year = shopflow_lambda_kit::now().year();
    assert!(number.starts_with(&format!("INV-{year}-")), "{number}");
    assert_eq!(number.len(), "INV-2026-000001".len(), "{number}");
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["open_minor"], 0);
    let order = api.get(&format!("/v1/orders/{id}"), &buyer).await.body["order"].clone();
    assert_eq!(
        invoice["totals"]["total_minor"],
        order["totals"]["grand_total_minor"]
    );
    assert_eq!(invoice["lines"][0]["sku"], sku.as_str());
    assert_eq!(invoice["lines"][0]["quantity"], 3);

    let route = format!("/v1/invoices/{}", invoice["id"].as_str().unwrap());
    let read = api.get(&route, &stack().admin()).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["number"], number);
    let stranger = stack().customer(&unique("stranger"));
    assert_eq!(api.get(&route, &stranger).await.status, 404);

    // invoice-pdf renders it from invoice.issued; the buyer downloads it
    // through a link to the private bucket that works for 5 minutes.
    let link = pdf_link_once(&api, &route, &buyer).await;
    let (status, pdf) = shopflow_tests::download(&link).await;
    assert_eq!(status, 200, "{link}");
    assert!(pdf.starts_with(b"%PDF-"), "{link}");
    assert!(link.contains("X-Amz-Expires=300"), "{link}");
    assert_eq!(
        api.get(&format!("{route}/pdf"), &stranger).await.status,
        404
    );

    // Staff give 1,000 back: a credit note of the CN sequence credits it,
    // and the invoice with its notes adds up to what the shop kept.
    let refund = |amount_minor: i64| {
        let api = api.clone();
        let id = id.clone();
        async move {
            api.send(
                "POST",
                &format!("/v1/orders/{id}/refunds"),
                Some(&stack().admin()),
                &[("idempotency-key", &unique("refund"))],
                Some(json!({ "amount_minor": amount_minor, "reason": "scratched" }).to_string()),
            )
            .await
        }
    };
    let refunded = refund(1_000).await;
    assert_eq!(refunded.status, 201, "{}", refunded.body);
    let documents = documents_once(&api, &id, &buyer, 2).await;
    let [_, note] = documents.as_slice() else {
        panic!("the invoice and a credit note: {documents:#?}")
    };
    assert_eq!(note["kind"], "credit_note");
    assert!(
        note["number"]
            .as_str()
            .unwrap()
            .starts_with(&format!("CN-{year}-"))
    );
    assert_eq!(note["credits"]["number"], number);
    assert_eq!(note["totals"]["total_minor"], -1_000);
    let kept = order["totals"]["grand_total_minor"].as_i64().unwrap() - 1_000;
    let billed: i64 = documents
        .iter()
        .map(|d| d["totals"]["total_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(billed, kept);
}
