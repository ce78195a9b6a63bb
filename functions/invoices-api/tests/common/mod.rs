//! The invoices handler over an in-memory store holding a shop that sells
//! red tees, with helpers to invoice orders and to send requests shaped as
//! API Gateway sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use invoices_api::App;
use serde_json::Value;
use shopflow_domain::events::DomainEvent;
use shopflow_domain::invoice::{Invoice, InvoiceId};
use shopflow_domain::{Order, OrderTrigger, Timestamp};
use shopflow_ports::{InventoryStore, Invoiced, credit_refunds, issue_order_invoice};
use shopflow_testkit::{
    Claims, MemoryBucket, Reply, SharedStore, admin, invoice_terms, json_request, payments,
    red_tee, request, unpaid_invoice,
};

pub struct InvoicesApi {
    pub app: App<SharedStore, MemoryBucket>,
    pub store: SharedStore,
    pub bucket: MemoryBucket,
}

impl InvoicesApi {
    pub async fn new() -> Self {
        let store = SharedStore::default();
        store.memory().upsert_product(&red_tee()).await.unwrap();
        let bucket = MemoryBucket::default();
        Self {
            app: App::new(store.clone(), bucket.clone(), invoice_terms()),
            store,
            bucket,
        }
    }

    /// Ada's paid order for 3 tees and its invoice, issued at `at`.
    pub async fn invoiced_order(&self, at: Timestamp) -> (Order, Invoice) {
        let memory = self.store.memory();
        let order = shopflow_testkit::paid_order(memory, "TEE-RED", "BER", 3, at).await;
        (
            order.clone(),
            issued(issue_order_invoice(memory, &order, &invoice_terms(), at).await),
        )
    }

    /// An invoice for an order of Ada's for 3 tees whose money was never
    /// taken.
    pub async fn unpaid_invoice(&self) -> Invoice {
        self.unpaid_invoice_at(shopflow_lambda_kit::now()).await
    }

    /// [`Self::unpaid_invoice`], issued at `at`.
    pub async fn unpaid_invoice_at(&self, at: Timestamp) -> Invoice {
        unpaid_invoice(self.store.memory(), 3, at).await
    }

    /// Gives back all the order's money and credits it, as invoice-issuer
    /// does on the refund.
    pub async fn refund_all(&self, order: &Order) {
        let memory = self.store.memory();
        let at = shopflow_lambda_kit::now();
        shopflow_testkit::apply(
            memory,
            order.id,
            OrderTrigger::Refunded,
            &payments(),
            None,
            at,
        )
        .await
        .unwrap();
        let refunded = shopflow_ports::OrderReader::order(memory, order.id)
            .await
            .unwrap()
            .unwrap();
        credit_refunds(memory, &refunded, &invoice_terms(), at)
            .await
            .unwrap();
    }

    pub async fn get(&self, route: &str, id: &str, claims: Claims) -> Reply {
        self.send(request("GET", route, &[("id", id)], claims))
            .await
    }

    /// `POST /v1/invoices/{id}/payments` under `key` with `body`.
    pub async fn pay(&self, id: InvoiceId, key: &str, body: &Value, claims: Claims) -> Reply {
        self.send_json(
            "POST",
            "/v1/invoices/{id}/payments",
            id,
            body,
            claims,
            Some(key),
        )
        .await
    }

    /// `POST /v1/invoices/{id}/void` by staff with `body`.
    pub async fn void(&self, id: InvoiceId, body: &Value) -> Reply {
        self.send_json("POST", "/v1/invoices/{id}/void", id, body, admin(), None)
            .await
    }

    pub async fn send_json(
        &self,
        method: &str,
        route: &str,
        id: InvoiceId,
        body: &Value,
        claims: Claims,
        key: Option<&str>,
    ) -> Reply {
        let mut event = json_request(
            method,
            route,
            &[("id", &id.to_string())],
            Some(body.to_string()),
            claims,
        );
        if let Some(key) = key {
            event.headers.insert("idempotency-key".into(), key.into());
        }
        self.send(event).await
    }

    /// `POST /v1/invoices` under `key` with `body`.
    pub async fn draft(&self, key: &str, body: &Value, claims: Claims) -> Reply {
        let mut event = json_request("POST", "/v1/invoices", &[], Some(body.to_string()), claims);
        event.headers.insert("idempotency-key".into(), key.into());
        self.send(event).await
    }

    /// `GET /v1/invoices?<query>`.
    pub async fn list(&self, query: &str, claims: Claims) -> Reply {
        let mut event = request("GET", "/v1/invoices", &[], claims);
        event.raw_query = query.into();
        self.send(event).await
    }

    pub async fn send(&self, event: shopflow_lambda_kit::apigw::HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    /// The invoice events recorded, oldest first.
    pub fn published(&self) -> Vec<&'static str> {
        self.store
            .memory()
            .outbox()
            .iter()
            .filter(|event| matches!(event.event, DomainEvent::InvoiceMoved(_)))
            .map(|event| event.event.detail_type())
            .collect()
    }
}

fn issued(outcome: Result<Invoiced, shopflow_ports::InvoicingError>) -> Invoice {
    match outcome.unwrap() {
        Invoiced::Issued(invoice) => *invoice,
        other => panic!("issued once: {other:?}"),
    }
}
