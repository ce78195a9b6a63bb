//! The harness every end-to-end test shares: one local stack per test binary
//! (emulators, resources from the template, the HTTP routes, the outbox
//! relay), an HTTP client, and helpers to set up catalog and stock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use shopflow_local::resources::Clients;
use shopflow_local::template::StackSpec;
use shopflow_local::token::DevTokens;
use shopflow_local::{LocalStack, Options};
use std::sync::OnceLock;
use std::time::Duration;

/// What tests need to know about the running stack; the stack itself lives
/// on its own runtime thread for the whole test binary, and its emulators
/// stop when the binary exits.
pub struct Stack {
    pub base_url: String,
    pub dynamodb_endpoint: String,
    pub moto_endpoint: String,
    pub spec: StackSpec,
    pub tokens: DevTokens,
    /// The mock Stripe the stack's functions share (none when started with
    /// localstripe).
    pub mock: Option<shopflow_stripe_mock::MockGateway>,
    /// localstripe's address, for a stack started with it.
    pub localstripe: Option<String>,
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// The stack with scheduled functions running every 2 s, as `make dev` runs
/// them, and payments through the mock Stripe.
pub fn stack() -> &'static Stack {
    start_once(Duration::from_secs(2), false, &[])
}

/// The stack with scheduled functions effectively off (they run once at
/// start), for tests that invoke them by hand and count what they did. A test
/// binary uses one of these stacks only.
pub fn stack_without_schedules() -> &'static Stack {
    start_once(Duration::from_secs(24 * 3600), false, &[])
}

/// The stack taking payments through localstripe, with the real Stripe
/// client, and localstripe posting its signed webhooks to the stack.
pub fn stack_with_localstripe() -> &'static Stack {
    start_once(Duration::from_secs(2), true, &[])
}

/// The stack without schedules and with backorder-allocator and
/// invoice-pdf paused, for tests that drive the store by hand: nothing
/// serves a queue behind their back (allocates what they set aside, or
/// notes a PDF on the invoices they compare).
pub fn stack_for_store_tests() -> &'static Stack {
    start_once(
        Duration::from_secs(24 * 3600),
        false,
        &["backorder-allocator", "invoice-pdf"],
    )
}

fn start_once(
    schedule_interval: Duration,
    localstripe: bool,
    paused: &'static [&'static str],
) -> &'static Stack {
    STACK.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let local = LocalStack::start(Options {
                    port: 0,
                    seed_demo_catalog: true,
                    schedule_interval,
                    localstripe,
                    paused_consumers: paused.iter().map(|name| (*name).to_owned()).collect(),
                    ..Options::default()
                })
                .await
                .expect("the local stack starts");
                sender
                    .send(Stack {
                        base_url: local.base_url(),
                        dynamodb_endpoint: local.dynamodb_endpoint.clone(),
                        moto_endpoint: local.moto_endpoint.clone(),
                        spec: local.spec.clone(),
                        tokens: local.tokens.clone(),
                        mock: local.mock.clone(),
                        localstripe: local.localstripe_endpoint.clone(),
                    })
                    .unwrap();
                std::future::pending::<()>().await;
                drop(local);
            });
        });
        receiver.recv().expect("the local stack thread reports")
    })
}

impl Stack {
    /// SDK clients for the calling test's runtime.
    pub async fn clients(&self) -> Clients {
        Clients::new(&self.dynamodb_endpoint, &self.moto_endpoint).await
    }

    pub fn customer(&self, id: &str) -> String {
        self.tokens
            .mint(id, false, shopflow_local::now_secs(), 3600)
    }

    pub fn admin(&self) -> String {
        self.tokens
            .mint("ops", true, shopflow_local::now_secs(), 3600)
    }

    pub fn api(&self) -> Api {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build_http();
        Api {
            client,
            base: self.base_url.clone(),
        }
    }
}

