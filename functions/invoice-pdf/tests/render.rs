//! invoice-pdf: the document an event carries is rendered into the bucket,
//! keyed by invoice and rendition, the same bytes however often it comes;
//! a voided one gets its VOID rendition beside the issued one; other events
//! and events with no document render nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use invoice_pdf::App;
use serde_json::{Value, json};
use shopflow_domain::events::{InvoiceMove, InvoiceMoved};
use shopflow_domain::invoice::Invoice;
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_ports::InventoryStore;
use shopflow_testkit::{MemoryBucket, SharedStore, red_tee, unpaid_invoice};

struct Renderer {
    app: App<MemoryBucket>,
    store: SharedStore,
    bucket: MemoryBucket,
}

impl Renderer {
    async fn new() -> Self {
        let store = SharedStore::default();
        store.memory().upsert_product(&red_tee()).await.unwrap();
        let bucket = MemoryBucket::default();
        Self {
            app: App::new(bucket.clone()),
            store,
            bucket,
        }
    }

    /// An unpaid invoice for an order of 2 tees.
    async fn invoice(&self) -> Invoice {
        unpaid_invoice(self.store.memory(), 2, shopflow_lambda_kit::now()).await
    }

    /// `kind`'s event about `invoice`, as the bus delivers it.
    async fn told(&self, kind: InvoiceMove, invoice: &Invoice) -> Result<Handled, ConsumeError> {
        let data = serde_json::to_value(InvoiceMoved::new(kind, invoice)).unwrap();
        self.told_data(kind.detail_type(), data).await
    }

    async fn told_data(&self, detail_type: &str, data: Value) -> Result<Handled, ConsumeError> {
        self.app
            .apply(BusEvent {
                id: ulid::Ulid::generate().to_string(),
                detail_type: detail_type.into(),
                source: "shopflow.billing".into(),
                occurred_at: shopflow_lambda_kit::now().to_rfc3339(),
                data,
            })
            .await
    }
}

#[tokio::test]
async fn an_issued_invoice_gets_its_pdf_the_same_however_often_told() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;
    let key = format!("invoices/{}/issued.pdf", invoice.id);

    assert_eq!(
        renderer.told(InvoiceMove::Issued, &invoice).await.unwrap(),
        Handled::Applied
    );
    let pdf = renderer
        .bucket
        .object(&key)
        .expect("the issued PDF is in the bucket");
    renderer.told(InvoiceMove::Issued, &invoice).await.unwrap();

    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(pdf, shopflow_invoice_pdf::render(&invoice).unwrap());
    assert_eq!(renderer.bucket.object(&key).unwrap(), pdf);
    let void = format!("invoices/{}/void.pdf", invoice.id);
    assert_eq!(renderer.bucket.object(&void), None);
}

#[tokio::test]
async fn a_voided_invoice_gets_its_void_rendition_beside_the_issued_one() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;
    renderer.told(InvoiceMove::Issued, &invoice).await.unwrap();
    let at = shopflow_lambda_kit::now();
    let voided = invoice.voided("wrong buyer", "admin:staff", 0, at).unwrap();

    assert_eq!(
        renderer.told(InvoiceMove::Voided, &voided).await.unwrap(),
        Handled::Applied
    );

    let key = |rendition: &str| format!("invoices/{}/{rendition}.pdf", invoice.id);
    let issued = renderer.bucket.object(&key("issued")).unwrap();
    let void = renderer.bucket.object(&key("void")).unwrap();
    assert_ne!(void, issued);
    assert_eq!(void, shopflow_invoice_pdf::render(&voided).unwrap());
}

#[tokio::test]
async fn other_events_and_events_with_no_document_render_nothing() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;

    let paid = renderer.told(InvoiceMove::Paid, &invoice).await;
    assert!(matches!(paid, Ok(Handled::Ignored(_))), "{paid:?}");
    let bare = renderer
        .told_data("invoice.issued", json!({ "invoice_id": invoice.id }))
        .await;
    assert!(matches!(bare, Err(ConsumeError::Unreadable(_))), "{bare:?}");
    let mut draft = serde_json::to_value(InvoiceMoved::new(InvoiceMove::Issued, &invoice)).unwrap();
    draft["document"]["status"] = json!("draft");
    let drafted = renderer.told_data("invoice.issued", draft).await;
    assert!(
        matches!(drafted, Err(ConsumeError::Unreadable(_))),
        "{drafted:?}"
    );
    assert!(renderer.bucket.objects().is_empty());
}
