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

/// Staff bill a customer outside checkout over HTTP: the draft is theirs
/// alone until issued; issued, it takes a number, lists for its customer,
/// and gets its PDF like any invoice.
#[tokio::test]
async fn staff_draft_and_issue_a_manual_invoice_that_its_customer_then_lists() {
    let api = stack().api();
    let admin = stack().admin();
    let customer_id = unique("cust-manual");
    let customer = stack().customer(&customer_id);
    let draft = json!({
        "customer_id": customer_id,
        "buyer": { "name": "Acme Retail Ltd", "address": ["1 High Street", "London", "GB"] },
        "currency": "EUR",
        "lines": [{ "description": "Store setup", "quantity": 2, "unit_price_minor": 12_000 }],
        "tax_minor": 4_560
    });
    let key = unique("draft");
    let drafted = api
        .send(
            "POST",
            "/v1/invoices",
            Some(&admin),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &key),
            ],
            Some(draft.to_string()),
        )
        .await;
    assert_eq!(drafted.status, 201, "{}", drafted.body);
    let id = drafted.body["id"].as_str().unwrap().to_owned();
    let route = format!("/v1/invoices/{id}");
    assert_eq!(api.get(&route, &customer).await.status, 404);
    let mine = format!("/v1/invoices?customer={customer_id}");
    assert_eq!(api.get(&mine, &customer).await.body["invoices"], json!([]));

    let changed = api
        .send(
            "PATCH",
            &route,
            Some(&admin),
            &[("content-type", "application/json")],
            Some(json!({ "shipping_minor": 990 }).to_string()),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["totals"]["total_minor"], 24_000 + 4_560 + 990);

    let issued = api
        .send("POST", &format!("{route}/issue"), Some(&admin), &[], None)
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert!(
        issued.body["number"]
            .as_str()
            .is_some_and(|number| number.starts_with("INV-")),
        "{}",
        issued.body
    );
    let listed = api.get(&mine, &customer).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["invoices"][0]["id"], id.as_str());
    assert_eq!(listed.body["invoices"][0]["status"], "issued");
    let staff = api
        .get(&format!("{mine}&status=issued&overdue=false"), &admin)
        .await;
    assert_eq!(staff.body["invoices"].as_array().unwrap().len(), 1);
    let link = pdf_link_once(&api, &route, &customer).await;
    let (status, pdf) = shopflow_tests::download(&link).await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"));
}
