//! Shipments: units of an order that left one warehouse together under a
//! carrier's tracking number, taken from the stock reserved for the order,
//! and what their journeys mean for the order's goods.

use crate::ids::{CustomerId, OrderId, Quantity, Sku, WarehouseId};
use crate::order::Order;
use crate::status::{IllegalTransition, OrderState, OrderTrigger};
use crate::time::Timestamp;
use crate::tracking::{
    Carrier, Journey, JourneyUpdate, TrackingEvent, TrackingNumber, TrackingStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

/// A shipment's id: a ULID, so an order's shipments list in the order
/// they were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShipmentId(Ulid);

impl ShipmentId {
    /// A new id for a shipment made at `at`. It sorts after every id this
    /// process made before, so shipments made within one millisecond still
    /// list in the order they were made.
    pub fn made_at(at: Timestamp) -> Self {
        Self(crate::ids::monotonic_ulid(at))
    }

    pub fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    pub fn as_ulid(self) -> Ulid {
        self.0
    }
}

impl fmt::Display for ShipmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ShipmentId {
    type Err = ulid::DecodeError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

/// Units of one SKU of the order in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Units that left a warehouse together, and their journey to the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub warehouse: WarehouseId,
    pub carrier: Carrier,
    pub tracking_number: TrackingNumber,
    pub lines: Vec<ShippedLine>,
    pub journey: Journey,
    pub created_at: Timestamp,
    /// Who shipped it, as history records actors (`admin:<id>`).
    pub created_by: String,
    /// Optimistic-locking counter: every tracking update is conditional on it.
    pub version: u64,
}

impl Shipment {
    /// Where the parcel is, as its events add up.
    pub fn status(&self) -> TrackingStatus {
        self.journey.status()
    }

    pub fn is_delivered(&self) -> bool {
        self.status() == TrackingStatus::Delivered
    }

    /// When it was delivered, once it is.
    pub fn delivered_at(&self) -> Option<Timestamp> {
        self.is_delivered()
            .then(|| self.journey.status_since())
            .flatten()
    }

    /// Whether the carrier is still to be asked about it.
    pub fn is_in_flight(&self) -> bool {
        !self.status().is_final()
    }

    /// The shipment once `reports` from its carrier are taken in, with
    /// what they changed.
    pub fn tracked(&self, reports: Vec<TrackingEvent>) -> Tracked {
        let update = self.journey.with_reports(reports);
        let mut after = self.clone();
        after.journey = update.journey.clone();
        Tracked {
            shipment: after,
            update,
        }
    }
}

/// A shipment after its carrier's reports, and what they changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub shipment: Shipment,
    pub update: JourneyUpdate,
}

impl Tracked {
    /// Nothing new: the reports were all known.
    pub fn is_news(&self) -> bool {
        !self.update.added.is_empty()
    }
}

/// Where a shipment stands for the figures staff watch; a delivered one
/// is done and stands nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShipmentStanding {
    /// On its way, nothing wrong reported.
    InFlight,
    /// On its way after a failed delivery or an exception: someone has to
    /// look at it.
    NeedsAttention,
    /// On its way back to the shop: needs attention, and a return is pending.
    Returning,
}

impl ShipmentStanding {
    pub const ALL: [ShipmentStanding; 3] = [Self::InFlight, Self::NeedsAttention, Self::Returning];

    /// Where a shipment in `status` stands.
    pub fn of(status: TrackingStatus) -> Option<Self> {
        match status {
            TrackingStatus::Delivered => None,
            TrackingStatus::ReturnedToSender => Some(Self::Returning),
            status if status.needs_attention() => Some(Self::NeedsAttention),
            _ => Some(Self::InFlight),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InFlight => "in_flight",
            Self::NeedsAttention => "needs_attention",
            Self::Returning => "returning",
        }
    }
}

/// How many shipments stand where, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipmentFigures {
    pub in_flight: u64,
    pub needs_attention: u64,
    pub returning: u64,
}

impl ShipmentFigures {
    /// Shipments not delivered and not on their way back.
    pub fn travelling(&self) -> u64 {
        self.in_flight + self.needs_attention
    }

    /// Failed deliveries, exceptions and returns.
    pub fn needing_attention(&self) -> u64 {
        self.needs_attention + self.returning
    }

    pub fn add(&mut self, standing: ShipmentStanding, count: u64) {
        match standing {
            ShipmentStanding::InFlight => self.in_flight += count,
            ShipmentStanding::NeedsAttention => self.needs_attention += count,
            ShipmentStanding::Returning => self.returning += count,
        }
    }
}

