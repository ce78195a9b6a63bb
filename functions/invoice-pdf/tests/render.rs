//! invoice-pdf: an issued invoice's PDF lands in the bucket once, keyed by
//! invoice and rendition, and is noted on the invoice; a voided one gets
//! its VOID rendition; other events and unknown invoices render nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use invoice_pdf::App;
use serde_json::json;
use shopflow_domain::invoice::{Invoice, Rendition};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError, Handled};
use shopflow_ports::{InventoryStore, InvoiceStore, InvoiceVoid};
use shopflow_testkit::{MemoryBucket, SharedStore, red_tee, unpaid_invoice};

struct Renderer {
    app: App<SharedStore, MemoryBucket>,
    store: SharedStore,
    bucket: MemoryBucket,
}

impl Renderer {
    async fn new() -> Self {
        let store = SharedStore::default();
        store.memory().upsert_product(&red_tee()).await.unwrap();
        let bucket = MemoryBucket::default();
        Self {
            app: App::new(store.clone(), bucket.clone()),
            store,
            bucket,
        }
    }

    /// An unpaid invoice for an order of 2 tees.
    async fn invoice(&self) -> Invoice {
        unpaid_invoice(self.store.memory(), 2, shopflow_lambda_kit::now()).await
    }

    async fn told(&self, detail_type: &str, invoice: &Invoice) -> Result<Handled, ConsumeError> {
        self.app
            .apply(BusEvent {
                id: ulid::Ulid::generate().to_string(),
                detail_type: detail_type.into(),
                source: "shopflow.billing".into(),
                occurred_at: shopflow_lambda_kit::now().to_rfc3339(),
                data: json!({ "invoice_id": invoice.id }),
            })
            .await
    }

    async fn stored(&self, invoice: &Invoice) -> Invoice {
        self.store.invoice(invoice.id).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn an_issued_invoice_gets_its_pdf_once() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;

    assert_eq!(
        renderer.told("invoice.issued", &invoice).await.unwrap(),
        Handled::Applied
    );
    assert_eq!(
        renderer.told("invoice.issued", &invoice).await.unwrap(),
        Handled::Duplicate
    );

    let pdf = renderer
        .bucket
        .object(&format!("invoices/{}/issued.pdf", invoice.id))
        .expect("the issued PDF is in the bucket");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(pdf, shopflow_invoice_pdf::render(&invoice).unwrap());
    assert_eq!(renderer.stored(&invoice).await.pdfs, [Rendition::Issued]);
}

#[tokio::test]
async fn a_voided_invoice_gets_its_void_rendition_beside_the_issued_one() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;
    renderer.told("invoice.issued", &invoice).await.unwrap();
    let at = shopflow_lambda_kit::now();
    let read = renderer.stored(&invoice).await;
    let voided = read.voided("wrong buyer", "admin:staff", 0, at).unwrap();
    renderer
        .store
        .void_invoice(&InvoiceVoid::new(voided, at))
        .await
        .unwrap();

    assert_eq!(
        renderer.told("invoice.voided", &invoice).await.unwrap(),
        Handled::Applied
    );

    let key = |rendition: &str| format!("invoices/{}/{rendition}.pdf", invoice.id);
    assert!(renderer.bucket.object(&key("issued")).is_some());
    let void = renderer.bucket.object(&key("void")).unwrap();
    assert_ne!(void, renderer.bucket.object(&key("issued")).unwrap());
    assert_eq!(
        renderer.stored(&invoice).await.pdfs,
        [Rendition::Issued, Rendition::Void]
    );
}

#[tokio::test]
async fn other_events_and_unknown_invoices_render_nothing() {
    let renderer = Renderer::new().await;
    let invoice = renderer.invoice().await;

    let paid = renderer.told("invoice.paid", &invoice).await;
    assert!(matches!(paid, Ok(Handled::Ignored(_))), "{paid:?}");
    let mut unknown = invoice.clone();
    unknown.id = shopflow_domain::invoice::InvoiceId::made_at(shopflow_lambda_kit::now());
    let missing = renderer.told("invoice.issued", &unknown).await;
    assert!(
        matches!(missing, Err(ConsumeError::Unreadable(_))),
        "{missing:?}"
    );
    assert!(renderer.bucket.objects().is_empty());
}
