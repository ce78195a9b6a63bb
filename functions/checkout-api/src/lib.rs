//! `POST /v1/checkout`: validates the cart, prices it from the catalog,
//! reserves stock and places the order in one transaction, then asks the
//! payment provider to hold the total (manual capture). Idempotent per
//! `Idempotency-Key`: a retry answers with the same order and payment, and
//! finishes the job when the provider was down the first time.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use shopflow_domain::events::{DomainEvent, OrderCreated};
use shopflow_domain::{
    BackorderId, Backorders, CartLine, CheckoutPolicy, Currency, Email, Order, OrderId,
    OrderStatus, PaymentAttempt, ShippingAddress, ValidatedCheckout, WarehouseId,
};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::views::OrderView;
use shopflow_lambda_kit::{ApiError, Caller, config, http, idempotency, integral, now};
use shopflow_ports::Payments;
use shopflow_ports::{
    CheckoutReceipt, CheckoutStore, GatewayError, IdempotencyKey, Intent, IntentRequest,
    OutboxEvent, PaymentGateway, PaymentRecords, PlaceOrderError,
};
use std::time::Duration;
use tracing::Instrument;
use ulid::Ulid;

pub const ROUTE: &str = "POST /v1/checkout";

/// Attempts at placing an order when stock moved or transactions collided
/// between the read and the write.
const MAX_ATTEMPTS: u32 = 8;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "checkout-api";

pub struct App<S, G> {
    store: S,
    gateway: G,
    policy: CheckoutPolicy,
}

/// The checkout settings from configuration; see README "Configuration".
pub fn policy_from(vars: &impl config::Source) -> Result<CheckoutPolicy, config::ConfigError> {
    Ok(CheckoutPolicy {
        tax_rate_bps: config::parsed_or(vars, "TAX_RATE_BPS", 0)?,
        shipping_flat_minor: config::parsed_or(vars, "SHIPPING_FLAT_MINOR", 0)?,
        min_total_minor: config::parsed_or(vars, "MIN_ORDER_TOTAL_MINOR", 1)?,
        max_total_minor: config::parsed_or(vars, "MAX_ORDER_TOTAL_MINOR", 100_000_000)?,
        reservation_ttl_secs: config::parsed_or(vars, "RESERVATION_TTL_SECS", 900)?,
        warehouses: config::list_or(vars, "WAREHOUSES", "MAIN", WarehouseId::parse)?,
    })
}

/// checkout-api as deployed: on the DynamoDB table and Stripe.
pub type Deployed = App<DynamoStore, Payments>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            shopflow_stripe::setup::payments_from(env, shared.local_payments.as_ref())?,
            policy_from(env)?,
        ))
    }
}

impl HttpFunction for Deployed {
    fn serve(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<Response<Body>, Error>> + Send {
        self.handle(request)
    }
}

impl<S: CheckoutStore + PaymentRecords, G: PaymentGateway> App<S, G> {
    pub fn new(store: S, gateway: G, policy: CheckoutPolicy) -> Self {
        Self {
            store,
            gateway,
            policy,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!("checkout", request_id = %http::request_id(&request), order_id = tracing::field::Empty);
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(ROUTE) => {
                    let started = std::time::Instant::now();
                    let result = self.checkout(&request).await;
                    record_outcome(&result, started.elapsed());
                    result
                }
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn checkout(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let key = idempotency::key(request, "checkout", &caller)?;
        let fingerprint = idempotency::fingerprint(http::body_bytes(request)?);
        let checkout = http::json_body::<CheckoutBody>(request)?.validate()?;

        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            match self
                .try_checkout(&caller, &key, &fingerprint, checkout.clone())
                .await?
            {
                Attempt::Placed(order) => {
                    let payment = self.offer_payment(&order, None).await?;
                    return Ok(placed_response(&order, Some(&payment)));
                }
                Attempt::Replay(id) => return self.replay(id).await,
                Attempt::Retry(reason) => tracing::info!(attempt, reason, "checkout retry"),
            }
        }
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "checkout_contended",
            "stock for this cart is changing too fast; retry shortly",
        ))
    }

