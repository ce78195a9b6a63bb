//! The poller over an in-memory store of paid orders shipped by Canada Post
//! and Chit Chats, and a scripted fake of the carriers' tracking APIs: each
//! parcel answers its journey as the carrier would, unless the script says
//! the next calls fail or are refused (the test kit's `FakeCarriers`).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use courier_poller::{App, PollReport, PollSettings};
use shopflow_domain::{Carrier, Product, Shipment, Timestamp};
use shopflow_ports::{InventoryStore, ShipmentStore};
use shopflow_testkit::couriers::{FakeCarriers, Journey};
use shopflow_testkit::memory::MemoryStore;
use shopflow_testkit::{MemoryBucket, SharedStore, eur, sku};
use std::time::Duration;

pub use shopflow_testkit::couriers::Scripted;
use ulid::Ulid;

/// 2025-06-15T..: the poller's clock, moved by hand.
pub const T0: Timestamp = Timestamp::from_millis(1_750_000_000_000);

pub struct Poller {
    app: App<SharedStore, MemoryBucket, FakeCarriers>,
    store: SharedStore,
    pub carriers: FakeCarriers,
    pub bucket: MemoryBucket,
}

impl Poller {
    pub async fn new() -> Self {
        let store = SharedStore::default();
        let tee = Product {
            sku: sku("TEE"),
            name: "Tee".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&tee).await.unwrap();
        let carriers = FakeCarriers::default();
        let bucket = MemoryBucket::default();
        let settings = PollSettings {
            carriers: vec![Carrier::CanadaPost, Carrier::ChitChats],
            interval: Duration::from_secs(3_600),
            concurrency: 4,
            time_budget: Duration::from_secs(45),
        };
        Self {
            app: App::new(store.clone(), bucket.clone(), carriers.clone(), settings),
            store,
            carriers,
            bucket,
        }
    }

    pub fn store(&self) -> &MemoryStore {
        self.store.memory()
    }

    /// A paid order of one tee, shipped by `carrier` at `at` under a fresh
    /// number, whose journey so far is `journey`'s first `scanned` scans.
    pub async fn shipped(&self, carrier: Carrier, at: Timestamp, scanned: usize) -> Shipment {
        let order = shopflow_testkit::paid_order(self.store(), "TEE", "BER", 1, at).await;
        let number = format!(
            "{}{}",
            if carrier == Carrier::CanadaPost {
                "CP"
            } else {
                "CC"
            },
            Ulid::generate()
        );
        let shipment = shopflow_testkit::ship_all(self.store(), &order, carrier, &number, at).await;
        self.scan(&shipment, scanned, at);
        shipment
    }

    /// The parcel's journey so far: the delivered journey's first `scanned`
    /// scans, starting at `at`.
    pub fn scan(&self, shipment: &Shipment, scanned: usize, at: Timestamp) {
        let scans = Journey::Delivered.scans(shipment.carrier, at);
        self.carriers.scanned(
            shipment.tracking_number.as_str(),
            scans.into_iter().take(scanned).collect(),
        );
    }

    pub async fn run(&self, at: Timestamp) -> PollReport {
        let _logging = shopflow_testkit::logging();
        self.app.poll(at).await.unwrap()
    }

    pub async fn shipment(&self, shipment: &Shipment) -> Shipment {
        self.store().shipment(shipment.id).await.unwrap().unwrap()
    }

    pub async fn runs(&self) -> Vec<shopflow_ports::JobRun> {
        shopflow_ports::JobRuns::runs(self.store(), "courier-poller", 100)
            .await
            .unwrap()
    }
}

pub fn secs(after: u64) -> Timestamp {
    T0.plus_secs(after)
}