/// Why units cannot ship as asked. Nothing shipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipError {
    #[error("a shipment needs at least one line")]
    NoLines,
    #[error("a shipment has at most {max} lines")]
    TooManyLines { max: usize },
    #[error("sku {0} appears on more than one line")]
    DuplicateSku(Sku),
    #[error("sku {0} is not on the order")]
    NotOnOrder(Sku),
    /// Some of the units asked for still wait for backorder stock.
    #[error(
        "{requested} of {sku} asked for, {reserved} reserved in {warehouse}; {waiting} still await stock"
    )]
    AwaitingStock {
        sku: Sku,
        warehouse: WarehouseId,
        requested: u32,
        reserved: u32,
        waiting: u32,
    },
    /// More than the order holds in that warehouse (none, when its units
    /// are reserved elsewhere or shipped already).
    #[error("{requested} of {sku} asked for, {reserved} reserved in {warehouse}")]
    MoreThanReserved {
        sku: Sku,
        warehouse: WarehouseId,
        requested: u32,
        reserved: u32,
    },
    /// The order's goods cannot move now (unpaid, cancelled, complete).
    #[error(transparent)]
    NotShippable(#[from] IllegalTransition),
}

/// What a shipment does to its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipping {
    /// The order with the units shipped.
    pub order: Order,
    /// `Shipped` when every unit it delivers has left, else `PartlyShipped`.
    pub trigger: OrderTrigger,
    pub to: OrderState,
}

impl Order {
    /// The order once `lines` leave `warehouse` in one shipment: the units
    /// must be reserved for it there (not waiting for backorder stock, not
    /// shipped before), and its goods must be free to move.
    pub fn ship(
        &self,
        warehouse: &WarehouseId,
        lines: &[ShippedLine],
    ) -> Result<Shipping, ShipError> {
        Self::check_shipment_lines(lines)?;
        let mut after = self.clone();
        for shipped in lines {
            // A line split across warehouses is one line per warehouse:
            // the one this shipment leaves from, else any (to say why not).
            let at = after
                .lines
                .iter()
                .position(|line| line.sku == shipped.sku && &line.warehouse == warehouse)
                .or_else(|| after.lines.iter().position(|line| line.sku == shipped.sku))
                .ok_or_else(|| ShipError::NotOnOrder(shipped.sku.clone()))?;
            let line = &mut after.lines[at];
            let requested = shipped.quantity.get();
            let reserved = if &line.warehouse == warehouse {
                line.reserved()
            } else {
                0
            };
            if requested > reserved {
                return Err(if line.backordered() > 0 && &line.warehouse == warehouse {
                    ShipError::AwaitingStock {
                        sku: shipped.sku.clone(),
                        warehouse: warehouse.clone(),
                        requested,
                        reserved,
                        waiting: line.backordered(),
                    }
                } else {
                    ShipError::MoreThanReserved {
                        sku: shipped.sku.clone(),
                        warehouse: warehouse.clone(),
                        requested,
                        reserved,
                    }
                });
            }
            line.shipped += requested;
        }
        let trigger = if after.lines.iter().all(|line| line.shipped == line.kept()) {
            OrderTrigger::Shipped
        } else {
            OrderTrigger::PartlyShipped
        };
        let to = self.state().apply(trigger)?;
        after.status = to.status;
        after.fulfillment_status = to.fulfillment_status;
        Ok(Shipping {
            order: after,
            trigger,
            to,
        })
    }

    fn check_shipment_lines(lines: &[ShippedLine]) -> Result<(), ShipError> {
        if lines.is_empty() {
            return Err(ShipError::NoLines);
        }
        if lines.len() > MAX_SHIPMENT_LINES {
            return Err(ShipError::TooManyLines {
                max: MAX_SHIPMENT_LINES,
            });
        }
        let mut seen = HashSet::new();
        match lines.iter().find(|line| !seen.insert(&line.sku)) {
            Some(line) => Err(ShipError::DuplicateSku(line.sku.clone())),
            None => Ok(()),
        }
    }

    /// The state its goods' delivery leads to, when its shipments standing
    /// as `shipments` do deliver it: every unit has left, and every
    /// shipment arrived.
    pub fn delivered_by(&self, shipments: &[Shipment]) -> Option<OrderState> {
        let all_arrived = !shipments.is_empty() && shipments.iter().all(Shipment::is_delivered);
        all_arrived
            .then(|| self.state().apply(OrderTrigger::Delivered).ok())
            .flatten()
    }
}

