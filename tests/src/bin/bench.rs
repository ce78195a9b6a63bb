//! Benchmarks that print figures (never asserted): DynamoDB round trips and
//! capacity units of a 3-line checkout, checkout throughput on the local stack
//! with 16 concurrent clients, and handler init time of the release bootstraps.
//!
//! Also the reservation sweeper's throughput and units per release, the
//! payment lifecycle: Stripe calls per order and the write units of each
//! step, and backorders: checkout latency under 100 clients and the
//! allocator serving a queue of 1,000.
//!
//! And shipping: the write units of a fulfilment and of a 6-event journey
//! pushed by the carrier; inventory: the write units of staff's
//! adjustments and transfers with their ledger movements, and the
//! storefront's availability read: its read units and its latency under
//! 50 concurrent clients.
//!
//!   cargo run --release -p shopflow-tests --bin bench -- [units|throughput|sweep|init|payments|backorders|shipping|inventory]...
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use serde_json::Value;
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_local::resources::Clients;
use shopflow_local::{LocalStack, Options};
use shopflow_tests::{Api, cart, unique};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts DynamoDB calls by operation and sums the capacity DynamoDB reports.
#[derive(Debug, Default, Clone)]
struct Meter(Arc<Mutex<MeterState>>);

#[derive(Debug, Default)]
struct MeterState {
    calls: BTreeMap<String, u32>,
    reported_wcu: f64,
    reported_rcu: f64,
}

impl Meter {
    /// The stack's DynamoDB client, counted by this meter.
    fn client(&self, clients: &Clients) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            clients
                .dynamodb
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        )
    }
}

/// The `p` quantile of latencies sorted ascending.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "round-trip meter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self.0.lock().unwrap().calls.entry(operation).or_default() += 1;
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        // DynamoDB Local reports only the total `CapacityUnits` per table.
        let total = |entries: &[aws_sdk_dynamodb::types::ConsumedCapacity]| {
            entries
                .iter()
                .map(|e| e.capacity_units().unwrap_or(0.0))
                .sum::<f64>()
        };
        let mut state = self.0.lock().unwrap();
        if let Some(read) = output.downcast_ref::<BatchGetItemOutput>() {
            state.reported_rcu += total(read.consumed_capacity());
        } else if let Some(write) = output.downcast_ref::<TransactWriteItemsOutput>() {
            state.reported_wcu += total(write.consumed_capacity());
        }
        Ok(())
    }
}

/// DynamoDB's item size rules: names plus values; numbers ~1 byte per 2 digits + 1;
/// maps and lists 3 bytes plus 1 per element.
fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::L(items) => 3 + items.iter().map(|v| attribute_size(v) + 1).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() + attribute_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::Ss(items) => items.iter().map(String::len).sum(),
        _ => 0,
    }
}

fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

