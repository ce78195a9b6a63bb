//! Orders: one by id (its owner or an admin), the caller's orders newest
//! first with an opaque cursor, an order's timeline, and cancellation.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::OrderId;
use shopflow_domain::invoice::Invoice;
use shopflow_domain::notification::Notification;
use shopflow_domain::{Actor, BackorderFigures, Order, OrderTrigger, PaymentAttempt, Shipment};
use shopflow_domain::{CustomerId, FulfillmentStatus, OrderStatus, PaymentStatus, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::now;
use shopflow_lambda_kit::views::OrderView;
use shopflow_lambda_kit::{ApiError, Caller, config, http};
use shopflow_ports::{
    BackorderReader, BackorderStanding, ChangeError, InvoiceStore, NotificationStore,
    OrderLifecycle, OrderQuery, OrderSearch, PaymentRecords, STATUS_SHARDS, ShipmentStore,
    StandingEntry, StandingRange, StatusChange,
};
use tracing::Instrument;

pub const GET_ORDER: &str = "GET /v1/orders/{id}";
pub const LIST_ORDERS: &str = "GET /v1/orders";
pub const CANCEL_ORDER: &str = "POST /v1/orders/{id}/cancel";
pub const ORDER_TIMELINE: &str = "GET /v1/orders/{id}/timeline";
pub const ORDER_METRICS: &str = "GET /v1/orders/metrics";
pub const SEARCH_ORDERS: &str = "GET /v1/admin/orders";

/// Attempts at a status change when the order moved between read and write.
const CHANGE_ATTEMPTS: u32 = 5;

/// The backorder figures' window: closed in the last this many days.
const BACKORDER_WINDOW_DAYS: u64 = 30;

const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "orders-api";

pub struct App<S> {
    store: S,
}

/// orders-api as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
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

impl<S> App<S>
where
    S: OrderLifecycle
        + OrderSearch
        + PaymentRecords
        + BackorderReader
        + ShipmentStore
        + InvoiceStore
        + NotificationStore,
{
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "orders",
            request_id = %http::request_id(&request),
            order_id = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(GET_ORDER) => self.get_order(&request).await,
                Some(LIST_ORDERS) => self.list_orders(&request).await,
                Some(CANCEL_ORDER) => self.cancel_order(&request).await,
                Some(ORDER_TIMELINE) => self.timeline(&request).await,
                Some(ORDER_METRICS) => self.metrics(&request).await,
                Some(SEARCH_ORDERS) => self.search(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    /// The order named in the path, if the caller may see it; otherwise 404,
    /// whether it exists or not.
    async fn visible_order(&self, request: &Request, caller: &Caller) -> Result<Order, ApiError> {
        let id = http::order_id(request)?;
        match self.store.order(id).await? {
            Some(order) if caller.may_see(&order.customer_id) => Ok(order),
            _ => Err(ApiError::not_found("order")),
        }
    }

    async fn get_order(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let order = self.visible_order(request, &caller).await?;
        Ok(order_response(&order))
    }

    /// Cancels the order and hands its reserved stock back. Cancelling a
    /// cancelled order answers as the first time did.
    async fn cancel_order(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let body: CancelBody = if http::body_bytes(request)?.is_empty() {
            CancelBody::default()
        } else {
            http::json_body(request)?
        };
        let reason = body
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let actor = if caller.is_admin {
            Actor::Admin(caller.customer_id.clone())
        } else {
            Actor::Customer(caller.customer_id.clone())
        };
        for _ in 0..CHANGE_ATTEMPTS {
            let order = self.visible_order(request, &caller).await?;
            tracing::Span::current().record("order_id", tracing::field::display(order.id));
            if order.status == OrderStatus::Cancelled {
                return Ok(order_response(&order));
            }
            let to = order.check_cancel(&actor, reason.as_deref())?;
            let change = StatusChange::new(
                &order,
                to,
                OrderTrigger::Cancelled,
                &actor,
                reason.clone(),
                now(),
            );
            match self.store.change_status(&change).await {
                Ok(()) => {
                    tracing::info!(order_id = %order.id, actor = %change.actor, released_lines = change.release.len(), "order cancelled");
                    let cancelled = Order {
                        status: to.status,
                        fulfillment_status: to.fulfillment_status,
                        version: order.version + 1,
                        ..order
                    };
                    return Ok(order_response(&cancelled));
                }
                Err(ChangeError::Stale | ChangeError::AlreadyApplied | ChangeError::OutOfStock) => {
                    continue;
                }
                Err(ChangeError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::concurrent_update("the order is changing; retry"))
    }

    /// Everything that happened to the order, oldest first, in lanes: its
    /// status changes, the ways it was offered to be paid and its refunds
    /// (business), its shipments with what their carriers reported
    /// (delivery), and the mail its customer was sent (notifications).
    async fn timeline(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let order = self.visible_order(request, &caller).await?;
        let (history, records, shipments, invoices, notifications) = futures::future::try_join5(
            self.store.history(order.id),
            self.store.order_payments(order.id),
            self.store.order_shipments(order.id),
            self.store.order_invoices(order.id),
            self.store.order_notifications(order.id),
        )
        .await?;
        let mut entries = vec![json!({
            "at": order.created_at.to_rfc3339(),
            "lane": "business",
            "kind": "order.created",
            "status": "pending_payment",
            "actor": format!("customer:{}", order.customer_id),
        })];
        for entry in history {
            entries.push(json!({
                "at": entry.at.to_rfc3339(),
                "lane": "business",
                "kind": entry.trigger.event_name(),
                "from": entry.from,
                "status": entry.to.status,
                "payment_status": entry.to.payment_status,
                "fulfillment_status": entry.to.fulfillment_status,
                "trigger": entry.trigger,
                "actor": entry.actor,
                "reason": entry.reason,
            }));
        }
        let records = records.map(|r| (r.attempts, r.refunds)).unwrap_or_default();
        entries.extend(records.0.iter().map(attempt_entry));
        entries.extend(records.1.iter().map(|refund| {
            json!({
                "at": refund.requested_at.to_rfc3339(),
                "lane": "business",
                "kind": format!("refund.{}", refund.status.as_str()),
                "actor": format!("admin:{}", refund.requested_by),
                "amount_minor": refund.amount_minor,
                "reason": refund.reason,
            })
        }));
        entries.extend(shipments.iter().flat_map(delivery_entries));
        entries.extend(invoices.iter().flat_map(invoice_entries));
        entries.extend(notifications.iter().map(notification_entry));
        // RFC 3339 UTC with fixed millisecond precision sorts as text.
        entries.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
        Ok(http::json(
            StatusCode::OK,
            &json!({ "order_id": order.id, "entries": entries }),
        ))
    }

    /// Staff search: by status or by customer (one is required), placed
    /// between `from` and `to`, newest first.
    async fn search(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let status = http::query_param(request, "status")
            .map(|raw| {
                OrderStatus::parse(&raw)
                    .ok_or_else(|| ApiError::invalid_field("status", "is not an order status"))
            })
            .transpose()?;
        let customer = http::query_param(request, "customer")
            .map(|raw| CustomerId::parse(&raw))
            .transpose()?;
        if status.is_none() && customer.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "search_criteria_required",
                "a status or a customer is required: there is no index over all orders",
            ));
        }
        let (from, to) = http::window_params(request)?;
        let limit = http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?;
        let after = http::cursor_param(request)?;
        let query = OrderQuery {
            status,
            customer,
            from,
            to,
        };
        let page = self.store.search_orders(&query, after, limit).await?;
        let orders: Vec<OrderView> = page.items.iter().map(OrderView::from).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "orders": orders, "next_cursor": page.next.as_deref().map(http::encode_cursor) }),
        ))
    }

    /// The shop at a glance for staff, from the status index: orders in each
    /// open lifecycle status, those that finished in the last 24 hours, and
    /// the reservations, payments and shipments that need watching.
    async fn metrics(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        Caller::from_request(request)?.require_admin()?;
        let now = now();
        let day_ago = now.minus_secs(24 * 3600);
        let counts =
            futures::future::try_join_all(OrderStatus::ALL.into_iter().map(|status| async move {
                let since = (!status.is_open()).then_some(day_ago);
                self.store
                    .count_orders(status, since)
                    .await
                    .map(|count| (status, count))
            }))
            .await?;
        let expired_last_hour = self
            .store
            .count_orders(OrderStatus::Expired, Some(now.minus_secs(3600)))
            .await?
            .orders;
        let count = |wanted: OrderStatus| {
            counts
                .iter()
                .find(|(status, _)| *status == wanted)
                .map(|(_, count)| count.clone())
                .unwrap_or_default()
        };
        let by_status = |open: bool| {
            counts
                .iter()
                .filter(|(status, _)| status.is_open() == open)
                .map(|(status, count)| (status.as_str().to_owned(), json!(count.orders)))
                .collect::<serde_json::Map<_, _>>()
        };
        let (unpaid, confirmed) = (
            count(OrderStatus::PendingPayment),
            count(OrderStatus::Confirmed),
        );
        let shipments = self.store.shipment_figures().await?;
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "generated_at": now.to_rfc3339(),
                "open_by_status": by_status(true),
                "finished_last_24h_by_status": by_status(false),
                "payments": {
                    "failing": unpaid.paying(PaymentStatus::Failed),
                    "in_flight": unpaid.orders + confirmed.paying(PaymentStatus::Authorized),
                },
                "reservations": {
                    "active": unpaid.orders,
                    "expired_last_hour": expired_last_hour,
                },
                "shipments_in_flight": shipments.travelling(),
                "fulfillment": {
                    "active_fulfillments": confirmed.fulfilling(FulfillmentStatus::PartiallyShipped)
                        + confirmed.fulfilling(FulfillmentStatus::Shipped),
                    "shipments_in_flight": shipments.travelling(),
                    "needing_attention": shipments.needing_attention(),
                    "returns_pending": shipments.returning,
                },
                "backorders": backorders_view(&self.backorder_figures(now).await?),
            }),
        ))
    }

    /// What waits now, and how the backorders closed in the last 30 days
    /// went, from the standing index: every open backorder, and only the
    /// window's closed ones. The closed ones are read first, so a
    /// backorder closing meanwhile is never counted both open and closed
    /// (closing between the two reads, it is missed by this answer).
    async fn backorder_figures(&self, now: Timestamp) -> Result<BackorderFigures, ApiError> {
        let since = now.minus_secs(BACKORDER_WINDOW_DAYS * 86_400);
        let (fulfilled, cancelled) = futures::future::try_join(
            self.standing(BackorderStanding::Fulfilled, Some(since)),
            self.standing(BackorderStanding::Cancelled, Some(since)),
        )
        .await?;
        let open = self.standing(BackorderStanding::Open, None).await?;
        let open: Vec<_> = open.into_iter().map(|entry| entry.backorder).collect();
        let closed: Vec<_> = fulfilled
            .into_iter()
            .chain(cancelled)
            .map(|entry| (entry.backorder, entry.since))
            .collect();
        Ok(BackorderFigures::of(&open, &closed))
    }

    /// Every backorder of one standing (since `since`), every shard and page.
    async fn standing(
        &self,
        standing: BackorderStanding,
        since: Option<Timestamp>,
    ) -> Result<Vec<StandingEntry>, ApiError> {
        let mut entries = Vec::new();
        for shard in 0..STATUS_SHARDS {
            let mut after = None;
            loop {
                let range = StandingRange {
                    standing,
                    shard,
                    since,
                    before: None,
                    after: after.take(),
                    limit: 1_000,
                };
                let page = self.store.backorders_standing(&range).await?;
                entries.extend(page.items);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(entries)
    }

    async fn list_orders(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let limit = http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?;
        // The last order id.
        let after = http::cursor_param(request)?
            .map(|text| text.parse::<OrderId>().map_err(|_| http::invalid_cursor()))
            .transpose()?;
        let page = self
            .store
            .customer_orders(&caller.customer_id, after, limit)
            .await?;
        let orders: Vec<OrderView> = page.items.iter().map(OrderView::from).collect();
        Ok(http::json(
            StatusCode::OK,
            &json!({ "orders": orders, "next_cursor": page.next.map(|last| http::encode_cursor(&last.to_string())) }),
        ))
    }
}

/// The backorder figures as the metrics show them.
fn backorders_view(figures: &BackorderFigures) -> serde_json::Value {
    json!({
        "open": figures.open,
        "open_units": figures.open_units,
        "window_days": BACKORDER_WINDOW_DAYS,
        "fulfilled": figures.fulfilled,
        "cancelled": figures.cancelled,
        "fulfillment_rate": figures.fulfillment_rate(),
        "average_wait_days": figures
            .average_wait_secs
            .map(|secs| (secs as f64 / 864.0).round() / 100.0),
        "revenue_minor": figures.revenue_minor,
    })
}

/// A shipment's creation and each of its carrier's events, in the
/// delivery lane.
fn delivery_entries(shipment: &Shipment) -> Vec<serde_json::Value> {
    let created = json!({
        "at": shipment.created_at.to_rfc3339(),
        "lane": "delivery",
        "kind": "shipment.created",
        "shipment_id": shipment.id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "status": "label_created",
        "actor": shipment.created_by,
    });
    let reported = shipment.journey.events().iter().map(|event| {
        json!({
            "at": event.occurred_at.to_rfc3339(),
            "lane": "delivery",
            "kind": "tracking",
            "shipment_id": shipment.id,
            "carrier": shipment.carrier,
            "status": event.status,
            "code": event.code,
            "description": event.description,
            "location": event.location,
            "actor": format!("carrier:{}", shipment.carrier),
        })
    });
    std::iter::once(created).chain(reported).collect()
}

/// An invoice's issue, the money allocated to it and its voiding, or a
/// credit note's issue, in the business lane.
fn invoice_entries(invoice: &Invoice) -> Vec<serde_json::Value> {
    let Some(issued_at) = invoice.issued_at.map(Timestamp::to_rfc3339) else {
        return Vec::new();
    };
    let number = invoice.number.map(|number| number.to_string());
    let entry = |at: &str, kind: &str| {
        json!({
            "at": at,
            "lane": "business",
            "kind": kind,
            "invoice_id": invoice.id,
            "number": number,
        })
    };
    let mut entries = Vec::new();
    if let Some(credited) = invoice.credits {
        let mut issued = entry(&issued_at, "credit_note.issued");
        issued["credits"] = json!(credited.number.to_string());
        issued["total_minor"] = json!(invoice.totals.total_minor);
        issued["actor"] = json!("system:invoice-issuer");
        return vec![issued];
    }
    let mut issued = entry(&issued_at, "invoice.issued");
    issued["total_minor"] = json!(invoice.totals.total_minor);
    issued["actor"] = json!("system:invoice-issuer");
    entries.push(issued);
    if invoice.paid_minor > 0 {
        let kind = if invoice.totals.total_minor == invoice.paid_minor {
            "invoice.paid"
        } else {
            "invoice.partially_paid"
        };
        let mut paid = entry(&issued_at, kind);
        paid["paid_minor"] = json!(invoice.paid_minor);
        entries.push(paid);
    }
    if let Some(voiding) = &invoice.voided {
        let mut voided = entry(&voiding.at.to_rfc3339(), "invoice.voided");
        voided["reason"] = json!(voiding.reason);
        voided["actor"] = json!(voiding.by);
        entries.push(voided);
    }
    entries
}

/// A mail about the order: its template, address and where it stands.
fn notification_entry(notification: &Notification) -> serde_json::Value {
    json!({
        "at": notification.created_at.to_rfc3339(),
        "lane": "notifications",
        "kind": "notification",
        "template": notification.key.template,
        "to": notification.key.to,
        "status": notification.status,
        "updated_at": notification.updated_at.to_rfc3339(),
        "actor": "system:notifier",
    })
}

/// A way the order was offered to be paid, as a timeline entry.
fn attempt_entry(attempt: &PaymentAttempt) -> serde_json::Value {
    let (kind, reference) = match attempt {
        PaymentAttempt::Intent { intent_id, .. } => ("payment.created", intent_id),
        PaymentAttempt::CheckoutSession { session_id, .. } => {
            ("payment.checkout_page_created", session_id)
        }
    };
    json!({
        "at": attempt.created_at().to_rfc3339(),
        "lane": "business",
        "kind": kind,
        "actor": "system:payments",
        "reference": reference,
    })
}

const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
}

fn order_response(order: &Order) -> Response<Body> {
    http::json(StatusCode::OK, &json!({ "order": OrderView::from(order) }))
}
