//! The demo catalog: a handful of products with stock in both local
//! warehouses, created through the inventory API's own handler.

use crate::server::HttpHandler;
use crate::template::StackSpec;
use crate::token::DevTokens;
use shopflow_lambda_kit::apigw::HttpEvent;
use std::collections::{BTreeMap, HashMap};

/// (sku, name, price in cents, stock per warehouse in priority order)
const DEMO_CATALOG: &[(&str, &str, i64, &[u32])] = &[
    ("TEE-CLASSIC-M", "Classic tee, size M", 2_500, &[40, 25]),
    ("HOODIE-ZIP-L", "Zip hoodie, size L", 6_900, &[10, 5]),
    ("MUG-ENAMEL", "Enamel mug", 1_400, &[100, 0]),
    ("CAP-WOOL", "Wool cap", 2_200, &[0, 3]),
    ("POSTER-A2", "Poster, A2", 1_800, &[0, 0]),
];

pub const DEMO_CURRENCY: &str = "EUR";

async fn call(
    functions: &HashMap<String, HttpHandler>,
    tokens: &DevTokens,
    spec: &StackSpec,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Result<(), String> {
    let route = spec
        .routes
        .iter()
        .find(|r| r.method == method && crate::paths::match_path(&r.path, path).is_some())
        .ok_or_else(|| format!("no route for {method} {path}"))?;
    let token = tokens.mint("local-seeder", true, crate::now_secs(), 60);
    let claims = tokens
        .verify(&token, crate::now_secs())
        .map_err(|e| e.to_string())?;
    let event = HttpEvent {
        method: method.to_owned(),
        route: route.path.clone(),
        path: path.to_owned(),
        path_parameters: crate::paths::match_path(&route.path, path).unwrap_or_default(),
        // One key per path: seeding the same store twice restocks it once.
        headers: BTreeMap::from([
            ("content-type".to_owned(), "application/json".to_owned()),
            ("idempotency-key".to_owned(), format!("seed:{path}")),
        ]),
        body: Some(body.to_string()),
        claims: Some(claims),
        request_id: ulid::Ulid::generate().to_string(),
        ..HttpEvent::default()
    };
    let handler = functions
        .get(&route.function)
        .ok_or_else(|| format!("{} not loaded", route.function))?;
    let response = handler(event.into_request().map_err(|e| e.to_string())?).await;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{method} {path} answered {}", response.status()))
    }
}

pub async fn demo_catalog(
    functions: &HashMap<String, HttpHandler>,
    tokens: &DevTokens,
    spec: &StackSpec,
) -> Result<(), String> {
    let warehouses: Vec<String> = spec
        .environment_of("checkout-api")
        .get("WAREHOUSES")
        .map(|w| w.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    for (sku, name, price, stock) in DEMO_CATALOG {
        let product = serde_json::json!({ "name": name, "price_minor": price, "currency": DEMO_CURRENCY, "active": true });
        call(
            functions,
            tokens,
            spec,
            "PUT",
            &format!("/v1/products/{sku}"),
            product,
        )
        .await?;
        for (warehouse, quantity) in warehouses.iter().zip(stock.iter()).filter(|(_, q)| **q > 0) {
            let path = format!("/v1/inventory/{sku}/{warehouse}/restock");
            call(
                functions,
                tokens,
                spec,
                "POST",
                &path,
                serde_json::json!({ "quantity": quantity }),
            )
            .await?;
        }
    }
    Ok(())
}