/// The newest history entry of the order at `order_pk`.
async fn last_history(
    clients: &Clients,
    table: &str,
    order_pk: &str,
) -> HashMap<String, AttributeValue> {
    clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :h)")
        .expression_attribute_values(":pk", AttributeValue::S(order_pk.to_owned()))
        .expression_attribute_values(":h", AttributeValue::S("HIST#".into()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .pop()
        .unwrap_or_default()
}

async fn get_item(
    clients: &Clients,
    table: &str,
    pk: &str,
    sk: &str,
) -> HashMap<String, AttributeValue> {
    clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
}

/// The checkout receipt that placed `order_id` (found by a scan: the bench
/// does not know the caller's key).
async fn checkout_receipt(
    clients: &Clients,
    table: &str,
    order_id: &str,
) -> HashMap<String, AttributeValue> {
    clients
        .dynamodb
        .scan()
        .table_name(table)
        .filter_expression("#t = :i AND order_id = :order")
        .expression_attribute_names("#t", "type")
        .expression_attribute_values(":i", AttributeValue::S("idempotency".into()))
        .expression_attribute_values(":order", AttributeValue::S(order_id.to_owned()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .pop()
        .unwrap_or_default()
}

/// `clients` callers each making `per_client` requests one after another
/// (`send(client)` makes one): every latency, sorted, and the wall time.
async fn load<F, Fut>(clients: usize, per_client: usize, send: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let send = &send;
    let workers = (0..clients).map(|client| async move {
        let mut latencies = Vec::with_capacity(per_client);
        for _ in 0..per_client {
            let sent = Instant::now();
            send(client).await;
            latencies.push(sent.elapsed());
        }
        latencies
    });
    let mut latencies: Vec<Duration> = join_all(workers).await.into_iter().flatten().collect();
    latencies.sort();
    (latencies, started.elapsed())
}

fn checkout_request(
    token_claims: BTreeMap<String, String>,
    key: &str,
    body: &Value,
) -> lambda_http::Request {
    HttpEvent {
        method: "POST".into(),
        route: "/v1/checkout".into(),
        path: "/v1/checkout".into(),
        headers: BTreeMap::from([("idempotency-key".into(), key.to_owned())]),
        body: Some(body.to_string()),
        claims: Some(token_claims),
        request_id: unique("bench"),
        ..HttpEvent::default()
    }
    .into_request()
    .unwrap()
}

async fn setup_skus(
    api: &Api,
    admin: &str,
    warehouse: &str,
    count: usize,
    stock: u32,
) -> Vec<String> {
    let mut skus = Vec::new();
    for index in 0..count {
        let sku = unique(&format!("BENCH{index}"));
        api.product_with_stock(admin, &sku, 1_250, &[(warehouse, stock)])
            .await;
        skus.push(sku);
    }
    skus
}

async fn units(stack: &LocalStack) {
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 10_000).await;

    let meter = Meter::default();
    let clients = stack.clients().await;
    let metered = meter.client(&clients);
    let table = stack.spec.table.name.clone();
    let app = checkout_api::App::new(
        DynamoStore::new(metered, &table),
        stack.mock.clone().expect("the bench runs on the mock"),
        checkout_api::policy_from(&stack.spec.environment_of("checkout-api")).unwrap(),
    );
    let claims = stack
        .tokens
        .verify(
            &stack.customer_token("bench-buyer"),
            shopflow_local::now_secs(),
        )
        .unwrap();
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();

    const RUNS: u32 = 20;
    let mut last = Value::Null;
    for _ in 0..RUNS {
        let response = app
            .handle(checkout_request(
                claims.clone(),
                &unique("key"),
                &cart(&lines),
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        if let lambda_http::Body::Text(text) = response.body() {
            last = serde_json::from_str(text).unwrap();
        }
    }
    let (calls, reported_wcu, reported_rcu) = {
        let state = meter.0.lock().unwrap();
        (state.calls.clone(), state.reported_wcu, state.reported_rcu)
    };
    let total: u32 = calls.values().sum();
    println!(
        "== DynamoDB per 3-line checkout (mean of {RUNS}, in-process handler on DynamoDB Local)"
    );
    println!(
        "round trips: {:.2}  by operation: {:?}",
        f64::from(total) / f64::from(RUNS),
        calls
    );
    println!(
        "reported by DynamoDB Local: {:.2} WCU, {:.2} RCU (Local does not double transactional writes)",
        reported_wcu / f64::from(RUNS),
        reported_rcu / f64::from(RUNS)
    );

    // What AWS bills: every transactional write is 2 WCU per started KB of the
    // larger of the item before and after; each index the order is projected
    // into is 1 WCU per started KB more (standard write); a strongly consistent
    // read is 1 RCU per started 4 KB, and a key that finds nothing costs 1 too.
    let order_id = last["order"]["id"].as_str().unwrap();
    let order = get_item(&clients, &table, &format!("ORDER#{order_id}"), "META").await;
    let receipt = checkout_receipt(&clients, &table, order_id).await;
    let mut writes = vec![
        ("order", item_size(&order)),
        ("receipt (idempotency + order.created)", item_size(&receipt)),
    ];
    let mut read_sizes = vec![0usize]; // the receipt key, absent on a first checkout
    let warehouses: Vec<String> = stack.spec.environment_of("checkout-api")["WAREHOUSES"]
        .split(',')
        .map(str::to_owned)
        .collect();
    for sku in &skus {
        for wh in &warehouses {
            let stock = get_item(
                &clients,
                &table,
                &format!("SKU#{sku}"),
                &format!("STOCK#{wh}"),
            )
            .await;
            if wh == &warehouse {
                writes.push(("stock", item_size(&stock)));
            }
            read_sizes.push(item_size(&stock));
        }
        read_sizes.push(item_size(
            &get_item(&clients, &table, &format!("PRODUCT#{sku}"), "META").await,
        ));
    }
    let transactional: usize = writes
        .iter()
        .map(|(_, size)| 2 * size.div_ceil(1024).max(1))
        .sum();
    // The payment checkout created, recorded with a plain PutItem after the transaction.
    let intent = last["payment"]["intent_id"].as_str().unwrap();
    let attempt = get_item(
        &clients,
        &table,
        &format!("ORDER#{order_id}"),
        &format!("PAY#{intent}"),
    )
    .await;
    let attempt_wcu = item_size(&attempt).div_ceil(1024).max(1);
    let indexes = ["gsi1pk", "gsi2pk"]
        .iter()
        .filter(|key| order.contains_key(**key))
        .count();
    let index_wcu = indexes * item_size(&order).div_ceil(1024).max(1);
    let rcu: usize = read_sizes
        .iter()
        .map(|size| size.div_ceil(4096).max(1))
        .sum();
    println!(
        "items written (bytes): {writes:?}, then the payment attempt {} bytes",
        item_size(&attempt)
    );
    println!(
        "as AWS bills it: {} WCU = {transactional} (TransactWriteItems, {} items x 2) + {index_wcu} (order into {indexes} indexes) + {attempt_wcu} (payment attempt PutItem); \
         {rcu} RCU (BatchGetItem, {} keys, strongly consistent)",
        transactional + index_wcu + attempt_wcu,
        writes.len(),
        read_sizes.len()
    );
    println!();
}

/// The warehouse checkout tries first.
fn first_warehouse(stack: &LocalStack) -> String {
    stack.spec.environment_of("checkout-api")["WAREHOUSES"]
        .split(',')
        .next()
        .unwrap()
        .to_owned()
}

fn api_for(stack: &LocalStack) -> Api {
    shopflow_tests::Stack {
        base_url: stack.base_url(),
        dynamodb_endpoint: stack.dynamodb_endpoint.clone(),
        moto_endpoint: stack.moto_endpoint.clone(),
        spec: stack.spec.clone(),
        tokens: stack.tokens.clone(),
        mock: stack.mock.clone(),
        localstripe: stack.localstripe_endpoint.clone(),
    }
    .api()
}

/// Reservation sweeper: lapsed orders released per second, one run, in-process
/// on DynamoDB Local; and the write units one release costs as AWS bills it.
async fn sweep(stack: &LocalStack) {
    const ORDERS: usize = 2_000;
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let sku = setup_skus(&api, &admin, &warehouse, 1, ORDERS as u32)
        .await
        .remove(0);
    let clients = stack.clients().await;
    let table = stack.spec.table.name.clone();
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let ids = (0..ORDERS)
        .map(|_| shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate()))
        .collect();
    let ids = shopflow_tests::place_orders(&store, &sku, &warehouse, ids, 0).await;
    let limits = reservation_sweeper::SweepLimits {
        concurrency: 16,
        page_size: 100,
        time_budget: Duration::from_secs(600),
    };
    let sweeper =
        reservation_sweeper::App::new(DynamoStore::new(clients.dynamodb.clone(), &table), limits);
    let started = Instant::now();
    let report = sweeper.sweep(shopflow_lambda_kit::now()).await;
    let elapsed = started.elapsed();

    // One release: order update + the history entry carrying the change's
    // event + one stock update, each transactional, plus the order's gsi1
    // copy and its gsi2 move.
    let order = get_item(&clients, &table, &format!("ORDER#{}", ids[0]), "META").await;
    let history = last_history(&clients, &table, &format!("ORDER#{}", ids[0])).await;
    let stock = get_item(
        &clients,
        &table,
        &format!("SKU#{sku}"),
        &format!("STOCK#{warehouse}"),
    )
    .await;
    let sizes = [item_size(&order), item_size(&history), item_size(&stock)];
    let transactional: usize = sizes
        .iter()
        .map(|size| 2 * size.div_ceil(1024).max(1))
        .sum();
    let indexes =
        item_size(&order).div_ceil(1024).max(1) + 2 * item_size(&order).div_ceil(1024).max(1);
    let read_rcu_per_order = (100.0 * item_size(&order) as f64 / 4096.0).ceil() * 0.5 / 100.0;
    println!(
        "== Reservation sweeper ({ORDERS} lapsed one-line orders, one run, in-process on DynamoDB Local)"
    );
    println!(
        "expired {} orders, released {} units in {:.1} s: {:.0} releases/s (concurrency 16, pages of 100)",
        report.expired_orders,
        report.released_units,
        elapsed.as_secs_f64(),
        report.expired_orders as f64 / elapsed.as_secs_f64()
    );
    println!(
        "per release as AWS bills it: {} WCU = {transactional} (3 transactional items {:?} bytes: order, history with its event, stock) + {indexes} (gsi1 update, gsi2 move); ~{read_rcu_per_order:.3} RCU (index page reads)",
        transactional + indexes,
        sizes
    );
    println!();
}

async fn throughput(stack: &LocalStack) {
    const CLIENTS: usize = 16;
    const CHECKOUTS_PER_CLIENT: usize = 100;
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 1_000_000).await;
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();
    let body = cart(&lines);

    let tokens: Vec<String> = (0..CLIENTS)
        .map(|client| stack.customer_token(&format!("bench-client-{client}")))
        .collect();
    let (latencies, elapsed) = load(CLIENTS, CHECKOUTS_PER_CLIENT, |client| {
        let (api, token, body) = (&api, &tokens[client], &body);
        async move {
            let reply = api.checkout(token, &unique("key"), body).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
    })
    .await;
    println!(
        "== Checkout throughput over HTTP on the local stack (3-line carts, {CLIENTS} clients)"
    );
    println!(
        "{} checkouts in {:.1} s: {:.0} checkouts/s; latency p50 {:?}, p99 {:?}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
    println!();
}

/// Init time of each release bootstrap: from exec to its first request for an
/// invocation on a fake Lambda Runtime API (tracing, config, SDK clients built).
async fn init(stack: &LocalStack) {
    let target = shopflow_local::repo_root().join(".cache/target/release");
    println!(
        "== Handler init (release build for this host, exec -> first /invocation/next; median of 5; \
         Stripe client built with a test key)"
    );
    for function in [
        "checkout-api",
        "orders-api",
        "inventory-api",
        "outbox-relay",
        "stripe-webhook",
        "payments-api",
        "payment-actions",
    ] {
        let binary = target.join(function);
        if !binary.exists() {
            println!(
                "{function}: no release binary; run `cargo build --release -p {function}` first"
            );
            continue;
        }
        let mut samples = Vec::new();
        for _ in 0..5 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let started = Instant::now();
            let mut child = tokio::process::Command::new(&binary)
                .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", function)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_REGION", shopflow_local::REGION)
                .env("AWS_ACCESS_KEY_ID", "local")
                .env("AWS_SECRET_ACCESS_KEY", "local")
                .env("AWS_ENDPOINT_URL_DYNAMODB", &stack.dynamodb_endpoint)
                .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &stack.moto_endpoint)
                .env("TABLE_NAME", &stack.spec.table.name)
                .env("EVENT_BUS_NAME", &stack.spec.bus_name)
                .env("STRIPE_SECRET_KEY", "sk_test_bench")
                .env(
                    "STRIPE_WEBHOOK_SECRET",
                    shopflow_local::LOCAL_STRIPE_WEBHOOK_SECRET,
                )
                .env("RUST_LOG", "warn")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
            let took = started.elapsed();
            let _ = child.kill().await;
            if accepted.is_ok() {
                samples.push(took);
            }
        }
        samples.sort();
        match samples.get(samples.len() / 2) {
            Some(median) => println!("{function}: {median:?}"),
            None => println!("{function}: never reached the Runtime API"),
        }
    }
    println!();
}

/// The standard payment lifecycle through the local stack and the mock
/// Stripe: checkout, the customer's card authorized, captured at once
/// (CAPTURE_ON=authorize), the order paid. Prints the Stripe calls shopflow
/// makes per order, and the write units of each step as AWS bills them,
/// from the sizes of the items each step writes.
async fn payments(stack: &LocalStack) {
    const ORDERS: usize = 20;
    let Some(mock) = &stack.mock else {
        println!("payments bench needs the mock");
        return;
    };
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 10_000).await;
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();
    let calls_before = mock.calls().len();
    let started = Instant::now();
    let mut paid = Vec::new();
    for _ in 0..ORDERS {
        let buyer = stack.customer_token(&unique("payer"));
        let placed = api.checkout(&buyer, &unique("key"), &cart(&lines)).await;
        let (order, intent) = (
            placed.body["order"]["id"].as_str().unwrap().to_owned(),
            placed.body["payment"]["intent_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let confirm = api
            .send(
                "POST",
                &format!("/_mock/stripe/payment_intents/{intent}/confirm"),
                None,
                &[],
                Some(serde_json::json!({ "payment_method": "pm_card_visa" }).to_string()),
            )
            .await;
        assert_eq!(confirm.status, 200);
        paid.push(order);
    }
    for order in &paid {
        let deadline = Instant::now() + Duration::from_secs(120);
        while api.get(&format!("/v1/orders/{order}"), &admin).await.body["order"]["payment_status"]
            != "paid"
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let elapsed = started.elapsed();
    let mut by_call: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &mock.calls()[calls_before..] {
        *by_call.entry(call).or_default() += 1;
    }
    let ours: usize = by_call
        .iter()
        .filter(|(call, _)| **call != "confirm")
        .map(|(_, n)| n)
        .sum();
    println!(
        "== Payment lifecycle, {ORDERS} orders (checkout, card authorized, captured, paid) on the local stack"
    );
    println!(
        "Stripe calls per order by shopflow: {:.2} {by_call:?} (confirm is the customer's browser)",
        ours as f64 / ORDERS as f64
    );
    println!("checkout to paid, all {ORDERS} orders: {elapsed:?}");

    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let order = get_item(&clients, table, &format!("ORDER#{}", paid[0]), "META").await;
    let order_wcu = item_size(&order).div_ceil(1024).max(1);
    println!(
        "order item once paid: {} bytes (the payment rides on it)",
        item_size(&order)
    );
    // Each status change: the order (transactional x2, and its gsi1 and gsi2
    // copies; gsi2 moves partition: 2), the history entry carrying the
    // change's event, and the consumer's applied-event record (each small,
    // transactional x2).
    let status_change = 2 * order_wcu + order_wcu + 2 * order_wcu + 2 * 2;
    // A webhook delivery: one conditional put of the dedupe record carrying
    // its payment event; payment-actions' capture report likewise.
    let authorized = mock
        .events()
        .into_iter()
        .find(|event| {
            event["type"] == "payment_intent.amount_capturable_updated"
                && event["data"]["object"]["metadata"]["order_id"] == paid[0].as_str()
        })
        .unwrap();
    let delivery = get_item(
        &clients,
        table,
        &format!("WEBHOOK#stripe#{}", authorized["id"].as_str().unwrap()),
        "DELIVERY",
    )
    .await;
    let delivery_wcu = item_size(&delivery).div_ceil(1024).max(1);
    println!(
        "webhook delivery record with its event: {} bytes",
        item_size(&delivery)
    );
    println!(
        "write units per order as AWS bills them: {} = 2 webhook deliveries x {delivery_wcu} + 2 status changes x {status_change} \
         + 1 capture report x {delivery_wcu} (payment-actions) + 1 duplicate capture report x 0 (recognised, nothing written)",
        3 * delivery_wcu + 2 * status_change
    );
    println!();
}

/// Write units of `item` in a transaction (each written twice) or alone.
fn wru(item: &HashMap<String, AttributeValue>, transactional: bool) -> usize {
    item_size(item).div_ceil(1024).max(1) * if transactional { 2 } else { 1 }
}

/// The size of `invoice.issued`'s outbox item for the invoice as stored:
/// the event's envelope and the item's other attributes (about 150 B).
async fn issued_outbox_bytes(clients: &Clients, table: &str, invoice_id: &str) -> usize {
    use shopflow_domain::events::{DomainEvent, EventEnvelope, InvoiceMove, InvoiceMoved};
    use shopflow_ports::InvoiceStore;
    let store = DynamoStore::new(clients.dynamodb.clone(), table);
    let invoice = store
        .invoice(invoice_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let event = DomainEvent::InvoiceMoved(InvoiceMoved::new(InvoiceMove::Issued, &invoice));
    let envelope = EventEnvelope::new(
        ulid::Ulid::generate().to_string(),
        invoice.created_at,
        &event,
    );
    serde_json::to_string(&envelope).unwrap().len() + 150
}

/// Shipping: a paid 3-line order shipped whole by USPS, then its 6-event
/// journey pushed one event per webhook call, as USPS pushes it. Write
/// units of each step as AWS bills them (from the items read back), the
/// requests and events, and the handler time on the local stack.
async fn shipping(stack: &LocalStack) {
    use shopflow_testkit::couriers::Journey;
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 10).await;
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();
    let buyer = stack.customer_token(&unique("shipper"));
    let placed = api.checkout(&buyer, &unique("key"), &cart(&lines)).await;
    let order = placed.body["order"]["id"].as_str().unwrap().to_owned();
    let intent = placed.body["payment"]["intent_id"].as_str().unwrap();
    api.send(
        "POST",
        &format!("/_mock/stripe/payment_intents/{intent}/confirm"),
        None,
        &[],
        Some(serde_json::json!({ "payment_method": "pm_card_visa" }).to_string()),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.get(&format!("/v1/orders/{order}"), &admin).await.body["order"]["payment_status"]
        != "paid"
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let number = format!("9400{}", unique("").replace('-', ""));
    let body = serde_json::json!({
        "warehouse": warehouse,
        "carrier": "usps",
        "tracking_number": number,
        "lines": lines.iter().map(|(sku, quantity)| serde_json::json!({ "sku": sku, "quantity": quantity })).collect::<Vec<_>>(),
    });
    let started = Instant::now();
    let shipped = api
        .send(
            "POST",
            &format!("/v1/orders/{order}/fulfillments"),
            Some(&admin),
            &[("idempotency-key", "bench-ship")],
            Some(body.to_string()),
        )
        .await;
    let fulfil_time = started.elapsed();
    assert_eq!(shipped.status, 201, "{}", shipped.body);
    let shipment = shipped.body["shipment"]["id"].as_str().unwrap().to_owned();
    let order_pk = format!("ORDER#{order}");
    let order_item = get_item(&clients, table, &order_pk, "META").await;
    let history = last_history(&clients, table, &order_pk).await;
    let shipment_item = get_item(&clients, table, &order_pk, &format!("DELIVERY#{shipment}")).await;
    let tracking = get_item(&clients, table, &format!("TRACK#usps#{number}"), "TRACK").await;
    let stock = get_item(
        &clients,
        table,
        &format!("SKU#{}", skus[0]),
        &format!("STOCK#{warehouse}"),
    )
    .await;
    // Transaction: receipt, order, history, shipment, tracking item and a
    // stock item per line, each written twice; then the order's copies in
    // gsi1 and gsi2 and the tracking item's in gsi2 and gsi3.
    let receipt_wru = 2;
    let fulfil_wru = receipt_wru
        + wru(&order_item, true)
        + wru(&history, true)
        + wru(&shipment_item, true)
        + wru(&tracking, true)
        + 3 * wru(&stock, true)
        + 2 * wru(&order_item, false)
        + 2 * wru(&tracking, false);
    println!("== Shipping a paid 3-line order by USPS, then 6 tracking events pushed one a call");
    println!(
        "fulfilment: {fulfil_wru} WRU (order {} B, history {} B, shipment {} B, tracking item {} B, stock {} B), {fulfil_time:?} over HTTP",
        item_size(&order_item),
        item_size(&history),
        item_size(&shipment_item),
        item_size(&tracking),
        item_size(&stock)
    );
    let scans =
        Journey::Delivered.scans(shopflow_domain::Carrier::Usps, shopflow_lambda_kit::now());
    let mut push_wru = 0;
    let mut push_times = Vec::new();
    for scan in &scans {
        let started = Instant::now();
        let reply = shopflow_tests::usps_pushes(&api, &number, std::slice::from_ref(scan)).await;
        push_times.push(started.elapsed());
        assert_eq!(reply.status, 200, "{}", reply.body);
        let after = get_item(&clients, table, &order_pk, &format!("DELIVERY#{shipment}")).await;
        let raw_wru = 1; // the push, gzipped on a table item well under 1 KB
        let delivered = scan.status == shopflow_domain::TrackingStatus::Delivered;
        let step = if delivered {
            let order_item = get_item(&clients, table, &order_pk, "META").await;
            let history = last_history(&clients, table, &order_pk).await;
            // Shipment, order and history transactional; the order's gsi1
            // copy and its gsi2 move (delete + put); the tracking item
            // leaving gsi3 (its update x2, the index delete).
            wru(&after, true)
                + wru(&order_item, true)
                + wru(&history, true)
                + 3 * wru(&order_item, false)
                + wru(&tracking, true)
                + 1
        } else {
            wru(&after, false)
        };
        println!(
            "  {:<17} shipment item {:>5} B -> {} WRU ({})",
            scan.status.as_str(),
            item_size(&after),
            step + raw_wru,
            if delivered {
                "one transaction with the order"
            } else {
                "one conditional write, and the raw payload"
            }
        );
        push_wru += step + raw_wru;
    }
    push_times.sort();
    println!(
        "6 tracking pushes: {push_wru} WRU; handler p50 {:?} over HTTP",
        percentile(&push_times, 0.5)
    );
    println!(
        "per tracked shipment: {} WRU, 7 HTTP requests (1 fulfilment, 6 pushes), 7 events \
         (shipment.created, order.shipped, 3 x shipment.status_changed, shipment.delivered, order.delivered)",
        fulfil_wru + push_wru
    );
    println!();
}

/// Backorders: p50/p95 of a backorder checkout over HTTP with 100
/// concurrent clients (1,000 single-unit backorders of one SKU), then the
/// allocator, in-process on DynamoDB Local, serving that queue: 250 units
/// set aside, then the other 750. Round trips by operation, wall time, and
/// write units per allocated backorder as AWS bills them.
async fn backorders(stack: &LocalStack) {
    const CLIENTS: usize = 100;
    const PER_CLIENT: usize = 10;
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let sku = unique("BENCHBO");
    api.product_with_stock(&admin, &sku, 1_250, &[]).await;
    api.allow_backorders(&admin, &sku, &warehouse, 10_000).await;
    let mut body = cart(&[(&sku, 1)]);
    body["accept_backorder"] = serde_json::json!(true);

    let started = Instant::now();
    let workers = (0..CLIENTS).map(|client| {
        let (api, body) = (api.clone(), body.clone());
        let token = stack.customer_token(&format!("bench-bo-{client}"));
        async move {
            let mut latencies = Vec::with_capacity(PER_CLIENT);
            let mut retries = 0;
            for _ in 0..PER_CLIENT {
                let key = unique("key");
                let sent = Instant::now();
                loop {
                    let reply = api.checkout(&token, &key, &body).await;
                    if reply.status == 503 {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    assert_eq!(reply.status, 201, "{}", reply.body);
                    break;
                }
                latencies.push(sent.elapsed());
            }
            (latencies, retries)
        }
    });
    let results = join_all(workers).await;
    let elapsed = started.elapsed();
    let retries: usize = results.iter().map(|(_, r)| r).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort();
    println!(
        "== Backorder checkout over HTTP on the local stack ({CLIENTS} concurrent clients, one SKU with no stock)"
    );
    println!(
        "{} backorders in {:.1} s: {:.0}/s; latency (until 201, retries included) p50 {:?}, p95 {:?}; {retries} answers were 503 checkout_contended and retried",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95)
    );

    let clients = stack.clients().await;
    let table = stack.spec.table.name.clone();
    for units in [250_u32, 750] {
        set_aside(&clients, &table, &sku, &warehouse, units).await;
        let meter = Meter::default();
        let metered = meter.client(&clients);
        let allocator = backorder_allocator::App::new(DynamoStore::new(metered, &table));
        let started = Instant::now();
        let done = allocator
            .allocate_queue(
                &shopflow_domain::Sku::parse(&sku).unwrap(),
                &shopflow_domain::WarehouseId::parse(&warehouse).unwrap(),
                "bench",
            )
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let state = meter.0.lock().unwrap();
        let calls: u32 = state.calls.values().sum();
        println!(
            "allocated {} units to {} backorders in {} transactions, {:.2} s; {calls} DynamoDB round trips {:?}",
            done.units,
            done.backorders,
            done.batches,
            elapsed.as_secs_f64(),
            state.calls
        );
    }
    let level = get_item(
        &clients,
        &table,
        &format!("SKU#{sku}"),
        &format!("STOCK#{warehouse}"),
    )
    .await;
    println!(
        "stock after: on_hand {:?}, reserved {:?}, set_aside {:?}, backordered {:?}",
        level.get("on_hand"),
        level.get("reserved"),
        level.get("set_aside"),
        level.get("backordered")
    );
    allocation_units(&clients, &table, &sku, &warehouse, &level).await;
    println!();
}

/// What `units` received set aside for the queue leaves on the stock item:
/// the counters a restock writes when the queue is owed them all, without
/// its event (so nothing but the bench's allocator serves the queue).
async fn set_aside(clients: &Clients, table: &str, sku: &str, warehouse: &str, units: u32) {
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("SKU#{sku}")))
        .key("sk", AttributeValue::S(format!("STOCK#{warehouse}")))
        .update_expression("ADD on_hand :u, set_aside :u, version :one")
        .expression_attribute_values(":u", AttributeValue::N(units.to_string()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
}

/// Write units one allocated (and fulfilled) backorder costs as AWS bills
/// it, from the sizes of the items its batch writes.
async fn allocation_units(
    clients: &Clients,
    table: &str,
    sku: &str,
    warehouse: &str,
    stock: &HashMap<String, AttributeValue>,
) {
    let queue = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("BO#{sku}#{warehouse}")))
        .limit(1)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .pop()
        .unwrap_or_default();
    let id = match (queue.get("id"), queue.get("order")) {
        (Some(AttributeValue::S(id)), Some(AttributeValue::S(order))) => {
            (id.clone(), order.clone())
        }
        _ => panic!("no backorder in the queue"),
    };
    let order = get_item(clients, table, &format!("ORDER#{}", id.1), "META").await;
    let record = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("BOALLOC#{}", id.0)))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .pop()
        .unwrap_or_default();
    let history = last_history(clients, table, &format!("ORDER#{}", id.1)).await;
    let kb = |item: &HashMap<String, AttributeValue>| item_size(item).div_ceil(1024).max(1);
    let sizes = [
        item_size(&queue),
        item_size(&order),
        item_size(&record),
        item_size(&history),
    ];
    // Transactional writes bill twice; the backorder and the order are each
    // copied into gsi1 and gsi2, and the backorder moves from open to
    // fulfilled in gsi3 (a delete and a put); the stock item is shared by
    // 24 backorders.
    let transactional = 2 * (kb(&queue) + kb(&order) + kb(&record) + kb(&history));
    let indexes = 2 * kb(&queue) + 2 * kb(&queue) + 2 * kb(&order);
    let stock_share = 2.0 * kb(stock) as f64 / 24.0;
    println!(
        "per fulfilled backorder as AWS bills it: {:.2} WCU = {transactional} (4 transactional items {:?} bytes: backorder, order, allocation record, history) + {indexes} (gsi1 and gsi2 copies of backorder and order, the backorder's gsi3 move) + {stock_share:.2} (the stock update, 1 per batch of 24)",
        transactional as f64 + indexes as f64 + stock_share,
        sizes
    );
}

