//! One payment split across invoices: all of it written or none, each
//! allocation within what is left of the payment and the invoice's open
//! balance, the remainder kept on the record, once per key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use shopflow_domain::invoice::{Invoice, InvoiceStatus};
use shopflow_ports::InvoiceStore;
use shopflow_testkit::{ADA, Reply, admin, customer, json_request};

/// `POST /v1/payments` under `key`.
async fn pay(
    api: &InvoicesApi,
    key: &str,
    body: &Value,
    claims: shopflow_testkit::Claims,
) -> Reply {
    let mut event = json_request("POST", "/v1/payments", &[], Some(body.to_string()), claims);
    event.headers.insert("idempotency-key".into(), key.into());
    api.send(event).await
}

/// A transfer of `amount_minor` split as `allocations` (invoice, amount).
fn transfer(amount_minor: i64, allocations: &[(&Invoice, i64)]) -> Value {
    json!({
        "method": "bank_transfer",
        "amount_minor": amount_minor,
        "currency": "EUR",
        "reference": "SEPA 2026-118",
        "allocations": allocations
            .iter()
            .map(|(invoice, amount)| json!({ "invoice_id": invoice.id, "amount_minor": amount }))
            .collect::<Vec<_>>(),
    })
}

async fn two_unpaid(api: &InvoicesApi) -> (Invoice, Invoice) {
    (api.unpaid_invoice().await, api.unpaid_invoice().await)
}

#[tokio::test]
async fn one_transfer_pays_one_invoice_in_full_and_another_in_part_and_keeps_the_rest() {
    let api = InvoicesApi::new().await;
    let (first, second) = two_unpaid(&api).await;
    let total = first.totals.total_minor;

    let paid = pay(
        &api,
        "split-1",
        &transfer(2 * total, &[(&first, total), (&second, 1_000)]),
        admin(),
    )
    .await;

    assert_eq!(paid.status, 201, "{}", paid.body);
    let body = paid.json();
    assert_eq!(
        body["payment"]["unallocated_minor"],
        2 * total - total - 1_000
    );
    assert_eq!(body["payment"]["allocations"].as_array().unwrap().len(), 2);
    assert_eq!(body["invoices"][0]["status"], "paid");
    assert_eq!(body["invoices"][1]["status"], "partially_paid");
    let stored = api.store.invoice(second.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.paid_minor),
        (InvoiceStatus::PartiallyPaid, 1_000)
    );
    assert_eq!(
        api.published(),
        [
            "invoice.issued",
            "invoice.issued",
            "invoice.paid",
            "invoice.partially_paid"
        ]
    );

    let again = pay(
        &api,
        "split-1",
        &transfer(2 * total, &[(&first, total), (&second, 1_000)]),
        admin(),
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["payment"]["id"], body["payment"]["id"]);
    assert_eq!(api.published().len(), 4, "a retry records nothing");
}

#[tokio::test]
async fn an_allocation_past_either_side_refuses_the_whole_payment_naming_the_invoice() {
    let api = InvoicesApi::new().await;
    let (first, second) = two_unpaid(&api).await;
    let total = first.totals.total_minor;

    let past_balance = pay(
        &api,
        "split-1",
        &transfer(3 * total, &[(&first, 100), (&second, total + 1)]),
        admin(),
    )
    .await;
    past_balance.problem(422, "allocation_exceeds_balance");
    let details = &past_balance.json()["error"]["details"];
    assert_eq!(details["invoice_id"], second.id.to_string());
    assert_eq!(details["open_minor"], total);

    let past_payment = pay(
        &api,
        "split-2",
        &transfer(500, &[(&first, 300), (&second, 300)]),
        admin(),
    )
    .await;
    past_payment.problem(422, "allocation_exceeds_payment");
    assert_eq!(
        past_payment.json()["error"]["details"]["unallocated_minor"],
        200
    );

    pay(
        &api,
        "split-3",
        &transfer(500, &[(&first, 100), (&first, 100)]),
        admin(),
    )
    .await
    .problem(422, "invoice_allocated_twice");
    let mut dollars = transfer(500, &[(&first, 100)]);
    dollars["currency"] = json!("USD");
    pay(&api, "split-4", &dollars, admin())
        .await
        .problem(422, "currency_mismatch");

    for invoice in [&first, &second] {
        let stored = api.store.invoice(invoice.id).await.unwrap().unwrap();
        assert_eq!(stored.paid_minor, 0, "nothing was allocated");
    }
    assert!(api.store.memory().payment_records().is_empty());
}

#[tokio::test]
async fn only_staff_record_payments_and_every_field_is_checked() {
    let api = InvoicesApi::new().await;
    let (first, _) = two_unpaid(&api).await;

    pay(
        &api,
        "mine",
        &transfer(100, &[(&first, 100)]),
        customer(ADA),
    )
    .await
    .problem(403, "forbidden");
    let with = |field: &str, value: Value| {
        let mut body = transfer(100, &[(&first, 100)]);
        body[field] = value;
        body
    };
    for (n, body) in [
        with("allocations", json!([])),
        with(
            "allocations",
            json!([{ "invoice_id": "nope", "amount_minor": 1 }]),
        ),
        with(
            "allocations",
            json!([{ "invoice_id": first.id, "amount_minor": 0 }]),
        ),
        with("method", json!("card")),
        with("currency", json!("euro")),
        with("amount_minor", json!(0)),
    ]
    .iter()
    .enumerate()
    {
        let reply = pay(&api, &format!("bad-{n}"), body, admin()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    let unknown = json!({
        "method": "cash", "amount_minor": 100, "currency": "EUR", "reference": "till",
        "allocations": [{ "invoice_id": "01KB0000000000000000000000", "amount_minor": 100 }]
    });
    pay(&api, "unknown", &unknown, admin())
        .await
        .problem(404, "not_found");
}
