//! invoice-issuer: `order.paid` issues the order's invoice under the next
//! number of the year, paid by the capture, once however often the event
//! is delivered; orders paid at once get consecutive numbers, no gaps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use invoice_issuer::App;
use serde_json::json;
use shopflow_domain::events::DomainEvent;
use shopflow_domain::invoice::{InvoiceStatus, PaymentMethod, Sequence, Series};
use shopflow_domain::{Order, OrderId, OrderTrigger};
use shopflow_lambda_kit::config;
use shopflow_lambda_kit::config::invoice_terms;
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_ports::{InventoryStore, InvoiceIssue, InvoiceStore, IssueError};
use shopflow_testkit::StoreHooks;
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{ADA, SharedStore, payments, red_tee};
use std::sync::atomic::{AtomicU32, Ordering};
use ulid::Ulid;

struct Issuer<H: StoreHooks = ()> {
    app: App<SharedStore<H>>,
    store: SharedStore<H>,
}

/// Lets every other issue run between reading the sequence and writing
/// the invoice, as concurrent Lambdas would, and counts the numbers taken
/// from under an issue.
#[derive(Default)]
struct Interleaved {
    refused: AtomicU32,
}

#[async_trait]
impl StoreHooks for Interleaved {
    async fn issue_invoice(
        &self,
        memory: &MemoryStore,
        issue: &InvoiceIssue,
    ) -> Result<(), IssueError> {
        tokio::task::yield_now().await;
        let written = memory.issue_invoice(issue).await;
        if matches!(written, Err(IssueError::NumberTaken)) {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        written
    }
}

impl Issuer {
    async fn new() -> Self {
        Self::with_hooks(()).await
    }
}

impl<H: StoreHooks> Issuer<H> {
    async fn with_hooks(hooks: H) -> Self {
        let store = SharedStore::new(hooks);
        store.memory().upsert_product(&red_tee()).await.unwrap();
        let env = config::vars(&[
            ("SELLER_NAME", "Shopflow Demo GmbH"),
            ("SELLER_ADDRESS", "Torstrasse 1 | 10119 Berlin | DE"),
            ("SELLER_TAX_ID", "DE123456789"),
        ]);
        Self {
            app: App::new(store.clone(), invoice_terms(&env).unwrap()),
            store,
        }
    }

    /// An order of Ada's for 3 tees, its money taken.
    async fn paid_order(&self) -> Order {
        let at = shopflow_lambda_kit::now();
        shopflow_testkit::paid_order(self.store.memory(), "TEE-RED", "BER", 3, at).await
    }

    async fn paid(&self, order: OrderId) -> Result<Handled, ConsumeError> {
        self.told("order.paid", order).await
    }

    /// The order's refunds reached `trigger` (a tenth of its total, or all
    /// of it), and the event saying so arrives.
    async fn refunded(
        &self,
        order: OrderId,
        trigger: OrderTrigger,
    ) -> Result<Handled, ConsumeError> {
        let at = shopflow_lambda_kit::now();
        shopflow_testkit::apply(self.store.memory(), order, trigger, &payments(), None, at)
            .await
            .unwrap();
        self.told(trigger.event_name(), order).await
    }

    async fn told(&self, detail_type: &str, order: OrderId) -> Result<Handled, ConsumeError> {
        self.app
            .apply(BusEvent {
                id: Ulid::generate().to_string(),
                detail_type: detail_type.into(),
                source: "shopflow.orders".into(),
                occurred_at: shopflow_lambda_kit::now().to_rfc3339(),
                data: json!({ "order_id": order, "customer_id": ADA }),
            })
            .await
    }

    fn published(&self) -> Vec<&'static str> {
        self.store
            .memory()
            .outbox()
            .iter()
            .filter(|event| matches!(event.event, DomainEvent::InvoiceMoved(_)))
            .map(|event| event.event.detail_type())
            .collect()
    }

    async fn last_number(&self) -> Option<u64> {
        let sequence = Sequence::of(Series::Invoice, shopflow_lambda_kit::now());
        self.store.last_number(sequence).await.unwrap()
    }
}