/// Inventory: staff's adjustment and transfer over HTTP, `RUNS` of each,
/// their write units as AWS bills them (from the items read back: each
/// stock item and the receipt written in a transaction, then one ledger
/// movement per warehouse, a plain put from the stream) and their latency.
async fn inventory(stack: &LocalStack) {
    const RUNS: usize = 20;
    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouses: Vec<String> = stack.spec.environment_of("checkout-api")["WAREHOUSES"]
        .split(',')
        .map(str::to_owned)
        .collect();
    let (from, to) = (&warehouses[0], &warehouses[1]);
    let sku = unique("BENCHINV");
    api.product_with_stock(&admin, &sku, 1_250, &[(from, 10_000)])
        .await;
    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let moves = [
        (
            "adjust",
            format!("/v1/inventory/{sku}/{from}/adjust"),
            serde_json::json!({ "delta": -1, "reason": "damaged", "note": "dropped in aisle 4" }),
        ),
        (
            "transfer",
            format!("/v1/inventory/{sku}/transfer"),
            serde_json::json!({ "from": from, "to": to, "quantity": 2 }),
        ),
    ];
    println!("== Staff moves over HTTP on the local stack ({RUNS} of each, one at a time)");
    for (name, path, body) in moves {
        let mut latencies = Vec::with_capacity(RUNS);
        let mut key = String::new();
        for _ in 0..RUNS {
            key = unique(name);
            let sent = Instant::now();
            let reply = api
                .send(
                    "POST",
                    &path,
                    Some(&admin),
                    &[("idempotency-key", key.as_str())],
                    Some(body.to_string()),
                )
                .await;
            latencies.push(sent.elapsed());
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        latencies.sort();
        let receipt = get_item(
            &clients,
            table,
            &format!("IDEMP#{name}#11:bench-admin#{key}"),
            "IDEMP",
        )
        .await;
        assert!(!receipt.is_empty(), "no receipt for {name} {key}");
        let touched = if name == "transfer" { 2 } else { 1 };
        let stock = get_item(
            &clients,
            table,
            &format!("SKU#{sku}"),
            &format!("STOCK#{from}"),
        )
        .await;
        let movement = newest_movement(&clients, table, &sku).await;
        let units = wru(&receipt, true) + touched * (wru(&stock, true) + wru(&movement, false));
        println!(
            "{name}: {units} WRU ({touched} stock item(s) {} B and the receipt {} B in one transaction, {touched} movement(s) {} B); latency p50 {:?}, p95 {:?}",
            item_size(&stock),
            item_size(&receipt),
            item_size(&movement),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95)
        );
    }
    println!();
    split_checkout(stack, &api, &admin, &warehouses).await;
    availability(stack, &api, &sku, &warehouses).await;
}

