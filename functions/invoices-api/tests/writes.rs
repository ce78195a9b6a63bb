//! Staff record money received for an invoice, allocated to it within its
//! balance and once per idempotency key, and void an invoice once no money
//! on it is held; customers may do neither.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use shopflow_domain::invoice::InvoiceStatus;
use shopflow_ports::InvoiceStore;
use shopflow_testkit::{ADA, admin, customer};

fn transfer(amount_minor: i64) -> Value {
    json!({ "method": "bank_transfer", "amount_minor": amount_minor, "reference": "SEPA 2026-117" })
}

#[tokio::test]
async fn a_transfer_pays_an_invoice_in_part_then_in_full() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;
    let total = invoice.totals.total_minor;

    let part = api
        .pay(invoice.id, "key-1", &transfer(1_000), admin())
        .await;
    assert_eq!(part.status, 201, "{}", part.body);
    let body = part.json();
    assert_eq!(body["payment"]["method"], "bank_transfer");
    assert_eq!(body["payment"]["allocations"][0]["amount_minor"], 1_000);
    assert_eq!(body["invoice"]["status"], "partially_paid");
    assert_eq!(body["invoice"]["open_minor"], total - 1_000);

    let rest = api
        .pay(invoice.id, "key-2", &transfer(total - 1_000), admin())
        .await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(rest.json()["invoice"]["status"], "paid");
    let stored = api.store.invoice(invoice.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.paid_minor),
        (InvoiceStatus::Paid, total)
    );
    assert_eq!(
        api.published(),
        ["invoice.issued", "invoice.partially_paid", "invoice.paid"]
    );
}

#[tokio::test]
async fn more_than_the_open_balance_is_422_with_the_figures_and_writes_nothing() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;
    let total = invoice.totals.total_minor;

    let over = api
        .pay(invoice.id, "key-1", &transfer(total + 1), admin())
        .await;

    over.problem(422, "allocation_exceeds_balance");
    let details = &over.json()["error"]["details"];
    assert_eq!(details["amount_minor"], total + 1);
    assert_eq!(details["open_minor"], total);
    assert_eq!(api.store.memory().payment_records().len(), 0);
}

#[tokio::test]
async fn a_retry_under_its_key_answers_the_same_payment_and_another_body_is_refused() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;

    let first = api.pay(invoice.id, "key-1", &transfer(700), admin()).await;
    let again = api.pay(invoice.id, "key-1", &transfer(700), admin()).await;
    let other = api.pay(invoice.id, "key-1", &transfer(800), admin()).await;

    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["payment"]["id"], first.json()["payment"]["id"]);
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(api.store.memory().payment_records().len(), 1);
}

#[tokio::test]
async fn a_payment_must_be_real_money_by_hand_from_staff() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;
    let bad = [
        json!({ "method": "card", "amount_minor": 100, "reference": "x" }),
        json!({ "method": "cheque", "amount_minor": 100, "reference": "x" }),
        json!({ "method": "cash", "amount_minor": 0, "reference": "x" }),
        json!({ "method": "cash", "amount_minor": 1.5, "reference": "x" }),
        json!({ "method": "cash", "amount_minor": 100, "reference": " " }),
        json!({ "method": "cash", "amount_minor": 100, "reference": "x", "tip": 1 }),
    ];
    for (n, body) in bad.iter().enumerate() {
        let reply = api
            .pay(invoice.id, &format!("bad-{n}"), body, admin())
            .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    let mine = api
        .pay(invoice.id, "key-1", &transfer(100), customer(ADA))
        .await;
    assert_eq!(mine.status, 403, "{}", mine.body);
    let elsewhere = api
        .pay(
            shopflow_domain::invoice::InvoiceId::from_ulid(ulid::Ulid::generate()),
            "key-2",
            &transfer(100),
            admin(),
        )
        .await;
    elsewhere.problem(404, "not_found");
}

#[tokio::test]
async fn an_invoice_is_voided_once_the_money_on_it_is_given_back_and_keeps_its_number() {
    let api = InvoicesApi::new().await;
    let (order, invoice) = api.invoiced_order(shopflow_lambda_kit::now()).await;

    let refused = api
        .void(invoice.id, &json!({ "reason": "duplicate" }))
        .await;
    refused.problem(409, "money_allocated");
    assert_eq!(
        refused.json()["error"]["details"]["paid_minor"],
        invoice.paid_minor
    );

    api.refund_all(&order).await;
    let voided = api
        .void(invoice.id, &json!({ "reason": "duplicate" }))
        .await;
    assert_eq!(voided.status, 200, "{}", voided.body);
    let body = voided.json();
    assert_eq!(body["status"], "void");
    assert_eq!(body["number"], invoice.number.unwrap().to_string());
    assert_eq!(body["voided"]["reason"], "duplicate");

    api.void(invoice.id, &json!({ "reason": "again" }))
        .await
        .problem(409, "invoice_not_voidable");
    assert_eq!(api.published().last(), Some(&"invoice.voided"));
}

#[tokio::test]
async fn an_unpaid_invoice_is_voided_at_once_and_takes_no_more_money() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;

    assert_eq!(
        api.void(invoice.id, &json!({ "reason": "wrong buyer" }))
            .await
            .status,
        200
    );

    api.pay(invoice.id, "key-1", &transfer(100), admin())
        .await
        .problem(409, "invoice_not_open");
    api.void(invoice.id, &json!({ "reason": " " }))
        .await
        .problem(400, "invalid_request");
}

#[tokio::test]
async fn staff_only_void() {
    let api = InvoicesApi::new().await;
    let invoice = api.unpaid_invoice().await;
    let reply = api
        .send_json(
            "POST",
            "/v1/invoices/{id}/void",
            invoice.id,
            &json!({ "reason": "x" }),
            customer(ADA),
            None,
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
}