/// A test-unique name, so tests sharing the stack never touch each other's data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::generate()).to_uppercase()
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Api {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = self
            .client
            .request(request)
            .await
            .expect("the local stack answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), &[], None).await
    }

    pub async fn checkout(&self, token: &str, key: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            "/v1/checkout",
            Some(token),
            &[("idempotency-key", key)],
            Some(body.to_string()),
        )
        .await
    }

    /// `POST /v1/orders/{id}/cancel` by `token`, with `body`.
    pub async fn cancel(&self, id: impl std::fmt::Display, token: &str, body: &Value) -> Reply {
        let path = format!("/v1/orders/{id}/cancel");
        self.send("POST", &path, Some(token), &[], Some(body.to_string()))
            .await
    }

    /// Creates an active EUR product and puts `stock` units in each warehouse given.
    pub async fn product_with_stock(
        &self,
        admin: &str,
        sku: &str,
        price_minor: i64,
        stock: &[(&str, u32)],
    ) {
        let product = json!({ "name": format!("Test {sku}"), "price_minor": price_minor, "currency": "EUR", "active": true });
        let reply = self
            .send(
                "PUT",
                &format!("/v1/products/{sku}"),
                Some(admin),
                &[],
                Some(product.to_string()),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        for (warehouse, quantity) in stock {
            self.restock(admin, sku, warehouse, *quantity).await;
        }
    }

    /// Lets checkout backorder up to `max` units of `sku` in `warehouse`.
    pub async fn allow_backorders(&self, admin: &str, sku: &str, warehouse: &str, max: u32) {
        let settings = json!({ "allow_backorder": true, "max_backorder_quantity": max });
        let reply = self
            .send(
                "PUT",
                &format!("/v1/inventory/{sku}/{warehouse}/backorder-settings"),
                Some(admin),
                &[],
                Some(settings.to_string()),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }

    /// Receives `quantity` units of `sku` into `warehouse`, under a new key.
    pub async fn restock(&self, admin: &str, sku: &str, warehouse: &str, quantity: u32) {
        let path = format!("/v1/inventory/{sku}/{warehouse}/restock");
        let key = ulid::Ulid::generate().to_string();
        let reply = self
            .send(
                "POST",
                &path,
                Some(admin),
                &[("idempotency-key", key.as_str())],
                Some(json!({ "quantity": quantity }).to_string()),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }

    /// Posts `event` to the Stripe webhook, signed now with the local
    /// stack's endpoint secret, as Stripe delivers it.
    pub async fn stripe_delivers(&self, event: &str) -> Reply {
        let signature = shopflow_stripe::signature::sign(
            event.as_bytes(),
            shopflow_local::LOCAL_STRIPE_WEBHOOK_SECRET.as_bytes(),
            shopflow_local::now_secs(),
        );
        self.send(
            "POST",
            "/v1/webhooks/stripe",
            None,
            &[("stripe-signature", &signature)],
            Some(event.to_owned()),
        )
        .await
    }

    /// The order as `token` sees it once `check` holds, waiting up to a
    /// minute for the stack's consumers; the last read when it never does.
    pub async fn order_once(&self, id: &str, token: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let order = self.get(&format!("/v1/orders/{id}"), token).await.body["order"].clone();
            if check(&order) || std::time::Instant::now() > deadline {
                return order;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The warehouse's stock as the inventory API shows it to staff.
    pub async fn level(&self, admin: &str, sku: &str, warehouse: &str) -> Value {
        let reply = self.get(&format!("/v1/inventory/{sku}"), admin).await;
        reply.body["warehouses"]
            .as_array()
            .and_then(|levels| levels.iter().find(|l| l["warehouse"] == warehouse).cloned())
            .unwrap_or(Value::Null)
    }

    /// The level once `done` holds, waiting up to a minute for the stack's
    /// consumers; the last read when it never does.
    pub async fn level_once(
        &self,
        admin: &str,
        sku: &str,
        warehouse: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let level = self.level(admin, sku, warehouse).await;
            if done(&level) || std::time::Instant::now() > deadline {
                return level;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stock of `sku` in `warehouse` as the inventory API reports it: (on_hand, reserved, available).
    pub async fn stock(&self, token: &str, sku: &str, warehouse: &str) -> (u64, u64, u64) {
        let reply = self.get(&format!("/v1/inventory/{sku}"), token).await;
        let level = reply.body["warehouses"]
            .as_array()
            .and_then(|levels| levels.iter().find(|l| l["warehouse"] == warehouse).cloned())
            .unwrap_or(Value::Null);
        (
            level["on_hand"].as_u64().unwrap_or(0),
            level["reserved"].as_u64().unwrap_or(0),
            level["available"].as_u64().unwrap_or(0),
        )
    }
}

/// An order a new customer placed and paid by card through the mock
/// Stripe: its id and the customer's token, once the order is paid.
pub async fn paid_order(api: &Api, lines: &[(&str, u32)]) -> (String, String) {
    paid_order_mailed_to(api, lines, "buyer@example.com").await
}

/// [`paid_order`], the order's mail going to `email`.
pub async fn paid_order_mailed_to(
    api: &Api,
    lines: &[(&str, u32)],
    email: &str,
) -> (String, String) {
    let buyer = stack().customer(&unique("buyer"));
    let mut body = cart(lines);
    body["email"] = json!(email);
    let reply = api.checkout(&buyer, &unique("key"), &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["order"]["id"].as_str().unwrap().to_owned();
    let intent = reply.body["payment"]["intent_id"].as_str().unwrap();
    let confirmed = api
        .send(
            "POST",
            &format!("/_mock/stripe/payment_intents/{intent}/confirm"),
            None,
            &[],
            Some(json!({ "payment_method": "pm_card_visa" }).to_string()),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let order = api
        .order_once(&id, &buyer, |order| order["payment_status"] == "paid")
        .await;
    assert_eq!(order["payment_status"], "paid", "{order:#}");
    (id, buyer)
}

/// Staff ship `lines` of order `id` from `warehouse` by `carrier` under
/// `number`: the fulfilment API's answer.
pub async fn fulfil(
    api: &Api,
    id: &str,
    warehouse: &str,
    carrier: &str,
    number: &str,
    lines: &[(&str, u32)],
) -> Reply {
    let body = json!({
        "warehouse": warehouse,
        "carrier": carrier,
        "tracking_number": number,
        "lines": lines.iter().map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity })).collect::<Vec<_>>(),
    });
    api.send(
        "POST",
        &format!("/v1/orders/{id}/fulfillments"),
        Some(&stack().admin()),
        &[("idempotency-key", &unique("ship"))],
        Some(body.to_string()),
    )
    .await
}

/// USPS pushes `scans` of parcel `number` to the stack's webhook, signed now
/// with the local secret.
pub async fn usps_pushes(
    api: &Api,
    number: &str,
    scans: &[shopflow_testkit::couriers::Scan],
) -> Reply {
    let body = shopflow_testkit::couriers::usps_push(number, scans);
    let headers = shopflow_testkit::couriers::usps_signature(
        shopflow_local::secrets::LOCAL_USPS_SECRET,
        shopflow_lambda_kit::now(),
        &body,
    );
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    api.send(
        "POST",
        "/v1/webhooks/couriers/usps",
        None,
        &headers,
        Some(body),
    )
    .await
}

/// A tracking number (letters and digits) no other test uses.
pub fn tracking_number(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::generate())
}

/// The warehouses of the local stack, in checkout priority order.
pub fn warehouses() -> Vec<String> {
    stack().spec.environment_of("checkout-api")["WAREHOUSES"]
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// A valid checkout body for the given (sku, quantity) lines.
pub fn cart(lines: &[(&str, u32)]) -> Value {
    json!({
        "lines": lines.iter().map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity })).collect::<Vec<_>>(),
        "currency": "EUR",
        "email": "buyer@example.com",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB"
        }
    })
}

/// Places `count` orders of one unit of `sku` straight through the store,
/// with reservations that lapsed a second ago (checkout cannot create those:
/// its reservation time is configured in minutes).
pub async fn place_lapsed_orders(
    sku: &str,
    warehouse: &str,
    count: usize,
) -> Vec<shopflow_domain::OrderId> {
    let ids = (0..count).map(|_| shopflow_domain::OrderId::from_ulid(ulid::Ulid::generate()));
    place_orders(&harness_store().await, sku, warehouse, ids.collect(), 0).await
}

/// Places one order of one unit of `sku` under a chosen id, reserved for
/// 15 minutes, straight through the store.
pub async fn place_order_with_id(sku: &str, warehouse: &str, id: shopflow_domain::OrderId) {
    place_orders(&harness_store().await, sku, warehouse, vec![id], 900).await;
}

async fn harness_store() -> shopflow_dynamo::DynamoStore {
    let clients = stack().clients().await;
    shopflow_dynamo::DynamoStore::new(clients.dynamodb.clone(), &stack().spec.table.name)
}

/// Places one order of one unit of `sku` for each id through `store`,
/// reserved for `reservation_ttl_secs` from a second ago.
pub async fn place_orders(
    store: &shopflow_dynamo::DynamoStore,
    sku: &str,
    warehouse: &str,
    ids: Vec<shopflow_domain::OrderId>,
    reservation_ttl_secs: u64,
) -> Vec<shopflow_domain::OrderId> {
    use futures::StreamExt;
    use shopflow_domain::events::{DomainEvent, OrderCreated};
    use shopflow_domain::*;
    use shopflow_ports::{CheckoutReceipt, CheckoutStore, IdempotencyKey, OutboxEvent};

    let policy = CheckoutPolicy {
        tax_rate_bps: 0,
        shipping_flat_minor: 0,
        min_total_minor: 0,
        max_total_minor: i64::MAX,
        reservation_ttl_secs,
        warehouses: vec![WarehouseId::parse(warehouse).unwrap()],
    };
    let product = Product {
        sku: Sku::parse(sku).unwrap(),
        name: format!("Test {sku}"),
        price: Money::new(100, Currency::parse("EUR").unwrap()).unwrap(),
        active: true,
    };
    let catalog = std::collections::HashMap::from([(product.sku.clone(), product.clone())]);
    futures::stream::iter(ids.into_iter().enumerate())
        .map(|(index, id)| {
            let (policy, catalog, product) = (&policy, &catalog, &product);
            async move {
                let customer = CustomerId::parse(&format!("lapsed-{index}")).unwrap();
                let line = CartLine {
                    sku: product.sku.clone(),
                    quantity: Quantity::parse(1).unwrap(),
                };
                let address = ShippingAddress {
                    name: "Ada".into(),
                    line1: "1 Way".into(),
                    line2: None,
                    city: "London".into(),
                    region: None,
                    postal_code: "N1".into(),
                    country: "GB".into(),
                };
                let checkout = ValidatedCheckout::new(
                    vec![line.clone()],
                    Currency::parse("EUR").unwrap(),
                    Email::parse("ada@example.com").unwrap(),
                    address,
                )
                .unwrap();
                let priced = policy.price(&checkout, catalog).unwrap();
                let allocation = Allocation {
                    sku: line.sku.clone(),
                    warehouse: policy.warehouses[0].clone(),
                    quantity: line.quantity,
                    backorder: None,
                };
                let placed_at =
                    Timestamp::from_millis(shopflow_lambda_kit::now().as_millis() - 1_000);
                let order = policy.place_order(
                    id,
                    customer.clone(),
                    checkout,
                    priced,
                    &[allocation],
                    placed_at,
                );
                let event = OutboxEvent {
                    id: ulid::Ulid::generate(),
                    occurred_at: placed_at,
                    event: DomainEvent::OrderCreated(OrderCreated::from(&order)),
                };
                let key = IdempotencyKey {
                    scope: "test".into(),
                    key: id.to_string(),
                };
                let response = CheckoutReceipt {
                    request_fingerprint: String::new(),
                    order_id: id,
                };
                store
                    .place_order(&order, &event, &key, &response, &Default::default())
                    .await
                    .unwrap();
                id
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
}

/// What a plain GET of `url` (outside the API: a presigned link) answers:
/// its status and body.
pub async fn download(url: &str) -> (u16, Vec<u8>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .get(url.parse().expect("a URL"))
        .await
        .expect("the link answers");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body arrives")
        .to_bytes();
    (status, body.to_vec())
}

/// A mail the stack sent, as moto's SES keeps it (moto keeps the HTML part
/// when a mail has both).
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Stack {
    /// Every mail moto took, oldest first.
    pub async fn sent_mail(&self) -> Vec<SentMail> {
        let url = format!("{}/moto-api/data.json", self.moto_endpoint);
        // moto answers 500 when its models change while it lists them.
        let mut answer = download(&url).await;
        for _ in 0..20 {
            if answer.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            answer = download(&url).await;
        }
        let (status, body) = answer;
        assert_eq!(
            status,
            200,
            "moto's data: {}",
            String::from_utf8_lossy(&body)
        );
        let data: Value = serde_json::from_slice(&body).unwrap();
        data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|message| SentMail {
                to: message["destinations"]["ToAddresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|to| to.as_str().map(str::to_owned))
                    .collect(),
                subject: message["subject"].as_str().unwrap_or_default().to_owned(),
                body: message["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The mails whose subject contains `subject`, once there is one (or
    /// none after 60 s).
    pub async fn mail_once(&self, subject: &str) -> Vec<SentMail> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let found: Vec<SentMail> = self
                .sent_mail()
                .await
                .into_iter()
                .filter(|mail| mail.subject.contains(subject))
                .collect();
            if !found.is_empty() || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