/// A 1-line cart of 5 against 2 units in one warehouse and 3 in another:
/// the write units of the split checkout as AWS bills them, from the items
/// read back (the order, its receipt and both stock items in the
/// transaction, the order into gsi1 and gsi2, the payment attempt after).
async fn split_checkout(stack: &LocalStack, api: &Api, admin: &str, warehouses: &[String]) {
    let sku = unique("BENCHSPLIT");
    api.product_with_stock(
        admin,
        &sku,
        1_250,
        &[(&warehouses[0], 2), (&warehouses[1], 3)],
    )
    .await;
    let buyer = stack.customer_token("bench-split");
    let placed = api
        .checkout(&buyer, &unique("key"), &cart(&[(&sku, 5)]))
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let order_id = placed.body["order"]["id"].as_str().unwrap();
    let order = get_item(&clients, table, &format!("ORDER#{order_id}"), "META").await;
    let receipt = checkout_receipt(&clients, table, order_id).await;
    let mut units = wru(&order, true) + wru(&receipt, true) + 2 * wru(&order, false);
    for warehouse in &warehouses[..2] {
        let stock = get_item(
            &clients,
            table,
            &format!("SKU#{sku}"),
            &format!("STOCK#{warehouse}"),
        )
        .await;
        units += wru(&stock, true);
    }
    let intent = placed.body["payment"]["intent_id"].as_str().unwrap();
    let attempt = get_item(
        &clients,
        table,
        &format!("ORDER#{order_id}"),
        &format!("PAY#{intent}"),
    )
    .await;
    units += wru(&attempt, false);
    println!(
        "split checkout (1 line of 5 from 2 + 3): {units} WRU (order {} B, receipt {} B, two stock items, the order into gsi1 and gsi2, the payment attempt); {} order lines",
        item_size(&order),
        item_size(&receipt),
        placed.body["order"]["lines"].as_array().map_or(0, Vec::len)
    );
    println!();
}