/// A shipment has at most as many lines as an order.
pub const MAX_SHIPMENT_LINES: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::test_support::{backordered_line, order_in};
    use crate::status::{FulfillmentStatus, OrderStatus};
    use crate::tracking::TrackingStatus as T;

    fn wh(code: &str) -> WarehouseId {
        WarehouseId::parse(code).unwrap()
    }

    fn ship(sku: &str, units: u32) -> ShippedLine {
        ShippedLine {
            sku: Sku::parse(sku).unwrap(),
            quantity: Quantity::parse(units).unwrap(),
        }
    }

    #[test]
    fn shipments_made_in_one_millisecond_keep_the_order_they_were_made_in() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let made: Vec<ShipmentId> = (0..50).map(|_| ShipmentId::made_at(at)).collect();

        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(sorted, made);
        assert!(made.windows(2).all(|pair| pair[0] != pair[1]));
    }

    /// A confirmed order of 3 posters reserved in BER, `waiting` more on
    /// backorder, and 2 mugs reserved in BER.
    fn confirmed(waiting: u32) -> Order {
        let mut posters = backordered_line(3 + waiting, waiting);
        if waiting == 0 {
            posters.backorder = None;
        }
        let mut mugs = backordered_line(2, 0);
        mugs.backorder = None;
        mugs.sku = Sku::parse("MUG").unwrap();
        let mut order = order_in(OrderStatus::Confirmed);
        order.lines = vec![posters, mugs];
        order.fulfillment_status = if waiting > 0 {
            FulfillmentStatus::AwaitingStock
        } else {
            FulfillmentStatus::Unfulfilled
        };
        order
    }

    #[test]
    fn shipping_part_of_an_order_leaves_it_partially_shipped_and_the_rest_ships_it() {
        let order = confirmed(0);
        let first = order.ship(&wh("BER"), &[ship("POSTER-A2", 2)]).unwrap();
        assert_eq!(first.trigger, OrderTrigger::PartlyShipped);
        assert_eq!(
            first.order.fulfillment_status,
            FulfillmentStatus::PartiallyShipped
        );
        assert_eq!(first.order.lines[0].reserved(), 1);
        assert_eq!(first.order.lines[0].shipped, 2);

        let rest = first
            .order
            .ship(&wh("BER"), &[ship("POSTER-A2", 1), ship("MUG", 2)])
            .unwrap();
        assert_eq!(rest.trigger, OrderTrigger::Shipped);
        assert_eq!(rest.order.fulfillment_status, FulfillmentStatus::Shipped);
        assert!(rest.order.lines.iter().all(|line| line.reserved() == 0));
    }

    #[test]
    fn each_warehouse_ships_its_own_part_of_a_split_line() {
        let mut order = confirmed(0);
        let mut from_hamburg = order.lines[1].clone();
        from_hamburg.warehouse = wh("HAM");
        from_hamburg.quantity = crate::Quantity::parse(3).unwrap();
        order.lines.push(from_hamburg);

        let hamburg = order.ship(&wh("HAM"), &[ship("MUG", 3)]).unwrap();
        assert_eq!(hamburg.trigger, OrderTrigger::PartlyShipped);
        let shipped: Vec<(&str, u32)> = hamburg
            .order
            .lines
            .iter()
            .filter(|line| line.sku.as_str() == "MUG")
            .map(|line| (line.warehouse.as_str(), line.shipped))
            .collect();
        assert_eq!(shipped, [("BER", 0), ("HAM", 3)]);
        assert!(matches!(
            hamburg.order.ship(&wh("HAM"), &[ship("MUG", 1)]),
            Err(ShipError::MoreThanReserved { reserved: 0, .. })
        ));
        let berlin = hamburg
            .order
            .ship(&wh("BER"), &[ship("MUG", 2), ship("POSTER-A2", 3)])
            .unwrap();
        assert_eq!(berlin.trigger, OrderTrigger::Shipped);
    }

    #[test]
    fn shipping_more_than_is_reserved_there_names_the_figures() {
        let order = confirmed(0);
        assert_eq!(
            order.ship(&wh("BER"), &[ship("MUG", 3)]),
            Err(ShipError::MoreThanReserved {
                sku: Sku::parse("MUG").unwrap(),
                warehouse: wh("BER"),
                requested: 3,
                reserved: 2
            })
        );
        assert!(matches!(
            order.ship(&wh("HAM"), &[ship("MUG", 1)]),
            Err(ShipError::MoreThanReserved { reserved: 0, .. })
        ));
        let shipped = order.ship(&wh("BER"), &[ship("MUG", 2)]).unwrap().order;
        assert!(matches!(
            shipped.ship(&wh("BER"), &[ship("MUG", 1)]),
            Err(ShipError::MoreThanReserved { reserved: 0, .. })
        ));
    }

    #[test]
    fn units_awaiting_backorder_stock_cannot_ship_but_reserved_ones_can() {
        let order = confirmed(4);
        assert!(matches!(
            order.ship(&wh("BER"), &[ship("POSTER-A2", 5)]),
            Err(ShipError::AwaitingStock {
                requested: 5,
                reserved: 3,
                waiting: 4,
                ..
            })
        ));
        let partly = order
            .ship(&wh("BER"), &[ship("POSTER-A2", 3), ship("MUG", 2)])
            .unwrap();
        assert_eq!(partly.trigger, OrderTrigger::PartlyShipped);
    }

    #[test]
    fn bad_shipment_lines_are_refused_before_anything_moves() {
        let order = confirmed(0);
        assert_eq!(order.ship(&wh("BER"), &[]), Err(ShipError::NoLines));
        assert_eq!(
            order.ship(&wh("BER"), &[ship("MUG", 1), ship("MUG", 1)]),
            Err(ShipError::DuplicateSku(Sku::parse("MUG").unwrap()))
        );
        assert_eq!(
            order.ship(&wh("BER"), &[ship("CAP", 1)]),
            Err(ShipError::NotOnOrder(Sku::parse("CAP").unwrap()))
        );
    }

    #[test]
    fn an_unpaid_or_cancelled_order_does_not_ship() {
        for status in [OrderStatus::PendingPayment, OrderStatus::Cancelled] {
            let order = Order {
                status,
                ..confirmed(0)
            };
            assert!(matches!(
                order.ship(&wh("BER"), &[ship("MUG", 1)]),
                Err(ShipError::NotShippable(_))
            ));
        }
    }

    fn shipment(order: &Order, statuses: &[TrackingStatus]) -> Shipment {
        let events = statuses
            .iter()
            .enumerate()
            .map(|(minute, status)| TrackingEvent {
                carrier_event_id: None,
                code: status.as_str().into(),
                description: String::new(),
                location: None,
                occurred_at: Timestamp::from_millis(60_000 * minute as u64),
                status: *status,
                raw_ref: None,
            })
            .collect();
        Shipment {
            id: ShipmentId::made_at(Timestamp::from_millis(0)),
            order_id: order.id,
            customer_id: order.customer_id.clone(),
            warehouse: wh("BER"),
            carrier: Carrier::Usps,
            tracking_number: TrackingNumber::parse("9400100000000000000000").unwrap(),
            lines: vec![ship("MUG", 1)],
            journey: Journey::of(events),
            created_at: Timestamp::from_millis(0),
            created_by: "admin:staff".into(),
            version: 1,
        }
    }

    #[test]
    fn a_shipment_stands_in_flight_until_trouble_or_delivery_and_returns_count_twice() {
        use ShipmentStanding as S;
        assert_eq!(S::of(T::LabelCreated), Some(S::InFlight));
        assert_eq!(S::of(T::OutForDelivery), Some(S::InFlight));
        assert_eq!(S::of(T::DeliveryFailed), Some(S::NeedsAttention));
        assert_eq!(S::of(T::Exception), Some(S::NeedsAttention));
        assert_eq!(S::of(T::ReturnedToSender), Some(S::Returning));
        assert_eq!(S::of(T::Delivered), None);
        let mut figures = ShipmentFigures::default();
        figures.add(S::InFlight, 3);
        figures.add(S::NeedsAttention, 1);
        figures.add(S::Returning, 2);
        assert_eq!((figures.travelling(), figures.needing_attention()), (4, 3));
    }

    #[test]
    fn an_order_is_delivered_when_everything_shipped_and_every_shipment_arrived() {
        let order = confirmed(0);
        let partly = order.ship(&wh("BER"), &[ship("MUG", 2)]).unwrap().order;
        let arrived = shipment(&partly, &[T::InTransit, T::Delivered]);
        assert_eq!(partly.delivered_by(std::slice::from_ref(&arrived)), None);

        let whole = partly
            .ship(&wh("BER"), &[ship("POSTER-A2", 3)])
            .unwrap()
            .order;
        let moving = shipment(&whole, &[T::InTransit]);
        assert_eq!(whole.delivered_by(&[arrived.clone(), moving]), None);
        let second = shipment(&whole, &[T::Delivered]);
        let delivered = whole.delivered_by(&[arrived, second.clone()]).unwrap();
        assert_eq!(delivered.fulfillment_status, FulfillmentStatus::Delivered);
        assert_eq!(delivered.status, OrderStatus::Completed);
        assert!(second.delivered_at().is_some());
        assert_eq!(whole.delivered_by(&[]), None);
    }
}