#[tokio::test]
async fn a_paid_order_gets_its_invoice_paid_by_the_capture() {
    let issuer = Issuer::new().await;
    let order = issuer.paid_order().await;

    assert_eq!(issuer.paid(order.id).await.unwrap(), Handled::Applied);

    let invoices = issuer.store.order_invoices(order.id).await.unwrap();
    let [invoice] = invoices.as_slice() else {
        panic!("one invoice: {invoices:?}")
    };
    let year = shopflow_lambda_kit::now().year();
    assert_eq!(
        invoice.number.unwrap().to_string(),
        format!("INV-{year}-000001")
    );
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert_eq!(invoice.totals.total_minor, order.totals.grand_total.minor);
    assert_eq!(invoice.totals.tax_minor, order.totals.tax.minor);
    assert_eq!(invoice.paid_minor, order.payment.captured_minor);
    assert_eq!(
        invoice.seller.address,
        ["Torstrasse 1", "10119 Berlin", "DE"]
    );
    assert_eq!(invoice.buyer.email.as_ref(), Some(&order.email));
    let records = issuer.store.memory().payment_records();
    let [capture] = records.as_slice() else {
        panic!("one payment record: {records:?}")
    };
    assert_eq!(capture.method, PaymentMethod::Card);
    assert_eq!(capture.allocations[0].invoice_id, invoice.id);
    assert_eq!(capture.unallocated_minor(), 0);
    assert_eq!(issuer.published(), ["invoice.issued", "invoice.paid"]);
}

#[tokio::test]
async fn a_redelivered_payment_issues_nothing_new() {
    let issuer = Issuer::new().await;
    let order = issuer.paid_order().await;
    issuer.paid(order.id).await.unwrap();

    for _ in 0..2 {
        assert_eq!(issuer.paid(order.id).await.unwrap(), Handled::Duplicate);
    }

    assert_eq!(
        issuer.store.order_invoices(order.id).await.unwrap().len(),
        1
    );
    assert_eq!(issuer.last_number().await, Some(1));
    assert_eq!(issuer.published().len(), 2);
}