    /// One read-decide-write pass. Stale reads and write collisions are
    /// retried by the caller; everything else is an answer.
    async fn try_checkout(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
        fingerprint: &str,
        checkout: ValidatedCheckout,
    ) -> Result<Attempt, ApiError> {
        let snapshot = self
            .store
            .checkout_snapshot(key, &checkout.skus(), &self.policy.warehouses)
            .await?;
        if let Some(receipt) = snapshot.replay {
            idempotency::ensure_same_request(&receipt.request_fingerprint, fingerprint)?;
            return Ok(Attempt::Replay(receipt.order_id));
        }
        let priced = self.policy.price(&checkout, &snapshot.catalog)?;
        let created_at = now();
        let allocations = self.policy.allocate(
            checkout.lines(),
            &snapshot.stock,
            checkout.backorders,
            created_at,
            || BackorderId::from_ulid(Ulid::generate()),
        )?;

        let id = OrderId::from_ulid(Ulid::generate());
        tracing::Span::current().record("order_id", tracing::field::display(id));
        let order = self.policy.place_order(
            id,
            caller.customer_id.clone(),
            checkout,
            priced,
            &allocations,
            created_at,
        );
        let event = OutboxEvent {
            id: Ulid::generate(),
            occurred_at: created_at,
            event: DomainEvent::OrderCreated(OrderCreated::from(&order)),
        };
        let receipt = CheckoutReceipt {
            request_fingerprint: fingerprint.to_owned(),
            order_id: order.id,
        };
        match self
            .store
            .place_order(&order, &event, key, &receipt, &snapshot.stock)
            .await
        {
            Ok(()) => {
                tracing::info!(
                    customer_id = %order.customer_id,
                    grand_total_minor = order.totals.grand_total.minor,
                    lines = order.lines.len(),
                    "order placed"
                );
                Ok(Attempt::Placed(Box::new(order)))
            }
            Err(PlaceOrderError::IdempotencyKeyTaken) => Err(idempotency::in_progress()),
            Err(PlaceOrderError::StockChanged) => Ok(Attempt::Retry("stock changed since read")),
            Err(PlaceOrderError::Conflict) => Ok(Attempt::Retry("transaction conflict")),
            Err(PlaceOrderError::Store(error)) => Err(error.into()),
        }
    }

    /// The first answer again, rebuilt from the order the key placed. While
    /// the order awaits payment, the payment is offered again: the one
    /// checkout created, or a new one if the provider was down before.
    async fn replay(&self, id: OrderId) -> Result<Response<Body>, ApiError> {
        tracing::Span::current().record("order_id", tracing::field::display(id));
        let records = self.store.order_payments(id).await?.ok_or_else(|| {
            tracing::error!(order_id = %id, "idempotency receipt names a missing order");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred",
            )
        })?;
        let payment = if records.order.state().holds_unpaid_reservation() {
            Some(
                self.offer_payment(&records.order, records.intents().last())
                    .await?,
            )
        } else {
            None
        };
        Ok(idempotency::replayed(placed_response(
            &records.order,
            payment.as_ref(),
        )))
    }

    /// The payment the customer confirms: `known` (created by an earlier
    /// attempt) as the provider has it now, or a new one, recorded on the
    /// order. Outside the order's transaction, so a provider outage never
    /// loses the order: the answer says to retry, and the retry finishes.
    async fn offer_payment(&self, order: &Order, known: Option<&str>) -> Result<Intent, ApiError> {
        let intent = match known {
            Some(intent_id) => self.gateway.intent(intent_id).await,
            None => {
                self.gateway
                    .create_intent(&IntentRequest::for_order(order))
                    .await
            }
        }
        .map_err(|error| payment_not_offered(order, &error))?;
        if known.is_none() {
            let attempt = PaymentAttempt::Intent {
                intent_id: intent.id.clone(),
                created_at: now(),
            };
            self.store.record_attempt(order.id, &attempt).await?;
            tracing::info!(order_id = %order.id, intent_id = %intent.id, "payment created");
        }
        Ok(intent)
    }
}

