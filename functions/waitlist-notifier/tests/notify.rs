//! waitlist-notifier: a nudge for a SKU in stock tells everyone waiting
//! once, in pages of 50 each with its signed unsubscribe link, and takes
//! them off the list; a SKU still out of stock, or a nudge delivered
//! again, tells nobody.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_domain::waitlist::{UnsubscribeLink, WaitlistEntry};
use shopflow_domain::{Email, Product};
use shopflow_lambda_kit::consumer::{BusEvent, Handled};
use shopflow_lambda_kit::signed_link;
use shopflow_ports::{InventoryStore, Waitlist};
use shopflow_testkit::{MemorySecrets, SharedStore, eur, sku, wh};
use std::collections::HashMap;
use waitlist_notifier::{App, Settings};

const KEY: &str = "waitlist-test-key";
const KEY_PARAMETER: &str = "/shopflow/test/waitlist/signing-key";
const TEE: &str = "TEE-RED";

struct Notifier {
    app: App<SharedStore, MemorySecrets>,
    store: SharedStore,
}

impl Notifier {
    async fn new() -> Self {
        let store = SharedStore::default();
        let tee = Product {
            sku: sku(TEE),
            name: "Red tee".into(),
            price: eur(1_000),
            active: true,
        };
        store.memory().upsert_product(&tee).await.unwrap();
        let secrets = MemorySecrets(HashMap::from([(KEY_PARAMETER.to_owned(), KEY.to_owned())]));
        let settings = Settings {
            warehouses: vec![wh("BER"), wh("MUC")],
            signing_key_parameter: KEY_PARAMETER.into(),
            link_days: 90,
        };
        Self {
            app: App::new(store.clone(), secrets, settings),
            store,
        }
    }

    async fn waiting(&self, count: usize) {
        for n in 0..count {
            let entry = WaitlistEntry {
                sku: sku(TEE),
                email: Email::parse(&format!("shopper{n:04}@example.com")).unwrap(),
                at: shopflow_testkit::OPENING_DAY,
            };
            assert!(self.store.memory().join_waitlist(&entry).await.unwrap());
        }
    }

    async fn nudged(&self) -> Handled {
        let nudge = BusEvent {
            id: ulid::Ulid::generate().to_string(),
            detail_type: "inventory.available_again".into(),
            source: "shopflow.inventory".into(),
            occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
            data: json!({ "sku": TEE, "warehouse": "MUC", "available": 2, "cause": "restocked", "version": 1 }),
        };
        self.app.apply(nudge).await.unwrap()
    }

    /// Every `inventory.back_in_stock` recorded, as published.
    fn told(&self) -> Vec<Value> {
        self.store
            .memory()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == "inventory.back_in_stock")
            .map(|event| serde_json::to_value(&event.event).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn everyone_waiting_is_told_once_in_pages_and_leaves_the_list() {
    let shop = Notifier::new().await;
    shop.waiting(120).await;
    shopflow_testkit::receive_stock(
        shop.store.memory(),
        TEE,
        "MUC",
        2,
        ulid::Ulid::generate(),
        shopflow_testkit::OPENING_DAY,
    )
    .await;

    let first = shop.nudged().await;
    let again = shop.nudged().await;

    assert_eq!(first, Handled::Applied);
    assert!(matches!(again, Handled::Ignored(_)), "{again:?}");
    let pages = shop.told();
    let sizes: Vec<usize> = pages
        .iter()
        .map(|page| page["subscribers"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    let mut emails: Vec<&str> = pages
        .iter()
        .flat_map(|page| page["subscribers"].as_array().unwrap())
        .map(|subscriber| subscriber["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), 120, "each told once");
    assert_eq!(pages[0]["name"], "Red tee");
    let first_subscriber = &pages[0]["subscribers"][0];
    let link: UnsubscribeLink = signed_link::verify(
        KEY.as_bytes(),
        first_subscriber["unsubscribe_token"].as_str().unwrap(),
        shopflow_lambda_kit::now(),
    )
    .unwrap();
    assert_eq!(link.email, first_subscriber["email"].as_str().unwrap());
    assert_eq!(link.sku, TEE);
    assert!(shop.store.memory().waitlist_of(&sku(TEE)).is_empty());
}

#[tokio::test]
async fn a_sku_still_out_of_stock_tells_nobody() {
    let shop = Notifier::new().await;
    shop.waiting(3).await;

    let handled = shop.nudged().await;

    assert!(matches!(handled, Handled::Ignored(_)), "{handled:?}");
    assert!(shop.told().is_empty());
    assert_eq!(shop.store.memory().waitlist_of(&sku(TEE)).len(), 3);
}

#[tokio::test]
async fn other_events_and_unknown_skus_are_ignored() {
    let shop = Notifier::new().await;
    let mut other = BusEvent {
        id: "1".into(),
        detail_type: "inventory.restocked".into(),
        source: "shopflow.inventory".into(),
        occurred_at: shopflow_testkit::OPENING_DAY.to_rfc3339(),
        data: json!({ "sku": TEE }),
    };
    assert!(matches!(
        shop.app.apply(other.clone()).await.unwrap(),
        Handled::Ignored(_)
    ));
    other.detail_type = "inventory.available_again".into();
    other.data = json!({ "sku": "MUG-NONE" });
    assert!(matches!(
        shop.app.apply(other.clone()).await.unwrap(),
        Handled::Ignored(_)
    ));
    other.data = json!({ "warehouse": "BER" });
    assert!(shop.app.apply(other).await.is_err());
}