/// The newest movement of `sku`'s ledger, once stock-ledger has written
/// one (it follows the stream, a moment behind the write).
async fn newest_movement(
    clients: &Clients,
    table: &str,
    sku: &str,
) -> HashMap<String, AttributeValue> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let newest = clients
            .dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("MOVES#{sku}")))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
            .pop();
        match newest {
            Some(movement) => return movement,
            None if Instant::now() > deadline => panic!("no movement of {sku} recorded"),
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The storefront's availability read: the read units DynamoDB reports for
/// one (the product and each warehouse's stock, eventually consistent), and
/// latency over HTTP with 50 clients asking at once, without a token and
/// without an ETag (every answer read and rendered).
async fn availability(stack: &LocalStack, api: &Api, sku: &str, warehouses: &[String]) {
    const CLIENTS: usize = 50;
    const PER_CLIENT: usize = 20;
    use shopflow_ports::InventoryStore;
    let clients = stack.clients().await;
    let meter = Meter::default();
    let store = DynamoStore::new(meter.client(&clients), &stack.spec.table.name);
    let asked: Vec<shopflow_domain::WarehouseId> = warehouses
        .iter()
        .map(|code| shopflow_domain::WarehouseId::parse(code).unwrap())
        .collect();
    store
        .storefront_stock(&shopflow_domain::Sku::parse(sku).unwrap(), &asked)
        .await
        .unwrap()
        .unwrap();
    let (calls, rcu) = {
        let state = meter.0.lock().unwrap();
        (state.calls.clone(), state.reported_rcu)
    };
    let path = format!("/v1/products/{sku}/availability");
    let (latencies, elapsed) = load(CLIENTS, PER_CLIENT, |_| {
        let path = &path;
        async move {
            let reply = api.send("GET", path, None, &[], None).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    })
    .await;
    println!(
        "== Availability (GET /v1/products/{{sku}}/availability, no token) on the local stack"
    );
    println!(
        "one read: {calls:?}, {rcu} RRU reported ({} keys, eventually consistent)",
        1 + asked.len()
    );
    println!(
        "{} reads by {CLIENTS} concurrent clients in {:.1} s: {:.0}/s; latency p50 {:?}, p95 {:?}, p99 {:?}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99)
    );
    println!();
}

/// Invoices: a 20-line invoice rendered in-process (median of 50 and its
/// size), then a paid 3-line order's invoice issued from `order.paid` and
/// its PDF rendered to the bucket, with the write units each step costs as
/// AWS bills them (from the items read back) and the S3 requests.
async fn invoices(stack: &LocalStack) {
    use shopflow_domain::invoice::{Invoice, Party, Sequence, Series, Terms};
    println!("== Invoices");
    let at = shopflow_lambda_kit::now();
    let lines = (1..=20)
        .map(|n| shopflow_testkit::order_line(&format!("SKU-{n:02}"), "MAIN", 2, 1_250))
        .collect();
    let order = shopflow_testkit::unpaid_order(
        shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate()),
        shopflow_testkit::ADA,
        lines,
        at,
    );
    let terms = Terms {
        seller: Party {
            name: "Shopflow Bench GmbH".into(),
            address: vec!["Torstrasse 1".into(), "10119 Berlin".into(), "DE".into()],
            tax_id: Some("DE123456789".into()),
            email: None,
        },
        due_days: 14,
    };
    let invoice: Invoice = Invoice::draft_for_order(&order, &terms, at)
        .issued(
            Sequence::of(Series::Invoice, at).next_after(Some(41)),
            &terms,
            at,
        )
        .unwrap();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..50 {
        let started = Instant::now();
        size = shopflow_invoice_pdf::render(&invoice).unwrap().len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "render a 20-line invoice: p50 {:?}, max {:?} (50 runs, this build's profile); {size} B",
        percentile(&times, 0.5),
        times.last().unwrap()
    );

    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 10).await;
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();
    let (order, buyer) = shopflow_tests::paid_order(&api, &lines).await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let invoice_id = loop {
        let listed = api
            .get(&format!("/v1/orders/{order}/invoices"), &buyer)
            .await;
        if let Some(id) = listed.body["invoices"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "no invoice: {}", listed.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let issued_after = started.elapsed();
    let pdf_link = loop {
        let reply = api
            .get(&format!("/v1/invoices/{invoice_id}/pdf"), &buyer)
            .await;
        if reply.status == 302 {
            break reply.headers["location"].to_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no PDF: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rendered_after = started.elapsed();
    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let invoice_item = get_item(&clients, table, &format!("INVOICE#{invoice_id}"), "INVOICE").await;
    let claim = get_item(&clients, table, &format!("ORDER#{order}"), "INVOICE").await;
    let year = shopflow_lambda_kit::now().year();
    let counter = get_item(&clients, table, &format!("SEQ#INV-{year}"), "SEQ").await;
    let record = api
        .get(&format!("/v1/invoices/{invoice_id}"), &admin)
        .await
        .body["paid_minor"]
        .as_i64()
        .unwrap_or(0);
    // One transaction: the counter, the invoice, the order's claim, the
    // payment record and two outbox items (invoice.issued, which carries
    // the document for its PDF, and invoice.paid), each written twice;
    // then the invoice's copies in gsi1 and gsi2 (and gsi3 while it is
    // open: a paid one is not).
    let issued_outbox = issued_outbox_bytes(&clients, table, &invoice_id).await;
    let outbox_wru = 2 * (issued_outbox.div_ceil(1024) + 1);
    let payment_record_wru = 2;
    let issue_wru = wru(&counter, true)
        + wru(&invoice_item, true)
        + wru(&claim, true)
        + payment_record_wru
        + outbox_wru
        + 2 * wru(&invoice_item, false);
    // invoice-pdf reads and writes no item: the event carries the
    // document, and the PDF's presence is the object itself.
    let pdf_wru = 0;
    let (status, pdf) = shopflow_tests::download(&pdf_link).await;
    assert_eq!(status, 200);
    println!(
        "issue (order.paid -> invoice paid by the capture of {record}): {issue_wru} WRU (invoice {} B, claim {} B, counter {} B); \
         issued {issued_after:?} after the order was paid, over the bus on the local stack",
        item_size(&invoice_item),
        item_size(&claim),
        item_size(&counter)
    );
    println!(
        "invoice.issued outbox item ≈ {issued_outbox} B with its document; \
         PDF: {pdf_wru} WRU, 1 S3 PUT of {} B, rendered {:?} after that",
        pdf.len(),
        rendered_after - issued_after
    );
    println!(
        "per invoice: {} WRU, 1 S3 PUT, 2 SQS messages and 2 Lambda invocations (invoice-issuer, invoice-pdf); \
         each download: 1 GET API call (1 RRU, 1 S3 HEAD) + 1 presigned S3 GET",
        issue_wru + pdf_wru
    );
    println!();
}

/// One order's confirmation through notifier: its render time, the
/// notification's item, and what the mail costs in writes and reads.
async fn notifications(stack: &LocalStack) {
    use shopflow_domain::notification::{NotificationStatus, Template};
    use shopflow_ports::NotificationStore;
    println!("== Notifications");
    let letters = notifier::letters::Letters::new(notifier::letters::Locale::En).unwrap();
    let lines: Vec<serde_json::Value> = (1..=20)
        .map(|n| serde_json::json!({ "name": format!("Product {n}"), "quantity": 2, "amount": "EUR 25.00" }))
        .collect();
    let letter = serde_json::json!({
        "shop": { "name": "Shopflow Bench", "url": "https://shop.example.com" },
        "order": { "id": "01KB0000000000000000000000", "url": "https://shop.example.com/orders/1", "total": "EUR 500.00", "lines": lines },
    });
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..200 {
        let started = Instant::now();
        let rendered = letters
            .render(Template::OrderConfirmation, &letter)
            .unwrap();
        size = rendered.html.len() + rendered.text.len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "render a 20-line confirmation (subject, HTML, text): p50 {:?}, max {:?} (200 runs, this build's profile); {size} B",
        percentile(&times, 0.5),
        times.last().unwrap()
    );

    let api = api_for(stack);
    let admin = stack.admin_token("bench-admin");
    let warehouse = first_warehouse(stack);
    let skus = setup_skus(&api, &admin, &warehouse, 3, 10).await;
    let lines: Vec<(&str, u32)> = skus.iter().map(|s| (s.as_str(), 1)).collect();
    let (order, _buyer) = shopflow_tests::paid_order(&api, &lines).await;
    let clients = stack.clients().await;
    let table = &stack.spec.table.name;
    let store = DynamoStore::new(clients.dynamodb.clone(), table);
    let order_id: shopflow_domain::OrderId = order.parse().unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let sent = loop {
        let found = store
            .order_notifications(order_id)
            .await
            .unwrap()
            .into_iter()
            .find(|n| {
                n.key.template == Template::OrderConfirmation
                    && n.status == NotificationStatus::Sent
            });
        if let Some(sent) = found {
            break sent;
        }
        assert!(Instant::now() < deadline, "no confirmation sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let after = started.elapsed();
    let key = &sent.key;
    let item = get_item(
        &clients,
        table,
        &format!("ORDER#{order}"),
        &format!("MAIL#{}#{}#{}", key.event_id, key.template, key.to),
    )
    .await;
    let order_item = get_item(&clients, table, &format!("ORDER#{order}"), "META").await;
    // Recorded (the item, its gsi1 and gsi2 copies), then settled (the same
    // three again); an order's confirmation also links its address (1).
    let record_wru = 3 * wru(&item, false);
    let per_mail_wru = 2 * record_wru;
    let confirmation_wru = per_mail_wru + 1;
    // The order (an eventually consistent GetItem: half a unit per 4 KB)
    // and the suppression list (a consistent GetItem of a missing item: 1).
    let order_rru = item_size(&order_item).div_ceil(4096).max(1) as f64 / 2.0;
    let per_mail_rru = order_rru + 1.0;
    println!(
        "a mail about an order: {per_mail_wru} WRU (notification {} B, put then settled, each with its gsi1 and gsi2 copies), \
         {per_mail_rru} RRU (the order {} B, the suppression list); the confirmation {confirmation_wru} WRU with its address link; \
         sent {after:?} after the order was paid, over the bus on the local stack",
        item_size(&item),
        item_size(&order_item)
    );
    println!(
        "its feedback (a delivery): 1 SQS message, 1 RRU (the notification), {} WRU (settled again); \
         per mail: 2 SQS messages (≈ 6 requests), 2 Lambda invocations (batches of up to 10), no SES in these figures",
        record_wru
    );
    println!();
}

#[tokio::main]
async fn main() {
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        which = vec![
            "units".into(),
            "throughput".into(),
            "sweep".into(),
            "init".into(),
            "payments".into(),
            "backorders".into(),
            "shipping".into(),
            "inventory".into(),
            "invoices".into(),
            "notifications".into(),
        ];
    }
    let stack = LocalStack::start(Options {
        port: 0,
        seed_demo_catalog: false,
        schedule_interval: Duration::from_secs(24 * 3600),
        ..Options::default()
    })
    .await
    .expect("local stack");
    for bench in which {
        match bench.as_str() {
            "units" => units(&stack).await,
            "throughput" => throughput(&stack).await,
            "sweep" => sweep(&stack).await,
            "init" => init(&stack).await,
            "payments" => payments(&stack).await,
            "shipping" => shipping(&stack).await,
            "backorders" => backorders(&stack).await,
            "inventory" => inventory(&stack).await,
            "invoices" => invoices(&stack).await,
            "notifications" => notifications(&stack).await,
            other => eprintln!("unknown benchmark {other}"),
        }
    }
}
