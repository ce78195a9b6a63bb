//! Which mails an event asks for, and what each says: the event names the
//! order (or carries the invoice, or the waitlist's addresses); the order,
//! read as it is now, gives the address, the currency and the lines.

use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::notification::Template;
use shopflow_domain::{
    Carrier, Currency, CustomerId, Order, OrderId, OrderStatus, Sku, Timestamp, TrackingStatus,
};
use shopflow_lambda_kit::consumer::{BusEvent, ConsumeError};
use shopflow_ports::OrderReader;

/// One mail an event asks for, with its template's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub template: Template,
    pub to: String,
    pub order_id: Option<OrderId>,
    pub customer_id: Option<CustomerId>,
    pub letter: Value,
}

/// Where links in mails point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub name: String,
    /// The shop's storefront, where orders, products and invoices are
    /// shown to the customer.
    pub url: String,
    /// The public API, for links that act without signing in
    /// (unsubscribing).
    pub api_url: String,
}

/// What an event about an order names.
#[derive(Deserialize)]
struct AboutOrder {
    order_id: OrderId,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ShipmentNews {
    carrier: Carrier,
    tracking_number: String,
    #[serde(default)]
    tracking_url: Option<String>,
    #[serde(default)]
    lines: Option<Vec<ShippedUnits>>,
    status: TrackingStatus,
}

#[derive(Deserialize)]
struct ShippedUnits {
    sku: Sku,
    quantity: u32,
}

#[derive(Deserialize)]
struct BackorderNews {
    sku: Sku,
    quantity: u32,
    allocated: u32,
    #[serde(default)]
    estimated_restock: Option<String>,
    #[serde(default)]
    units_cancelled: Option<u32>,
    #[serde(default)]
    units_allocated: Option<u32>,
    #[serde(default)]
    reason: Option<String>,
    /// What the cancellation gives back, when it held a refund back.
    #[serde(default)]
    refund: Option<HeldRefund>,
}

#[derive(Deserialize)]
struct HeldRefund {
    amount_minor: i64,
}

#[derive(Deserialize)]
struct BackInStock {
    sku: Sku,
    name: String,
    subscribers: Vec<Subscriber>,
}

#[derive(Deserialize)]
struct Subscriber {
    email: String,
    unsubscribe_token: String,
}

#[derive(Deserialize)]
struct InvoiceNews {
    invoice_id: String,
    number: Option<String>,
    order_id: Option<OrderId>,
    customer_id: CustomerId,
    email: Option<String>,
    currency: Currency,
    total_minor: i64,
    open_minor: i64,
    due_at: Option<String>,
    #[serde(default)]
    reminder: Option<ReminderStep>,
}

#[derive(Deserialize)]
struct ReminderStep {
    days_overdue: u32,
}

fn unreadable(error: serde_json::Error) -> ConsumeError {
    ConsumeError::Unreadable(error.to_string())
}

impl Shop {
    /// The mails `event` asks for; none for an event no mail is about.
    pub async fn notices(
        &self,
        event: &BusEvent,
        orders: &impl OrderReader,
    ) -> Result<Vec<Notice>, ConsumeError> {
        let data = event.data.clone();
        let template = match event.detail_type.as_str() {
            "order.paid" => Template::OrderConfirmation,
            "order.payment_failed" => Template::PaymentFailed,
            "order.cancelled" | "order.expired" => Template::OrderCancelled,
            "order.refunded" | "order.partially_refunded" => Template::RefundIssued,
            "shipment.created" => Template::Shipped,
            "shipment.status_changed" => Template::OutForDelivery,
            "shipment.delivered" => Template::Delivered,
            "shipment.exception" => Template::DeliveryException,
            "backorder.created" => Template::BackorderConfirmation,
            // Allocated in part, or whole (fulfilled): either way, units
            // are set aside for the customer.
            "backorder.allocated" | "backorder.fulfilled" => Template::BackorderAllocated,
            "backorder.cancelled" => Template::BackorderCancelled,
            "inventory.back_in_stock" => {
                let news: BackInStock = serde_json::from_value(data).map_err(unreadable)?;
                return Ok(self.back_in_stock(news));
            }
            "invoice.issued" | "invoice.overdue" => {
                let news: InvoiceNews = serde_json::from_value(data).map_err(unreadable)?;
                return Ok(self.invoice(&event.detail_type, news).into_iter().collect());
            }
            _ => return Ok(Vec::new()),
        };
        let about: AboutOrder = serde_json::from_value(data.clone()).map_err(unreadable)?;
        let order = orders
            .order(about.order_id)
            .await
            .map_err(|error| ConsumeError::failed(&error))?
            .ok_or_else(|| {
                ConsumeError::Unreadable(format!("order {} does not exist", about.order_id))
            })?;
        let letter = match template {
            Template::OrderConfirmation => Some(json!({})),
            // Only while the order still waits for its money: a hold voided
            // by a cancellation is reported as a failed payment too.
            Template::PaymentFailed if order.status != OrderStatus::PendingPayment => None,
            Template::PaymentFailed => Some(json!({
                "reason": about.reason,
                "retry_url": format!("{}/orders/{}/pay", self.url, order.id),
                "reserved_until": readable_time(order.reservation_expires_at),
            })),
            Template::OrderCancelled => Some(json!({
                "expired": event.detail_type == "order.expired",
                "reason": about.reason,
                "refunded": kept(&order).map(|minor| order.currency.show(minor)),
            })),
            Template::RefundIssued => Some(json!({
                "refunded": order.currency.show(order.payment.refunded_minor),
                "fully": event.detail_type == "order.refunded",
            })),
            Template::Shipped
            | Template::OutForDelivery
            | Template::Delivered
            | Template::DeliveryException => {
                let news: ShipmentNews = serde_json::from_value(data).map_err(unreadable)?;
                shipment_letter(template, &news, &order)
            }
            _ => {
                let news: BackorderNews = serde_json::from_value(data).map_err(unreadable)?;
                backorder_letter(template, &news, &order)
            }
        };
        Ok(letter
            .map(|letter| self.about_order(template, &order, letter))
            .into_iter()
            .collect())
    }

