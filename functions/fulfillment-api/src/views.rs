//! How shipments look on the wire. Instants are RFC 3339 UTC.

use serde_json::{Value, json};
use shopflow_domain::{Journey, Order, Shipment};

pub fn shipment(shipment: &Shipment) -> Value {
    json!({
        "id": shipment.id,
        "order_id": shipment.order_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.carrier.tracking_url(&shipment.tracking_number),
        "warehouse": shipment.warehouse,
        "lines": shipment.lines,
        "status": shipment.status(),
        "status_since": shipment.journey.status_since().map(|at| at.to_rfc3339()),
        "delivered_at": shipment.delivered_at().map(|at| at.to_rfc3339()),
        "events": shipment.journey.events().len(),
        "created_at": shipment.created_at.to_rfc3339(),
    })
}

/// A journey's events, oldest first. Where each raw payload is kept is
/// for staff only.
pub fn events(journey: &Journey, for_staff: bool) -> Vec<Value> {
    journey
        .events()
        .iter()
        .map(|event| {
            let mut view = json!({
                "occurred_at": event.occurred_at.to_rfc3339(),
                "status": event.status,
                "code": event.code,
                "description": event.description,
                "location": event.location,
                "carrier_event_id": event.carrier_event_id,
            });
            if for_staff {
                view["raw_ref"] = json!(event.raw_ref);
            }
            view
        })
        .collect()
}

/// Where an order's goods stand, and what of each line is still to ship.
pub fn order_goods(order: &Order) -> Value {
    json!({
        "id": order.id,
        "status": order.status,
        "fulfillment_status": order.fulfillment_status,
        "lines": order.lines.iter().map(|line| json!({
            "sku": line.sku,
            "warehouse": line.warehouse,
            "quantity": line.quantity.get(),
            "shipped": line.shipped,
            "reserved": line.reserved(),
            "backordered": line.backordered(),
        })).collect::<Vec<_>>(),
    })
}
