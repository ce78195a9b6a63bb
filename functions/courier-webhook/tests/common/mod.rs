//! The courier webhook over an in-memory store holding paid orders shipped
//! by USPS and DHL, with the carriers' secrets in memory, and pushes built
//! and signed as each carrier builds and signs them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use courier_webhook::{App, Settings};
use shopflow_domain::{Carrier, Order, OrderId, Product, Shipment, Timestamp};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{InventoryStore, OrderReader, ShipmentStore};
use shopflow_testkit::couriers::Scan;
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{MemoryBucket, MemorySecrets, Reply, SharedStore, anonymous, eur, sku};
use std::collections::{BTreeMap, HashMap};

pub use shopflow_testkit::couriers;

pub const USPS_SECRET: &str = "usps-shared-secret";
pub const DHL_TOKEN: &str = "dhl-static-token";
const USPS_PARAMETER: &str = "/shopflow/test/couriers/usps";
const DHL_PARAMETER: &str = "/shopflow/test/couriers/dhl";

pub struct CourierWebhook {
    app: App<SharedStore, MemoryBucket, MemorySecrets>,
    store: SharedStore,
    pub bucket: MemoryBucket,
}

impl CourierWebhook {
    pub async fn new() -> Self {
        let store = SharedStore::default();
        let tee = Product {
            sku: sku("TEE"),
            name: "Tee".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&tee).await.unwrap();
        let bucket = MemoryBucket::default();
        let secrets = MemorySecrets(HashMap::from([
            (USPS_PARAMETER.to_owned(), USPS_SECRET.to_owned()),
            (DHL_PARAMETER.to_owned(), DHL_TOKEN.to_owned()),
        ]));
        let settings = Settings {
            usps_secret_parameter: USPS_PARAMETER.into(),
            usps_tolerance_secs: 300,
            dhl_token_parameter: DHL_PARAMETER.into(),
            dhl_token_header: "dhl-api-key".into(),
        };
        Self {
            app: App::new(store.clone(), bucket.clone(), secrets, settings),
            store,
            bucket,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// A paid order of Ada's for `tees` tees, all shipped by `carrier`
    /// under `number`.
    pub async fn shipped(&self, carrier: Carrier, number: &str, tees: u32) -> Shipment {
        let order = self.paid(tees).await;
        shopflow_testkit::ship_all(self.store(), &order, carrier, number, now()).await
    }

    pub async fn paid(&self, tees: u32) -> Order {
        shopflow_testkit::paid_order(self.store(), "TEE", "BER", tees, now()).await
    }

    pub async fn order(&self, id: OrderId) -> Order {
        self.store().order(id).await.unwrap().unwrap()
    }

    pub async fn shipment(&self, shipment: &Shipment) -> Shipment {
        self.store().shipment(shipment.id).await.unwrap().unwrap()
    }

    /// `body` posted to `/v1/webhooks/couriers/{carrier}` with `headers`.
    pub async fn push(&self, carrier: &str, body: &str, headers: &[(&str, String)]) -> Reply {
        let mut event = shopflow_testkit::json_request(
            "POST",
            "/v1/webhooks/couriers/{carrier}",
            &[("carrier", carrier)],
            Some(body.to_owned()),
            anonymous(),
        );
        let extra: BTreeMap<String, String> = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect();
        event.headers.extend(extra);
        self.send(event).await
    }

    /// A USPS push of `scans` for `number`, signed now with the right secret.
    pub async fn usps(&self, number: &str, scans: &[Scan]) -> Reply {
        let body = couriers::usps_push(number, scans);
        let headers = couriers::usps_signature(USPS_SECRET, now(), &body);
        self.push("usps", &body, &headers).await
    }

    /// A DHL push of `scans` for `number`, with the right token.
    pub async fn dhl(&self, number: &str, scans: &[Scan]) -> Reply {
        let body = couriers::dhl_push(number, scans);
        self.push("dhl", &body, &[("dhl-api-key", DHL_TOKEN.into())])
            .await
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    /// Detail-types of the events recorded so far, oldest first.
    pub fn detail_types(&self) -> Vec<&'static str> {
        self.store()
            .outbox()
            .iter()
            .map(|recorded| recorded.event.detail_type())
            .collect()
    }
}

pub fn now() -> Timestamp {
    shopflow_lambda_kit::now()
}

/// A parcel's standard journey, starting a day ago.
pub fn delivered_journey(carrier: Carrier) -> Vec<Scan> {
    couriers::Journey::Delivered.scans(carrier, now().minus_secs(86_400))
}