    fn shop(&self) -> Value {
        json!({ "name": self.name, "url": self.url })
    }

    /// A mail about `order` to its address, `letter` with the shop and the
    /// order added.
    fn about_order(&self, template: Template, order: &Order, mut letter: Value) -> Notice {
        letter["shop"] = self.shop();
        letter["order"] = json!({
            "id": order.id.to_string(),
            "url": format!("{}/orders/{}", self.url, order.id),
            "total": order.currency.show(order.totals.grand_total.minor),
            "lines": order.lines.iter().map(|line| json!({
                "name": line.name,
                "quantity": line.quantity.get(),
                "amount": order.currency.show(line.line_total.minor),
            })).collect::<Vec<_>>(),
        });
        Notice {
            template,
            to: order.email.as_str().to_owned(),
            order_id: Some(order.id),
            customer_id: Some(order.customer_id.clone()),
            letter,
        }
    }

    fn back_in_stock(&self, news: BackInStock) -> Vec<Notice> {
        news.subscribers
            .into_iter()
            .map(|subscriber| Notice {
                template: Template::BackInStock,
                letter: json!({
                    "shop": self.shop(),
                    "product": news.name,
                    "product_url": format!("{}/products/{}", self.url, news.sku),
                    "unsubscribe_url": format!(
                        "{}/v1/waitlist/unsubscribe?token={}",
                        self.api_url, subscriber.unsubscribe_token
                    ),
                }),
                to: subscriber.email,
                order_id: None,
                customer_id: None,
            })
            .collect()
    }

