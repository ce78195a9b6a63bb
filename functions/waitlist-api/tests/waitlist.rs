//! "Notify me": a signup is one entry per SKU and address whatever the
//! case, the answer never tells whether it was there, signups are rate
//! limited per address and per caller (`429` with `Retry-After`), and a
//! signed link unsubscribes while a forged or expired one is `400`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shopflow_domain::waitlist::FixedWindow;
use shopflow_domain::waitlist::UnsubscribeLink;
use shopflow_domain::{Product, Timestamp};
use shopflow_lambda_kit::signed_link;
use shopflow_ports::InventoryStore;
use shopflow_testkit::{
    MemorySecrets, Reply, SharedStore, anonymous, eur, json_request, request, sku,
};
use std::collections::HashMap;
use waitlist_api::{App, Settings};

const KEY: &str = "waitlist-test-key";
const KEY_PARAMETER: &str = "/shopflow/test/waitlist/signing-key";
const TEE: &str = "TEE-RED";

struct Storefront {
    app: App<SharedStore, MemorySecrets>,
    store: SharedStore,
}

impl Storefront {
    async fn new() -> Self {
        let store = SharedStore::default();
        for (code, active) in [(TEE, true), ("TEE-OLD", false)] {
            let product = Product {
                sku: sku(code),
                name: format!("Product {code}"),
                price: eur(1_000),
                active,
            };
            store.memory().upsert_product(&product).await.unwrap();
        }
        let secrets = MemorySecrets(HashMap::from([(KEY_PARAMETER.to_owned(), KEY.to_owned())]));
        let settings = Settings {
            signing_key_parameter: KEY_PARAMETER.into(),
            per_address: FixedWindow {
                limit: 3,
                secs: 3_600,
            },
            per_source: FixedWindow {
                limit: 5,
                secs: 3_600,
            },
        };
        Self {
            app: App::new(store.clone(), secrets, settings),
            store,
        }
    }

    async fn join_from(&self, code: &str, body: Value, source: &str) -> Reply {
        let mut event = json_request(
            "POST",
            "/v1/products/{sku}/waitlist",
            &[("sku", code)],
            Some(body.to_string()),
            anonymous(),
        );
        event.source_ip = Some(source.into());
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    async fn join(&self, code: &str, email: &str) -> Reply {
        self.join_from(code, json!({ "email": email }), "203.0.113.7")
            .await
    }

    async fn unsubscribe(&self, token: &str) -> Reply {
        let mut event = request("GET", "/v1/waitlist/unsubscribe", &[], anonymous());
        event.raw_query = format!("token={token}");
        shopflow_testkit::call(|request| self.app.handle(request), event).await
    }

    fn waiting(&self) -> Vec<String> {
        self.store
            .memory()
            .waitlist_of(&sku(TEE))
            .into_iter()
            .map(|entry| entry.email.as_str().to_owned())
            .collect()
    }
}

fn link(email: &str, key: &str, expires_at: Timestamp) -> String {
    let named = UnsubscribeLink {
        sku: TEE.into(),
        email: email.into(),
    };
    signed_link::sign(key.as_bytes(), &named, expires_at)
}

fn in_a_day() -> Timestamp {
    shopflow_lambda_kit::now().plus_secs(86_400)
}

#[tokio::test]
async fn a_second_signup_is_the_same_entry_and_the_same_answer() {
    let shop = Storefront::new().await;

    let first = shop.join(TEE, "ada@example.com").await;
    let again = shop.join(TEE, "Ada@Example.com").await;

    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body, "the answer does not tell");
    assert_eq!(
        first.json(),
        json!({ "waitlist": { "sku": TEE, "status": "waiting" } })
    );
    assert_eq!(shop.waiting(), ["ada@example.com"]);
}

#[tokio::test]
async fn an_address_signing_up_too_often_is_told_when_to_retry() {
    let shop = Storefront::new().await;
    shopflow_testkit::clear_of_the_hour(std::time::Duration::from_secs(5)).await;

    for _ in 0..3 {
        assert_eq!(shop.join(TEE, "ada@example.com").await.status, 202);
    }
    let limited = shop.join(TEE, "ADA@example.com").await;
    let someone_else = shop.join(TEE, "grace@example.com").await;

    let details = limited.problem(429, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
    assert_eq!(details["retry_after_secs"], retry_after);
    assert_eq!(someone_else.status, 202);
}

#[tokio::test]
async fn one_caller_signing_up_many_addresses_is_limited_too() {
    let shop = Storefront::new().await;
    shopflow_testkit::clear_of_the_hour(std::time::Duration::from_secs(5)).await;

    for n in 0..5 {
        let reply = shop
            .join_from(
                TEE,
                json!({ "email": format!("a{n}@example.com") }),
                "198.51.100.1",
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    let limited = shop
        .join_from(TEE, json!({ "email": "a5@example.com" }), "198.51.100.1")
        .await;
    let elsewhere = shop
        .join_from(TEE, json!({ "email": "a5@example.com" }), "198.51.100.2")
        .await;

    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(elsewhere.status, 202);
    assert_eq!(shop.waiting().len(), 6);
}

#[tokio::test]
async fn a_signup_needs_an_address_and_a_product_the_shop_sells() {
    let shop = Storefront::new().await;

    for body in [
        json!({ "email": "not-an-address" }),
        json!({ "email": "" }),
        json!({}),
        json!({ "email": "ada@example.com", "name": "Ada" }),
    ] {
        let reply = shop.join_from(TEE, body.clone(), "203.0.113.9").await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
    }
    assert_eq!(shop.join("TEE-OLD", "ada@example.com").await.status, 404);
    assert_eq!(shop.join("MUG-NONE", "ada@example.com").await.status, 404);
    assert!(shop.waiting().is_empty());
}

#[tokio::test]
async fn a_signed_link_unsubscribes_and_using_it_again_changes_nothing() {
    let shop = Storefront::new().await;
    shop.join(TEE, "ada@example.com").await;
    shop.join(TEE, "grace@example.com").await;
    let token = link("Ada@example.com", KEY, in_a_day());

    let first = shop.unsubscribe(&token).await;
    let again = shop.unsubscribe(&token).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json(),
        json!({ "waitlist": { "sku": TEE, "status": "unsubscribed" } })
    );
    assert_eq!(again.status, 200);
    assert_eq!(shop.waiting(), ["grace@example.com"]);
}

#[tokio::test]
async fn a_forged_or_expired_link_is_refused_and_removes_nobody() {
    let shop = Storefront::new().await;
    shop.join(TEE, "ada@example.com").await;
    let forged = link("ada@example.com", "someone else's key", in_a_day());
    let expired = link(
        "ada@example.com",
        KEY,
        shopflow_lambda_kit::now().plus_secs(0),
    );

    for token in [forged.as_str(), expired.as_str(), "garbage", ""] {
        let reply = shop.unsubscribe(token).await;
        let details = reply.problem(400, "invalid_request");
        assert_eq!(details["field"], "token", "{token}");
    }
    assert!(shop.unsubscribe(&expired).await.body.contains("expired"));
    assert_eq!(shop.waiting(), ["ada@example.com"]);
}
