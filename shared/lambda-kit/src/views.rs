//! How orders look on the wire. Amounts are integer minor units of the
//! order's `currency`; instants are RFC 3339 UTC.

use serde::Serialize;
use shopflow_domain::{Order, Payment, ShippingAddress};

#[derive(Debug, Serialize)]
pub struct OrderView<'a> {
    pub id: String,
    /// The lifecycle: draft, pending_payment, confirmed, completed,
    /// cancelled or expired.
    pub status: &'static str,
    /// awaiting, authorized, paid, partially_refunded, refunded, voided or failed.
    pub payment_status: &'static str,
    /// unfulfilled, awaiting_stock, partially_shipped, shipped, delivered or returned.
    pub fulfillment_status: &'static str,
    /// none, partial or full: how much of the order waits for stock.
    pub backorder_status: &'static str,
    /// When the last unit waiting for stock is expected, while any waits.
    pub estimated_fulfillment_date: Option<String>,
    pub customer_id: &'a str,
    pub currency: &'a str,
    pub lines: Vec<OrderLineView<'a>>,
    pub totals: TotalsView,
    pub email: &'a str,
    pub shipping_address: &'a ShippingAddress,
    pub created_at: String,
    pub reservation_expires_at: String,
    pub payment: PaymentView<'a>,
}

/// The order's money as the payment provider reported it.
#[derive(Debug, Serialize)]
pub struct PaymentView<'a> {
    /// Where the provider's payment stands: `awaiting`, `failed`,
    /// `authorized`, `captured` or `voided`.
    pub status: &'static str,
    pub intent_id: Option<&'a str>,
    pub authorized_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub refundable_minor: i64,
    pub failure_code: Option<&'a str>,
}

impl<'a> From<&'a Payment> for PaymentView<'a> {
    fn from(payment: &'a Payment) -> Self {
        Self {
            status: payment.status.as_str(),
            intent_id: payment.intent_id.as_deref(),
            authorized_minor: payment.authorized_minor,
            captured_minor: payment.captured_minor,
            refunded_minor: payment.refunded_minor,
            refundable_minor: payment.refundable_minor(),
            failure_code: payment.failure_code.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OrderLineView<'a> {
    pub sku: &'a str,
    pub name: &'a str,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
    pub warehouse: &'a str,
    /// Units reserved in the warehouse.
    pub reserved: u32,
    /// Units waiting in its backorder queue.
    pub backordered: u32,
    /// The line's backorder, when its checkout made one.
    pub backorder_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TotalsView {
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub grand_total_minor: i64,
}

impl<'a> From<&'a Order> for OrderView<'a> {
    fn from(order: &'a Order) -> Self {
        Self {
            id: order.id.to_string(),
            status: order.status.as_str(),
            payment_status: order.payment.payment_status().as_str(),
            fulfillment_status: order.fulfillment_status.as_str(),
            backorder_status: order.backorder_state().as_str(),
            estimated_fulfillment_date: order.estimated_fulfillment().map(|at| at.to_rfc3339()),
            customer_id: order.customer_id.as_str(),
            currency: order.currency.as_str(),
            lines: order
                .lines
                .iter()
                .map(|line| OrderLineView {
                    sku: line.sku.as_str(),
                    name: &line.name,
                    quantity: line.quantity.get(),
                    unit_price_minor: line.unit_price.minor,
                    line_total_minor: line.line_total.minor,
                    warehouse: line.warehouse.as_str(),
                    reserved: line.reserved(),
                    backordered: line.backordered(),
                    backorder_id: line.backorder.map(|b| b.id.to_string()),
                })
                .collect(),
            totals: TotalsView {
                subtotal_minor: order.totals.subtotal.minor,
                tax_minor: order.totals.tax.minor,
                shipping_minor: order.totals.shipping.minor,
                grand_total_minor: order.totals.grand_total.minor,
            },
            email: order.email.as_str(),
            shipping_address: &order.shipping_address,
            created_at: order.created_at.to_rfc3339(),
            reservation_expires_at: order.reservation_expires_at.to_rfc3339(),
            payment: PaymentView::from(&order.payment),
        }
    }
}