    /// The invoice's mail; none for a document without an address.
    fn invoice(&self, detail_type: &str, news: InvoiceNews) -> Option<Notice> {
        let to = news.email?;
        let (template, days_overdue) = match (detail_type, &news.reminder) {
            ("invoice.overdue", Some(reminder)) => {
                (Template::InvoiceOverdue, Some(reminder.days_overdue))
            }
            _ => (Template::InvoiceIssued, None),
        };
        let mut letter = json!({
            "shop": self.shop(),
            "invoice": {
                "number": news.number.unwrap_or_else(|| news.invoice_id.clone()),
                "order_id": news.order_id.map(|id| id.to_string()),
                "total": news.currency.show(news.total_minor),
                "open": (news.open_minor > 0).then(|| news.currency.show(news.open_minor)),
                "due_date": news.due_at.as_deref().map(readable_date),
                "url": format!("{}/account/invoices/{}", self.url, news.invoice_id),
            },
        });
        if let Some(days) = days_overdue {
            letter["days_overdue"] = json!(days);
        }
        Some(Notice {
            template,
            to,
            order_id: news.order_id,
            customer_id: Some(news.customer_id),
            letter,
        })
    }
}

/// Money taken and not yet given back: what a cancelled order returns.
fn kept(order: &Order) -> Option<i64> {
    let kept = order.payment.captured_minor - order.payment.refunded_minor;
    (kept > 0).then_some(kept)
}

fn carrier_name(carrier: Carrier) -> &'static str {
    match carrier {
        Carrier::Usps => "USPS",
        Carrier::Dhl => "DHL",
        Carrier::CanadaPost => "Canada Post",
        Carrier::ChitChats => "Chit Chats",
    }
}

/// What went wrong with a parcel, in words.
fn problem(status: TrackingStatus) -> &'static str {
    match status {
        TrackingStatus::DeliveryFailed => "a delivery attempt failed",
        TrackingStatus::ReturnedToSender => "it is on its way back to us",
        _ => "the carrier reported an exception",
    }
}

fn shipment_letter(template: Template, news: &ShipmentNews, order: &Order) -> Option<Value> {
    if template == Template::OutForDelivery && news.status != TrackingStatus::OutForDelivery {
        return None;
    }
    let name_of = |sku: &Sku| {
        order
            .lines
            .iter()
            .find(|line| &line.sku == sku)
            .map_or_else(|| sku.to_string(), |line| line.name.clone())
    };
    let items: Vec<Value> = news
        .lines
        .iter()
        .flatten()
        .map(|units| json!({ "name": name_of(&units.sku), "quantity": units.quantity }))
        .collect();
    Some(json!({
        "carrier": carrier_name(news.carrier),
        "tracking_number": news.tracking_number,
        "tracking_url": news.tracking_url,
        "items": items,
        "problem": problem(news.status),
    }))
}

fn backorder_letter(template: Template, news: &BackorderNews, order: &Order) -> Option<Value> {
    let line = order.lines.iter().find(|line| line.sku == news.sku);
    let product = line.map_or_else(|| news.sku.to_string(), |line| line.name.clone());
    let quantity = match template {
        Template::BackorderAllocated => news.units_allocated.unwrap_or(news.allocated),
        Template::BackorderCancelled => news.units_cancelled.unwrap_or(news.quantity),
        _ => news.quantity,
    };
    let refund = news
        .refund
        .as_ref()
        .map(|refund| order.currency.show(refund.amount_minor));
    Some(json!({
        "product": product,
        "quantity": quantity,
        "waiting": news.quantity.saturating_sub(news.allocated),
        "estimated_date": news.estimated_restock.as_deref().map(readable_date),
        "reason": news.reason,
        "refund": refund,
    }))
}

/// `2026-12-16` from an RFC 3339 instant (or the text as given).
fn readable_date(instant: &str) -> String {
    Timestamp::parse_rfc3339(instant).map_or_else(|| instant.to_owned(), Timestamp::day)
}

/// `2026-12-06 14:05 UTC`.
fn readable_time(at: Timestamp) -> String {
    let rfc = at.to_rfc3339();
    format!("{} {} UTC", at.day(), rfc.get(11..16).unwrap_or_default())
}
