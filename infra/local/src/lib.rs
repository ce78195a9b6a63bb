//! The local stack: the emulators, the resources of infra/template.yaml, every
//! HTTP route served on localhost by the functions' own handlers, and the
//! table stream feeding the outbox relay, as in AWS.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod emulators;
pub mod mock_stripe;
pub mod queues;
pub mod resources;
pub mod seed;
pub mod server;
pub mod stream;
pub mod template;
pub mod token;

use emulators::{Emulator, EmulatorError};
use lambda_http::Body;
use resources::{Clients, ResourceError};
use server::{HttpHandler, Router};
use shopflow_lambda_kit::config::{self, ConfigError};
use shopflow_lambda_kit::payments;
use shopflow_store::dynamo::DynamoStore;
use shopflow_store::eventbridge::EventBridgeBus;
use shopflow_store::stripe::{Gateway, MockGateway};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use stream::StreamHandler;
use template::{StackSpec, TemplateError};
use token::DevTokens;
use tokio::task::JoinHandle;

/// moto's default account and the region every local client uses.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

/// The local stack's Stripe webhook signing secret (tests sign with it).
pub const LOCAL_STRIPE_WEBHOOK_SECRET: &str = "whsec_shopflow_local";

/// Template parameter values for the local stack.
pub fn local_parameters() -> BTreeMap<String, String> {
    [
        ("Stage", "local"),
        ("JwtIssuer", "https://auth.shopflow.localhost/"),
        ("JwtAudience", "shopflow-local"),
        ("Warehouses", "WH-NORTH,WH-SOUTH"),
        ("TaxRateBps", "2000"),
        ("ShippingFlatMinor", "495"),
        ("StripeWebhookSecret", LOCAL_STRIPE_WEBHOOK_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn template_path() -> PathBuf {
    repo_root().join("infra/template.yaml")
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The dev-token signer for the local parameters.
pub fn dev_tokens() -> DevTokens {
    let key =
        std::env::var("SHOPFLOW_DEV_JWT_KEY").unwrap_or_else(|_| token::DEFAULT_DEV_KEY.to_owned());
    let parameters = local_parameters();
    DevTokens::new(
        key.as_bytes(),
        &parameters["JwtIssuer"],
        &parameters["JwtAudience"],
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("creating resources: {0}")]
    Resources(#[from] ResourceError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the template routes to {0}, which the local stack does not know")]
    UnknownFunction(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("seeding the demo catalog: {0}")]
    Seed(String),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    pub seed_demo_catalog: bool,
    /// How often scheduled functions run locally (AWS: their template schedule).
    pub schedule_interval: std::time::Duration,
    /// Template parameter values over [`local_parameters`].
    pub parameters: BTreeMap<String, String>,
    /// Take payments through localstripe (a Stripe emulator) and the real
    /// Stripe client instead of the in-process mock.
    pub localstripe: bool,
}

/// The key the functions use with localstripe, which takes any `sk_` key.
pub const LOCALSTRIPE_KEY: &str = "sk_test_shopflow_localstripe";

/// A running local stack; dropping it stops everything it started.
pub struct LocalStack {
    pub http: SocketAddr,
    pub spec: StackSpec,
    pub dynamodb_endpoint: String,
    pub moto_endpoint: String,
    pub queue_urls: BTreeMap<String, String>,
    pub tokens: DevTokens,
    /// The payment provider every function talks to.
    pub payments: Gateway,
    /// localstripe's address, when payments go there.
    pub localstripe_endpoint: Option<String>,
    tasks: Vec<JoinHandle<()>>,
    _emulators: Vec<Emulator>,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn http_handler<A, F, Fut>(app: A, handle: F) -> HttpHandler
where
    A: Send + Sync + 'static,
    F: Fn(Arc<A>, lambda_http::Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<lambda_http::Response<Body>, lambda_http::Error>> + Send + 'static,
{
    let app = Arc::new(app);
    Arc::new(move |request| {
        let future = handle(app.clone(), request);
        Box::pin(async move {
            future.await.unwrap_or_else(|error| {
                tracing::error!(%error, "handler failed");
                shopflow_lambda_kit::ApiError::new(
                    lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the function failed",
                )
                .into_response()
            })
        })
    })
}

/// The payment provider: Stripe (or an emulator) when the environment names
/// a key, otherwise `mock`, which every function shares, as one Stripe account
/// would be shared.
pub fn local_payments(
    env: &BTreeMap<String, String>,
    mock: &MockGateway,
) -> Result<Gateway, LocalError> {
    if config::optional(env, "STRIPE_SECRET_KEY").is_some() {
        return Ok(payments::gateway_from(env)?);
    }
    tracing::warn!(
        payments = "mock",
        "payments run in MOCK mode: no STRIPE_SECRET_KEY is set, no real money moves"
    );
    Ok(Gateway::Mock(mock.clone()))
}

/// Every HTTP function, built as its `main` builds it but on the emulators'
/// clients, the environment the template gives it and the local payments.
pub fn http_functions(
    clients: &Clients,
    env: &BTreeMap<String, String>,
    payments: &Gateway,
) -> Result<HashMap<String, HttpHandler>, LocalError> {
    let store = DynamoStore::new(
        clients.dynamodb.clone(),
        config::required(env, "TABLE_NAME")?,
    );
    let checkout = checkout_api::App::new(
        store.clone(),
        payments.clone(),
        checkout_api::policy_from(env)?,
    );
    let orders = orders_api::App::new(store.clone());
    let inventory = inventory_api::App::new(store.clone());
    let stripe = stripe_webhook::App::new(
        store.clone(),
        payments.clone(),
        config::required(env, "STRIPE_WEBHOOK_SECRET")?,
    );
    let payments_api = payments_api::App::new(store, payments.clone());
    let ops = ops_api::App::new(
        shopflow_store::sqs::SqsDeadLetters::new(clients.sqs.clone()),
        ops_api::routes_from(env)?,
    );
    Ok(HashMap::from([
        (
            "checkout-api".to_owned(),
            http_handler(
                checkout,
                |app, request| async move { app.handle(request).await },
            ),
        ),
        (
            "orders-api".to_owned(),
            http_handler(
                orders,
                |app, request| async move { app.handle(request).await },
            ),
        ),
        (
            "stripe-webhook".to_owned(),
            http_handler(
                stripe,
                |app, request| async move { app.handle(request).await },
            ),
        ),
        (
            "ops-api".to_owned(),
            http_handler(ops, |app, request| async move { app.handle(request).await }),
        ),
        (
            "payments-api".to_owned(),
            http_handler(payments_api, |app, request| async move {
                app.handle(request).await
            }),
        ),
        (
            "inventory-api".to_owned(),
            http_handler(inventory, |app, request| async move {
                app.handle(request).await
            }),
        ),
    ]))
}

/// A queue-fed function's handler, as the local SQS mapping invokes it.
fn queue_handler<A, F, Fut>(app: A, handle: F) -> queues::QueueHandler
where
    A: Send + Sync + 'static,
    F: Fn(Arc<A>, lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: Future<
            Output = Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error>,
        > + Send
        + 'static,
{
    let app = Arc::new(app);
    Arc::new(move |event| {
        let invocation =
            lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
        let future = handle(app.clone(), invocation);
        Box::pin(async move { future.await.map_err(|e| e.to_string()) })
    })
}

/// Every queue-fed function, as its `main` builds it.
pub fn queue_functions(
    clients: &Clients,
    env: &BTreeMap<String, String>,
    payments: &Gateway,
) -> Result<HashMap<String, queues::QueueHandler>, LocalError> {
    let store = DynamoStore::new(
        clients.dynamodb.clone(),
        config::required(env, "TABLE_NAME")?,
    );
    let order_status = order_status::App::new(store.clone());
    let payment_actions = payment_actions::App::new(
        store,
        payments.clone(),
        shopflow_lambda_kit::payments::capture_policy_from(env)?,
    );
    Ok(HashMap::from([
        (
            "order-status".to_owned(),
            queue_handler(
                order_status,
                |app, event| async move { app.handle(event).await },
            ),
        ),
        (
            "payment-actions".to_owned(),
            queue_handler(payment_actions, |app, event| async move {
                app.handle(event).await
            }),
        ),
    ]))
}

/// A scheduled function: takes the EventBridge scheduled event, answers what it did.
pub type ScheduledFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send>>;
pub type ScheduledHandler = Arc<dyn Fn(serde_json::Value) -> ScheduledFuture + Send + Sync>;

pub fn scheduled_functions(
    clients: &Clients,
    env: &BTreeMap<String, String>,
) -> Result<HashMap<String, ScheduledHandler>, LocalError> {
    let store = DynamoStore::new(
        clients.dynamodb.clone(),
        config::required(env, "TABLE_NAME")?,
    );
    let sweeper = Arc::new(reservation_sweeper::App::new(
        store,
        reservation_sweeper::SweepLimits::from(env)?,
    ));
    let sweep: ScheduledHandler = Arc::new(move |event| {
        let sweeper = sweeper.clone();
        Box::pin(async move {
            let invocation =
                lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
            let report = sweeper
                .handle(invocation)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(report).map_err(|e| e.to_string())
        })
    });
    Ok(HashMap::from([("reservation-sweeper".to_owned(), sweep)]))
}

/// Runs a scheduled function every `interval` until the task is dropped.
async fn run_on_schedule(handler: ScheduledHandler, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let event = serde_json::json!({
            "version": "0",
            "id": ulid::Ulid::generate().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": shopflow_lambda_kit::now().to_rfc3339(),
            "region": REGION,
            "resources": [],
            "detail": {}
        });
        if let Err(error) = handler(event).await {
            tracing::error!(%error, "scheduled function failed");
        }
    }
}

pub fn stream_functions(
    clients: &Clients,
    env: &BTreeMap<String, String>,
) -> Result<HashMap<String, StreamHandler>, LocalError> {
    let bus = EventBridgeBus::new(
        clients.events.clone(),
        config::required(env, "EVENT_BUS_NAME")?,
    );
    let relay = Arc::new(outbox_relay::App::new(bus));
    let handler: StreamHandler = Arc::new(move |event| {
        let relay = relay.clone();
        Box::pin(async move {
            let invocation =
                lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
            relay.handle(invocation).await.map_err(|e| e.to_string())
        })
    });
    Ok(HashMap::from([("outbox-relay".to_owned(), handler)]))
}

impl LocalStack {
    pub async fn start(options: Options) -> Result<Self, LocalError> {
        let repo = repo_root();
        let installed = emulators::bootstrap(&repo)?;
        let mut parameters = local_parameters();
        let localstripe = options
            .localstripe
            .then(|| emulators::start_localstripe(&repo, &installed))
            .transpose()?;
        if let Some(localstripe) = &localstripe {
            parameters.insert("StripeSecretKey".into(), LOCALSTRIPE_KEY.into());
            parameters.insert("StripeApiBase".into(), localstripe.endpoint());
        }
        parameters.extend(options.parameters.clone());
        let spec = StackSpec::load(&template_path(), &parameters)?;
        let dynamodb = emulators::start_dynamodb_local(&repo, &installed)?;
        let moto = emulators::start_moto(&repo, &installed)?;
        let clients = Clients::new(&dynamodb.endpoint(), &moto.endpoint()).await;
        let queue_urls = resources::create(&clients, &spec).await?;

        // The address first: the mock posts its webhooks to it and serves
        // hosted checkout pages under it.
        let (listener, http) = server::bind(options.port).await?;
        let base = format!("http://{http}");
        let mock = MockGateway::new(format!("{base}{}checkout", mock_stripe::PREFIX))
            .posting_webhooks(
                format!("{base}/v1/webhooks/stripe"),
                config::required(&spec.environment, "STRIPE_WEBHOOK_SECRET")?,
            );
        let payments = local_payments(&spec.environment, &mock)?;
        let functions = http_functions(&clients, &spec.environment, &payments)?;
        if let Some(route) = spec
            .routes
            .iter()
            .find(|r| !functions.contains_key(&r.function))
        {
            return Err(LocalError::UnknownFunction(route.function.clone()));
        }
        let stream_handlers = stream_functions(&clients, &spec.environment)?;
        let mut tasks = Vec::new();
        for consumer in &spec.stream_consumers {
            let handler = stream_handlers
                .get(consumer)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(consumer.clone()))?;
            tasks.push(tokio::spawn(stream::pump(
                clients.clone(),
                spec.table.name.clone(),
                handler,
            )));
        }

        let consumers = queue_functions(&clients, &spec.environment, &payments)?;
        for (function, queue) in &spec.queue_consumers {
            let handler = consumers
                .get(function)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(function.clone()))?;
            let url = queue_urls
                .get(queue)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(queue.clone()))?;
            tasks.push(tokio::spawn(queues::pump(clients.clone(), url, handler)));
        }
        let scheduled = scheduled_functions(&clients, &spec.environment)?;
        for function in &spec.scheduled {
            let handler = scheduled
                .get(function)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(function.clone()))?;
            tasks.push(tokio::spawn(run_on_schedule(
                handler,
                options.schedule_interval,
            )));
        }

        let tokens = dev_tokens();
        if options.seed_demo_catalog {
            seed::demo_catalog(&functions, &tokens, &spec)
                .await
                .map_err(LocalError::Seed)?;
        }
        let router = Arc::new(Router::new(
            spec.routes.clone(),
            functions,
            tokens.clone(),
            payments.is_mock().then_some(mock),
        ));
        tasks.push(tokio::spawn(server::serve(listener, router)));
        let localstripe_endpoint = localstripe.as_ref().map(Emulator::endpoint);
        if let Some(endpoint) = &localstripe_endpoint {
            emulators::send_localstripe_webhooks(
                endpoint,
                &format!("{base}/v1/webhooks/stripe"),
                &config::required(&spec.environment, "STRIPE_WEBHOOK_SECRET")?,
            )
            .await?;
        }
        Ok(Self {
            http,
            spec,
            dynamodb_endpoint: dynamodb.endpoint(),
            moto_endpoint: moto.endpoint(),
            queue_urls,
            tokens,
            payments,
            localstripe_endpoint,
            tasks,
            _emulators: [Some(dynamodb), Some(moto), localstripe]
                .into_iter()
                .flatten()
                .collect(),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Fresh SDK clients on the emulators, for the caller's own runtime.
    pub async fn clients(&self) -> Clients {
        Clients::new(&self.dynamodb_endpoint, &self.moto_endpoint).await
    }

    pub fn customer_token(&self, customer: &str) -> String {
        self.tokens.mint(customer, false, now_secs(), 3600)
    }

    pub fn admin_token(&self, admin: &str) -> String {
        self.tokens.mint(admin, true, now_secs(), 3600)
    }
}
