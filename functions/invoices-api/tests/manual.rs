//! Staff bill outside checkout: a draft kept once per key, changed while it
//! is a draft, issued once under the next number; and the listings, the
//! caller's own or (staff) anyone's, narrowed and paged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use shopflow_domain::invoice::InvoiceId;
use shopflow_testkit::{ADA, GRACE, admin, customer};

fn setup_work() -> Value {
    json!({
        "customer_id": ADA,
        "buyer": { "name": "Ada Lovelace", "address": ["12 St James's Square", "London", "GB"], "email": "ada@example.com" },
        "currency": "EUR",
        "lines": [
            { "description": "Store setup", "quantity": 3, "unit_price_minor": 12_000 },
            { "sku": "TEE-RED", "description": "Sample tee", "quantity": 1, "unit_price_minor": 2_500 }
        ],
        "tax_minor": 7_315
    })
}

fn id_of(reply: &shopflow_testkit::Reply) -> InvoiceId {
    reply.json()["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn staff_draft_change_and_issue_a_manual_invoice_under_the_next_number() {
    let api = InvoicesApi::new().await;

    let drafted = api.draft("draft-1", &setup_work(), admin()).await;
    assert_eq!(drafted.status, 201, "{}", drafted.body);
    let body = drafted.json();
    assert_eq!(body["status"], "draft");
    assert_eq!(body["number"], Value::Null);
    assert_eq!(body["order_id"], Value::Null);
    assert_eq!(body["lines"][0]["total_minor"], 36_000);
    assert_eq!(body["totals"]["total_minor"], 36_000 + 2_500 + 7_315);
    let id = id_of(&drafted);
    // The customer does not see it until it is issued.
    api.get("/v1/invoices/{id}", &id.to_string(), customer(ADA))
        .await
        .problem(404, "not_found");

    let changed = api
        .send_json(
            "PATCH",
            "/v1/invoices/{id}",
            id,
            &json!({ "lines": [{ "description": "Store setup", "quantity": 4, "unit_price_minor": 12_000 }], "tax_minor": 9_120 }),
            admin(),
            None,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["totals"]["total_minor"], 48_000 + 9_120);
    assert_eq!(changed.json()["buyer"]["name"], "Ada Lovelace");

    let issued = api
        .send_json(
            "POST",
            "/v1/invoices/{id}/issue",
            id,
            &json!({}),
            admin(),
            None,
        )
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let body = issued.json();
    assert_eq!(body["status"], "issued");
    let year = body["issued_at"].as_str().unwrap()[..4].to_owned();
    assert_eq!(body["number"], format!("INV-{year}-000001"));
    assert!(body["due_at"].is_string());
    assert_eq!(body["open_minor"], 57_120);
    assert_eq!(api.published(), ["invoice.issued"]);

    let read = api
        .get("/v1/invoices/{id}", &id.to_string(), customer(ADA))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    // Issued once, never edited.
    api.send_json(
        "POST",
        "/v1/invoices/{id}/issue",
        id,
        &json!({}),
        admin(),
        None,
    )
    .await
    .problem(409, "invoice_not_draft");
    api.send_json(
        "PATCH",
        "/v1/invoices/{id}",
        id,
        &json!({ "tax_minor": 0 }),
        admin(),
        None,
    )
    .await
    .problem(409, "invoice_not_draft");
    assert_eq!(api.published(), ["invoice.issued"]);
}

#[tokio::test]
async fn a_retried_draft_answers_the_same_draft_and_another_body_is_refused() {
    let api = InvoicesApi::new().await;
    let first = api.draft("draft-1", &setup_work(), admin()).await;
    let again = api.draft("draft-1", &setup_work(), admin()).await;

    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(id_of(&again), id_of(&first));
    let mut other = setup_work();
    other["tax_minor"] = json!(1);
    api.draft("draft-1", &other, admin())
        .await
        .problem(422, "idempotency_key_reused");
    let listed = api.list("", admin()).await.json();
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_manual_invoice_refuses_bad_bills_and_customers() {
    let api = InvoicesApi::new().await;
    let with = |field: &str, value: Value| {
        let mut body = setup_work();
        body[field] = value;
        body
    };
    let bad = [
        with("lines", json!([])),
        with(
            "lines",
            json!([{ "description": "x", "quantity": 0, "unit_price_minor": 1 }]),
        ),
        with(
            "lines",
            json!([{ "description": " ", "quantity": 1, "unit_price_minor": 1 }]),
        ),
        with(
            "lines",
            json!([{ "sku": "A#B", "description": "x", "quantity": 1, "unit_price_minor": 1 }]),
        ),
        with("currency", json!("euro")),
        with("customer_id", json!("")),
        with("buyer", json!({ "name": "Ada", "address": [] })),
        with(
            "buyer",
            json!({ "name": "Ada", "address": ["x"], "email": "not-an-address" }),
        ),
        with("tax_minor", json!(-1)),
    ];
    for (n, body) in bad.iter().enumerate() {
        let reply = api.draft(&format!("bad-{n}"), body, admin()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    let huge = with(
        "lines",
        json!([
            { "description": "a", "quantity": 1, "unit_price_minor": 1_000_000_000_000_i64 },
            { "description": "b", "quantity": 1, "unit_price_minor": 1 }
        ]),
    );
    api.draft("huge", &huge, admin())
        .await
        .problem(422, "amount_out_of_range");
    api.draft("mine", &setup_work(), customer(ADA))
        .await
        .problem(403, "forbidden");
    assert_eq!(api.list("", admin()).await.json()["invoices"], json!([]));
}

#[tokio::test]
async fn customers_list_their_own_issued_invoices_and_staff_list_everyones() {
    let api = InvoicesApi::new().await;
    let at = shopflow_lambda_kit::now();
    let (order, invoice) = api.invoiced_order(at).await;
    let unpaid = api.unpaid_invoice().await;
    let draft = id_of(&api.draft("draft-1", &setup_work(), admin()).await);
    let ids = |reply: shopflow_testkit::Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|invoice| invoice["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (invoice, unpaid, draft) = (
        invoice.id.to_string(),
        unpaid.id.to_string(),
        draft.to_string(),
    );

    assert_eq!(
        ids(api.list("", customer(ADA)).await),
        [unpaid.as_str(), invoice.as_str()]
    );
    assert_eq!(
        ids(api.list("", admin()).await),
        [draft.as_str(), unpaid.as_str(), invoice.as_str()]
    );
    assert_eq!(
        ids(api.list("status=draft", admin()).await),
        [draft.as_str()]
    );
    assert_eq!(
        ids(api.list("status=paid", customer(ADA)).await),
        [invoice.as_str()]
    );
    assert_eq!(
        ids(api
            .list(&format!("order={}", order.id), customer(ADA))
            .await),
        [invoice.as_str()]
    );
    assert_eq!(
        ids(api.list("overdue=true", admin()).await),
        Vec::<String>::new()
    );
    assert!(ids(api.list("customer=cust-nobody", admin()).await).is_empty());
    assert!(ids(api.list("", customer(GRACE)).await).is_empty());
    api.list(&format!("customer={ADA}"), customer(GRACE))
        .await
        .problem(404, "not_found");

    let first = api.list("limit=2", admin()).await.json();
    assert_eq!(first["invoices"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = api
        .list(&format!("limit=2&cursor={cursor}"), admin())
        .await
        .json();
    assert_eq!(rest["invoices"][0]["id"], invoice);
    assert_eq!(rest["next_cursor"], Value::Null);

    api.list("cursor=bm90LWFuLWlk", admin())
        .await
        .problem(422, "invalid_cursor");
    for bad in ["status=late", "overdue=maybe", "limit=0", "from=yesterday"] {
        assert_eq!(api.list(bad, admin()).await.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn whole_numbers_written_with_a_fraction_are_whole_numbers() {
    let api = InvoicesApi::new().await;
    let mut body = setup_work();
    body["lines"][0]["quantity"] = json!(3.0);
    body["tax_minor"] = json!(7315.0);

    let drafted = api.draft("floats", &body, admin()).await;

    assert_eq!(drafted.status, 201, "{}", drafted.body);
    assert_eq!(drafted.json()["lines"][0]["quantity"], 3);
}