#[tokio::test]
async fn orders_paid_at_once_get_consecutive_numbers_without_gaps() {
    let issuer = Issuer::with_hooks(Interleaved::default()).await;
    let mut orders = Vec::new();
    for _ in 0..200 {
        orders.push(issuer.paid_order().await.id);
    }

    // All at once; an issue refused a number too often fails its message,
    // and SQS delivers it again.
    let issue_until_done = |order: OrderId| {
        let issuer = &issuer;
        async move {
            loop {
                match issuer.paid(order).await {
                    Ok(handled) => return handled,
                    Err(ConsumeError::Failed(_)) => tokio::task::yield_now().await,
                    Err(other) => panic!("{other}"),
                }
            }
        }
    };
    let handled = futures::future::join_all(orders.iter().map(|id| issue_until_done(*id))).await;

    assert!(handled.iter().all(|handled| *handled == Handled::Applied));
    let mut numbers = Vec::new();
    for order in &orders {
        let invoices = issuer.store.order_invoices(*order).await.unwrap();
        numbers.push(invoices[0].number.unwrap().number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=200).collect::<Vec<u64>>());
    assert_eq!(issuer.last_number().await, Some(200));
    assert!(issuer.store.hooks().refused.load(Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn refunds_are_credited_in_credit_notes_that_add_up_to_what_was_kept() {
    let issuer = Issuer::new().await;
    let order = issuer.paid_order().await;
    issuer.paid(order.id).await.unwrap();

    let part = issuer
        .refunded(order.id, OrderTrigger::PartlyRefunded)
        .await;
    assert_eq!(part.unwrap(), Handled::Applied);
    for again in ["order.partially_refunded", "payment.refunded"] {
        let told = issuer.told(again, order.id).await;
        assert!(matches!(told, Ok(Handled::Ignored(_))), "{again}: {told:?}");
    }
    let rest = issuer.refunded(order.id, OrderTrigger::Refunded).await;
    assert_eq!(rest.unwrap(), Handled::Applied);

    let documents = issuer.store.order_invoices(order.id).await.unwrap();
    let totals: Vec<i64> = documents.iter().map(|d| d.totals.total_minor).collect();
    let total = order.totals.grand_total.minor;
    assert_eq!(totals, [total, -(total / 10), -(total - total / 10)]);
    let year = shopflow_lambda_kit::now().year();
    assert_eq!(
        documents[2].number.unwrap().to_string(),
        format!("CN-{year}-000002")
    );
    assert_eq!(
        issuer.published(),
        [
            "invoice.issued",
            "invoice.paid",
            "credit_note.issued",
            "credit_note.issued"
        ]
    );
}

#[tokio::test]
async fn a_refund_before_the_invoice_waits_for_it() {
    let issuer = Issuer::new().await;
    let order = issuer.paid_order().await;

    let early = issuer
        .refunded(order.id, OrderTrigger::PartlyRefunded)
        .await;

    assert!(matches!(early, Err(ConsumeError::Failed(_))), "{early:?}");
    issuer.paid(order.id).await.unwrap();
    let redelivered = issuer.told("order.partially_refunded", order.id).await;
    assert_eq!(redelivered.unwrap(), Handled::Applied);
}

#[tokio::test]
async fn other_events_and_unknown_orders_issue_nothing() {
    let issuer = Issuer::new().await;
    let event = BusEvent {
        id: Ulid::generate().to_string(),
        detail_type: "order.shipped".into(),
        source: "shopflow.orders".into(),
        occurred_at: shopflow_lambda_kit::now().to_rfc3339(),
        data: json!({}),
    };
    assert!(matches!(
        issuer.app.apply(event).await,
        Ok(Handled::Ignored(_))
    ));

    let nobody = OrderId::from_ulid(Ulid::generate());
    assert!(matches!(
        issuer.paid(nobody).await,
        Err(ConsumeError::Unreadable(_))
    ));
    assert_eq!(issuer.last_number().await, None);
}

#[test]
fn the_seller_must_be_named_and_addressed() {
    let missing = config::vars(&[("SELLER_ADDRESS", "1 Way")]);
    assert!(invoice_terms(&missing).is_err());
    let unaddressed = config::vars(&[("SELLER_NAME", "Shop")]);
    assert!(invoice_terms(&unaddressed).is_err());
    let bad_email = config::vars(&[
        ("SELLER_NAME", "Shop"),
        ("SELLER_ADDRESS", "1 Way"),
        ("SELLER_EMAIL", "not-an-address"),
    ]);
    assert!(invoice_terms(&bad_email).is_err());
    let minimal = config::vars(&[("SELLER_NAME", "Shop"), ("SELLER_ADDRESS", "1 Way")]);
    let terms = invoice_terms(&minimal).unwrap();
    assert_eq!((terms.due_days, terms.seller.tax_id), (14, None));
}

/// An issuer of a shop that bills on delivery.
async fn billing_on_delivery() -> Issuer {
    let issuer = Issuer::new().await;
    Issuer {
        app: issuer
            .app
            .issuing_on(invoice_issuer::IssueOn::FirstShipment),
        store: issuer.store,
    }
}

#[tokio::test]
async fn billing_on_delivery_invoices_on_the_first_shipment_once() {
    let issuer = billing_on_delivery().await;
    let order = issuer.paid_order().await;

    let paid = issuer.paid(order.id).await;
    assert!(matches!(paid, Ok(Handled::Ignored(_))), "{paid:?}");
    assert!(issuer.published().is_empty(), "nothing billed when paid");

    let shipped = issuer.told("shipment.created", order.id).await.unwrap();
    let again = issuer.told("shipment.created", order.id).await.unwrap();

    assert_eq!((shipped, again), (Handled::Applied, Handled::Duplicate));
    assert_eq!(issuer.published(), ["invoice.issued", "invoice.paid"]);
}

#[tokio::test]
async fn billing_on_delivery_credits_refunds_made_before_the_first_shipment() {
    let issuer = billing_on_delivery().await;
    let order = issuer.paid_order().await;

    let early = issuer
        .refunded(order.id, OrderTrigger::PartlyRefunded)
        .await;
    assert!(matches!(early, Ok(Handled::Ignored(_))), "{early:?}");
    issuer.told("shipment.created", order.id).await.unwrap();

    assert_eq!(
        issuer.published(),
        ["invoice.issued", "invoice.paid", "credit_note.issued"]
    );
}

#[tokio::test]
async fn billing_when_paid_ignores_shipments_and_the_setting_is_checked() {
    let issuer = Issuer::new().await;
    let order = issuer.paid_order().await;

    let shipped = issuer.told("shipment.created", order.id).await;
    assert!(matches!(shipped, Ok(Handled::Ignored(_))), "{shipped:?}");
    assert!(issuer.published().is_empty());

    use invoice_issuer::IssueOn;
    let on = |value: &str| IssueOn::from_env(&config::vars(&[("INVOICE_ON", value)]));
    assert_eq!(on("first_shipment").unwrap(), IssueOn::FirstShipment);
    assert_eq!(on("paid").unwrap(), IssueOn::Paid);
    assert_eq!(
        IssueOn::from_env(&config::vars(&[])).unwrap(),
        IssueOn::Paid
    );
    assert!(on("delivery").is_err());
}