/// The provider did not give the order a payment: the order stands, its
/// stock reserved until the reservation lapses, and a retry with the same
/// Idempotency-Key asks again.
fn payment_not_offered(order: &Order, error: &GatewayError) -> ApiError {
    ApiError::payment_provider(
        error,
        "the order is placed and its stock reserved, but the payment provider did not create its payment; retry with the same Idempotency-Key",
    )
    .with_detail("order_id", order.id)
    .with_detail(
        "reservation_expires_at",
        order.reservation_expires_at.to_rfc3339(),
    )
}

/// Checkout's answer: the order as it was placed, and the payment its
/// customer confirms. Only its status and money change afterwards, so a
/// replay shows the order as it was placed.
fn placed_response(order: &Order, payment: Option<&Intent>) -> Response<Body> {
    let as_placed = Order {
        status: OrderStatus::PendingPayment,
        payment: shopflow_domain::Payment::default(),
        ..order.clone()
    };
    let payment = payment.map(|intent| {
        serde_json::json!({
            "intent_id": intent.id,
            "client_secret": intent.client_secret,
            "status": intent.status.as_str(),
            "amount_minor": intent.amount_minor,
        })
    });
    http::json(
        StatusCode::CREATED,
        &serde_json::json!({ "order": OrderView::from(&as_placed), "payment": payment }),
    )
}

/// Orders created (replays excluded), refusals for stock or a busy key,
/// server-side failures, and latency, as CloudWatch metrics.
fn record_outcome(result: &Result<Response<Body>, ApiError>, elapsed: Duration) {
    let (created, conflicts, failures) = match result {
        Ok(response) if !response.headers().contains_key("idempotent-replayed") => (1.0, 0.0, 0.0),
        Ok(_) => (0.0, 0.0, 0.0),
        Err(error) if error.status == StatusCode::CONFLICT => (0.0, 1.0, 0.0),
        Err(error) if error.status.is_server_error() => (0.0, 0.0, 1.0),
        Err(_) => (0.0, 0.0, 0.0),
    };
    metrics::emit(
        FUNCTION,
        &[
            ("OrdersCreated", created, Unit::Count),
            ("CheckoutConflicts", conflicts, Unit::Count),
            ("CheckoutFailures", failures, Unit::Count),
            (
                "CheckoutLatency",
                elapsed.as_secs_f64() * 1_000.0,
                Unit::Milliseconds,
            ),
        ],
    );
}

enum Attempt {
    Placed(Box<Order>),
    /// The key placed this order before.
    Replay(OrderId),
    Retry(&'static str),
}

/// Exponential backoff from 10 ms, capped at 320 ms, with jitter so racing
/// checkouts spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(5);
    let jitter = u64::try_from(Ulid::generate().random() % u128::from(base)).unwrap_or(0);
    Duration::from_millis(base + jitter)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    lines: Vec<LineBody>,
    currency: String,
    email: String,
    shipping_address: ShippingAddress,
    /// Whether units not in stock may wait in a backorder queue.
    #[serde(default)]
    accept_backorder: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    sku: String,
    #[serde(deserialize_with = "integral::i64")]
    quantity: i64,
}

impl CheckoutBody {
    fn validate(self) -> Result<ValidatedCheckout, ApiError> {
        if self.lines.len() > ValidatedCheckout::MAX_LINES {
            // Refuse before parsing each line, so a huge cart costs nothing.
            return Err(ApiError::invalid_field(
                "lines",
                format!("at most {} lines are allowed", ValidatedCheckout::MAX_LINES),
            ));
        }
        let lines = self
            .lines
            .into_iter()
            .enumerate()
            .map(|(index, line)| {
                let (sku, quantity) = http::line_of(index, &line.sku, line.quantity)?;
                Ok(CartLine { sku, quantity })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let currency = Currency::parse(&self.currency)
            .map_err(|e| ApiError::invalid_field("currency", e.to_string()))?;
        let email = Email::parse(&self.email)?;
        let address = self.shipping_address.validate()?;
        let backorders = if self.accept_backorder {
            Backorders::Accepted
        } else {
            Backorders::Refused
        };
        Ok(ValidatedCheckout::new(lines, currency, email, address)?.with_backorders(backorders))
    }
}
