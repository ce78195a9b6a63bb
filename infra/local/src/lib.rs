//! The local stack: the emulators, the resources of infra/template.yaml, every
//! HTTP route served on localhost by the functions' own handlers, and the
//! table stream feeding the outbox relay, as in AWS.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod emulators;
pub mod fake_carriers;
pub mod mail;
pub mod mock_stripe;
pub mod paths;
pub mod queues;
pub mod registry;
pub mod resources;
pub mod secrets;
pub mod seed;
pub mod server;
pub mod simulate;
pub mod stream;
pub mod template;
pub mod token;

use emulators::{Emulator, EmulatorError};
use registry::{ScheduledHandler, Served};
use resources::{Clients, ResourceError};
use server::{HttpHandler, Router};
use shopflow_lambda_kit::config::{self, ConfigError};
use shopflow_lambda_kit::function::Shared;
use shopflow_ports::Payments;
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::couriers::FakeCarriers;
use std::collections::{BTreeMap, HashMap};
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
        // No key: the functions take payments through the stack's shared mock.
        ("StripeSecretKey", ""),
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
    /// Queue consumers that do not run (their queues still fill), for
    /// tests and benchmarks that drive those functions by hand.
    pub paused_consumers: Vec<String>,
}

/// Template parameters that point the poller at the fake carriers served
/// under `base`, as the shop's Canada Post and Chit Chats accounts.
fn fake_carrier_parameters(base: &str) -> BTreeMap<String, String> {
    [
        ("PolledCarriers", "canada_post,chit_chats".to_owned()),
        // A parcel is checked again a minute after its last check, so a
        // simulated journey shows within minutes.
        ("PollIntervalMinutes", "1".to_owned()),
        (
            "CanadaPostApiBase",
            format!("{base}{}canada_post", fake_carriers::PREFIX),
        ),
        (
            "ChitChatsApiBase",
            format!("{base}{}chit_chats", fake_carriers::PREFIX),
        ),
        (
            "ChitChatsClientId",
            fake_carriers::LOCAL_CHIT_CHATS_CLIENT_ID.to_string(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
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
    /// The mock Stripe every function shares, unless payments go to localstripe.
    pub mock: Option<MockGateway>,
    /// The polled carriers' fake APIs the poller reads.
    pub fake_carriers: FakeCarriers,
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

/// Every function the template declares, built through the registry from
/// its own environment and the stack's shared clients and mock.
fn build_functions(spec: &StackSpec, shared: &Shared) -> Result<Functions, LocalError> {
    let mut functions = Functions::default();
    for (name, environment) in &spec.environments {
        let served = registry::build(name, environment, shared)
            .ok_or_else(|| LocalError::UnknownFunction(name.clone()))??;
        match served {
            Served::Http(handler) => {
                functions.http.insert(name.clone(), handler);
            }
            Served::Queue(handler) => {
                functions.queue.insert(name.clone(), handler);
            }
            Served::Scheduled(handler) => {
                functions.scheduled.insert(name.clone(), handler);
            }
            Served::Stream(handler) => {
                functions.stream.insert(name.clone(), handler);
            }
        }
    }
    Ok(functions)
}

/// The built functions, by how they are invoked.
#[derive(Default)]
struct Functions {
    http: HashMap<String, HttpHandler>,
    queue: HashMap<String, queues::QueueHandler>,
    scheduled: HashMap<String, ScheduledHandler>,
    stream: HashMap<String, StreamHandler>,
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
        // The address first: the mock posts its webhooks to it and serves
        // hosted checkout pages under it, and the poller reaches the fake
        // carriers there.
        let (listener, http) = server::bind(options.port).await?;
        let base = format!("http://{http}");
        parameters.extend(fake_carrier_parameters(&base));
        // Links in mails point at this stack.
        parameters.insert("PublicApiUrl".into(), base.clone());
        parameters.extend(options.parameters.clone());
        let spec = StackSpec::load(&template_path(), &parameters)?;
        let dynamodb = emulators::start_dynamodb_local(&repo, &installed)?;
        let moto = emulators::start_moto(&repo, &installed)?;
        let clients = Clients::new(&dynamodb.endpoint(), &moto.endpoint()).await;
        let queue_urls = resources::create(&clients, &spec).await?;
        secrets::seed(&clients, &spec).await?;
        mail::verify_sender(&clients, &spec).await?;

        let webhook_env = spec.environment_of("stripe-webhook");
        let mock = MockGateway::new(format!("{base}{}checkout", mock_stripe::PREFIX))
            .posting_webhooks(
                format!("{base}/v1/webhooks/stripe"),
                config::required(&webhook_env, "STRIPE_WEBHOOK_SECRET")?,
            );
        let mock_payments: Payments = Arc::new(mock.clone());
        let shared = Shared {
            aws: clients.aws.clone(),
            local_payments: Some(mock_payments),
        };
        let mut built = build_functions(&spec, &shared)?;
        let functions = std::mem::take(&mut built.http);
        if let Some(route) = spec
            .routes
            .iter()
            .find(|r| !functions.contains_key(&r.function))
        {
            return Err(LocalError::UnknownFunction(route.function.clone()));
        }
        let mut tasks = Vec::new();
        for consumer in &spec.stream_consumers {
            let handler = built
                .stream
                .get(consumer)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(consumer.clone()))?;
            tasks.push(tokio::spawn(stream::pump(
                clients.clone(),
                spec.table.name.clone(),
                handler,
            )));
        }

        for (function, queue) in &spec.queue_consumers {
            if options.paused_consumers.contains(function) {
                continue;
            }
            let handler = built
                .queue
                .get(function)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(function.clone()))?;
            let url = queue_urls
                .get(queue)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(queue.clone()))?;
            tasks.push(tokio::spawn(queues::pump(clients.clone(), url, handler)));
        }
        for function in &spec.scheduled {
            let handler = built
                .scheduled
                .get(function)
                .cloned()
                .ok_or_else(|| LocalError::UnknownFunction(function.clone()))?;
            tasks.push(tokio::spawn(run_on_schedule(
                handler,
                options.schedule_interval,
            )));
        }

        let tokens = dev_tokens();
        let fake_carriers = FakeCarriers::default();
        if options.seed_demo_catalog {
            seed::demo_catalog(&functions, &tokens, &spec)
                .await
                .map_err(LocalError::Seed)?;
        }
        let router = Arc::new(Router::new(
            spec.routes.clone(),
            functions,
            tokens.clone(),
            localstripe.is_none().then(|| mock.clone()),
            fake_carriers.clone(),
        ));
        tasks.push(tokio::spawn(server::serve(listener, router)));
        let localstripe_endpoint = localstripe.as_ref().map(Emulator::endpoint);
        if let Some(endpoint) = &localstripe_endpoint {
            emulators::send_localstripe_webhooks(
                endpoint,
                &format!("{base}/v1/webhooks/stripe"),
                &config::required(&webhook_env, "STRIPE_WEBHOOK_SECRET")?,
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
            mock: localstripe.is_none().then_some(mock),
            fake_carriers,
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
