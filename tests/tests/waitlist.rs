//! "Notify me" on the local stack, end to end and without a token: a
//! duplicate signup is one entry, the sixth signup of an address in an
//! hour is `429` with `Retry-After`, the link signed with the stack's key
//! unsubscribes, and a forged one is `400`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shopflow_domain::waitlist::UnsubscribeLink;
use shopflow_lambda_kit::signed_link;
use shopflow_tests::{Api, Reply, stack, unique};

async fn join(api: &Api, sku: &str, email: &str) -> Reply {
    api.send(
        "POST",
        &format!("/v1/products/{sku}/waitlist"),
        None,
        &[],
        Some(json!({ "email": email }).to_string()),
    )
    .await
}

/// The addresses waiting for `sku`, as the table holds them.
async fn waiting(sku: &str) -> Vec<String> {
    let clients = stack().clients().await;
    clients
        .dynamodb
        .query()
        .table_name(&stack().spec.table.name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("WAIT#{sku}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .iter()
        .map(|item| item["email"].as_s().unwrap().to_owned())
        .collect()
}

fn link(sku: &str, email: &str, key: &str) -> String {
    let named = UnsubscribeLink {
        sku: sku.into(),
        email: email.into(),
    };
    let expires_at = shopflow_lambda_kit::now().plus_secs(3_600);
    signed_link::sign(key.as_bytes(), &named, expires_at)
}

#[tokio::test]
async fn shoppers_wait_once_are_rate_limited_and_leave_by_a_signed_link() {
    let (api, admin) = (stack().api(), stack().admin());
    let sku = unique("WAIT");
    api.product_with_stock(&admin, &sku, 1_000, &[]).await;
    let ada = format!("{}@example.com", unique("ada").to_lowercase());
    // Six signups counted in one clock hour's window.
    shopflow_testkit::clear_of_the_hour(std::time::Duration::from_secs(60)).await;

    let first = join(&api, &sku, &ada).await;
    let again = join(&api, &sku, &ada.to_uppercase()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!((again.status, &again.body), (202, &first.body));
    assert_eq!(waiting(&sku).await, std::slice::from_ref(&ada));

    // Five an hour per address: the sixth is refused with when to retry.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(join(&api, &sku, &ada).await.status);
    }
    assert_eq!(statuses, [202, 202, 202, 429]);

    let unsubscribe = |token: String| {
        let api = &api;
        async move {
            let path = format!("/v1/waitlist/unsubscribe?token={token}");
            api.send("GET", &path, None, &[], None).await
        }
    };
    let forged = unsubscribe(link(&sku, &ada, "not the shop's key")).await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert_eq!(waiting(&sku).await, std::slice::from_ref(&ada));

    let left = unsubscribe(link(
        &sku,
        &ada,
        shopflow_local::secrets::LOCAL_WAITLIST_KEY,
    ))
    .await;
    assert_eq!(left.status, 200, "{}", left.body);
    assert!(waiting(&sku).await.is_empty());
}

#[tokio::test]
async fn a_limited_signup_says_when_to_retry() {
    let api = stack().api();
    let (admin, sku) = (stack().admin(), unique("WAITLIM"));
    api.product_with_stock(&admin, &sku, 1_000, &[]).await;
    let grace = format!("{}@example.com", unique("grace").to_lowercase());
    shopflow_testkit::clear_of_the_hour(std::time::Duration::from_secs(60)).await;
    for _ in 0..5 {
        assert_eq!(join(&api, &sku, &grace).await.status, 202);
    }

    let limited = join(&api, &sku, &grace).await;

    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.error_code(), "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
}
