//! Backorders: units a customer bought that a warehouse does not have yet,
//! waiting in a fair queue per SKU and warehouse. The queue is served in one
//! order, highest priority first and then first come, first served; units
//! set aside for it (see [`crate::StockLevel`]) go to its head, partly when
//! short, and no backorder is ever passed over for a later one.

use crate::ids::{CustomerId, OrderId, Sku, WarehouseId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

/// Whether and how far a SKU may be backordered in one warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackorderSettings {
    pub allow_backorder: bool,
    /// Open backordered units allowed at once.
    pub max_backorder_quantity: u32,
    /// Days from a backorder to the expected restock, when no date is set.
    pub estimated_restock_days: u32,
    /// The expected restock, when staff know it.
    pub estimated_restock_date: Option<Timestamp>,
}

impl Default for BackorderSettings {
    fn default() -> Self {
        Self {
            allow_backorder: false,
            max_backorder_quantity: 100,
            estimated_restock_days: 14,
            estimated_restock_date: None,
        }
    }
}

/// Why settings cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("max_backorder_quantity must be at most {max}")]
    QuantityTooLarge { max: u32 },
    #[error("estimated_restock_days must be between 0 and {max}")]
    DaysOutOfRange { max: u32 },
}

impl BackorderSettings {
    pub const MAX_QUANTITY: u32 = 1_000_000;
    pub const MAX_DAYS: u32 = 365;

    pub fn validate(self) -> Result<Self, SettingsError> {
        if self.max_backorder_quantity > Self::MAX_QUANTITY {
            return Err(SettingsError::QuantityTooLarge {
                max: Self::MAX_QUANTITY,
            });
        }
        if self.estimated_restock_days > Self::MAX_DAYS {
            return Err(SettingsError::DaysOutOfRange {
                max: Self::MAX_DAYS,
            });
        }
        Ok(self)
    }

    /// When stock is expected: the date staff set if it is still ahead,
    /// otherwise `estimated_restock_days` from `now`.
    pub fn estimated_restock(&self, now: Timestamp) -> Timestamp {
        self.estimated_restock_date
            .filter(|date| *date > now)
            .unwrap_or_else(|| now.plus_secs(u64::from(self.estimated_restock_days) * 86_400))
    }

    /// What a customer short of `shortfall` units is offered, with
    /// `backordered` units already open.
    pub fn offer(&self, backordered: u32, now: Timestamp) -> BackorderOffer {
        BackorderOffer {
            allowed: self.allow_backorder,
            remaining_capacity: if self.allow_backorder {
                self.max_backorder_quantity.saturating_sub(backordered)
            } else {
                0
            },
            estimated_restock: self.estimated_restock(now),
        }
    }
}

/// What checkout can offer for the units of a line it cannot fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackorderOffer {
    pub allowed: bool,
    /// Units that may still be backordered.
    pub remaining_capacity: u32,
    pub estimated_restock: Timestamp,
}

impl BackorderOffer {
    /// Whether `units` can wait in the queue.
    pub fn takes(&self, units: u32) -> bool {
        self.allowed && units <= self.remaining_capacity
    }
}

/// A backorder's id: a ULID, so ids sort by creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackorderId(Ulid);

impl BackorderId {
    pub fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    pub fn as_ulid(self) -> Ulid {
        self.0
    }
}

impl fmt::Display for BackorderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BackorderId {
    type Err = ulid::DecodeError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackorderStatus {
    /// Waiting; nothing allocated yet.
    Pending,
    /// Some units allocated, some still waiting.
    Partial,
    /// Every unit allocated.
    Fulfilled,
    /// Taken out of the queue; what was allocated stays with the order.
    Cancelled,
}

impl BackorderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Partial => "partial",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Partial)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Partial,
            Self::Fulfilled,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }
}

/// Units of one order line waiting in the queue of one SKU and warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backorder {
    pub id: BackorderId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub sku: Sku,
    pub warehouse: WarehouseId,
    /// Units backordered.
    pub quantity: u32,
    /// Units allocated so far.
    pub allocated: u32,
    pub status: BackorderStatus,
    /// Served before lower priorities; 0 is everyone's, staff may raise it.
    pub priority: u8,
    pub created_at: Timestamp,
    pub estimated_restock: Timestamp,
    /// What one of its units was bought at.
    pub unit_price: Money,
}

impl Backorder {
    /// Units still waiting.
    pub fn open(&self) -> u32 {
        if self.status.is_open() {
            self.quantity - self.allocated
        } else {
            0
        }
    }

    /// Its place in the queue: higher priority first, then earlier first.
    pub fn queue_position(&self) -> (std::cmp::Reverse<u8>, BackorderId) {
        (std::cmp::Reverse(self.priority), self.id)
    }

    /// This backorder taken out of the queue: its open units no longer wait.
    pub fn cancelled(&self) -> Backorder {
        Backorder {
            status: BackorderStatus::Cancelled,
            ..self.clone()
        }
    }

    /// This backorder after `units` more are allocated to it.
    pub fn allocated(&self, units: u32) -> Backorder {
        let allocated = (self.allocated + units).min(self.quantity);
        Backorder {
            allocated,
            status: if allocated == self.quantity {
                BackorderStatus::Fulfilled
            } else if allocated > 0 {
                BackorderStatus::Partial
            } else {
                BackorderStatus::Pending
            },
            ..self.clone()
        }
    }
}

/// Units given to one backorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allotment {
    pub backorder: BackorderId,
    pub units: u32,
}

/// How `set_aside` units are shared out over a queue: in queue order, each
/// backorder given what it still waits for, the one where the units run out
/// given the rest. Backorders that are not open take nothing.
pub fn allot(set_aside: u32, queue: &[Backorder]) -> Vec<Allotment> {
    let mut in_order: Vec<&Backorder> = queue.iter().filter(|b| b.open() > 0).collect();
    in_order.sort_by_key(|b| b.queue_position());
    let mut left = set_aside;
    let mut allotments = Vec::new();
    for backorder in in_order {
        if left == 0 {
            break;
        }
        let units = backorder.open().min(left);
        left -= units;
        allotments.push(Allotment {
            backorder: backorder.id,
            units,
        });
    }
    allotments
}

/// Where an open backorder stands in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// 1 for the head of the queue.
    pub position: u32,
    /// Units the backorders before it still wait for.
    pub units_ahead: u32,
}

/// Where backorder `id` stands among the open backorders of its queue;
/// `None` when it is not open.
pub fn standing(queue: &[Backorder], id: BackorderId) -> Option<Standing> {
    let mut in_order: Vec<&Backorder> = queue.iter().filter(|b| b.open() > 0).collect();
    in_order.sort_by_key(|b| b.queue_position());
    let index = in_order.iter().position(|b| b.id == id)?;
    Some(Standing {
        position: u32::try_from(index + 1).unwrap_or(u32::MAX),
        units_ahead: in_order[..index].iter().map(|b| b.open()).sum(),
    })
}

/// How a list of backorders is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackorderSort {
    /// Allocation order: highest priority first, then first come.
    #[default]
    Priority,
    /// Oldest first.
    Created,
}

impl BackorderSort {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "priority" => Some(Self::Priority),
            "created" => Some(Self::Created),
            _ => None,
        }
    }

    /// The backorder's place in this order, as a string that sorts like
    /// it: a list's cursor is the place of its last item.
    pub fn place(self, backorder: &Backorder) -> String {
        match self {
            Self::Priority => format!("{:03}#{}", 255 - backorder.priority, backorder.id),
            Self::Created => backorder.id.to_string(),
        }
    }

    /// Whether `cursor` is a place this order could have made.
    pub fn is_place(self, cursor: &str) -> bool {
        let id = match self {
            Self::Priority => match cursor.split_once('#') {
                Some((rank, id)) if rank.len() == 3 && rank.parse::<u8>().is_ok() => id,
                _ => return false,
            },
            Self::Created => cursor,
        };
        id.parse::<BackorderId>().is_ok()
    }
}

/// Which backorders a list shows; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackorderFilter {
    pub sku: Option<Sku>,
    pub warehouse: Option<WarehouseId>,
    pub status: Option<BackorderStatus>,
    pub customer: Option<CustomerId>,
    pub order: Option<OrderId>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
}

impl BackorderFilter {
    pub fn admits(&self, backorder: &Backorder) -> bool {
        self.sku.as_ref().is_none_or(|sku| *sku == backorder.sku)
            && self
                .warehouse
                .as_ref()
                .is_none_or(|warehouse| *warehouse == backorder.warehouse)
            && self.status.is_none_or(|status| status == backorder.status)
            && self
                .customer
                .as_ref()
                .is_none_or(|customer| *customer == backorder.customer_id)
            && self.order.is_none_or(|order| order == backorder.order_id)
            && self.from.is_none_or(|from| backorder.created_at >= from)
            && self.to.is_none_or(|to| backorder.created_at < to)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackorderPage {
    pub backorders: Vec<Backorder>,
    /// The place to continue after, when more follow.
    pub next: Option<String>,
}

/// The `limit` backorders that `filter` admits after place `after`, in
/// `sort` order.
pub fn page_of(
    backorders: Vec<Backorder>,
    filter: &BackorderFilter,
    sort: BackorderSort,
    after: Option<&str>,
    limit: usize,
) -> BackorderPage {
    let mut listed: Vec<(String, Backorder)> = backorders
        .into_iter()
        .filter(|backorder| filter.admits(backorder))
        .map(|backorder| (sort.place(&backorder), backorder))
        .filter(|(place, _)| after.is_none_or(|after| place.as_str() > after))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let more = listed.len() > limit;
    listed.truncate(limit);
    BackorderPage {
        next: more
            .then(|| listed.last().map(|(place, _)| place.clone()))
            .flatten(),
        backorders: listed.into_iter().map(|(_, backorder)| backorder).collect(),
    }
}

/// The backorder figures staff watch: what waits now, and how the
/// backorders closed in a recent window went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackorderFigures {
    /// Backorders waiting (pending or partial), and the units they wait for.
    pub open: u64,
    pub open_units: u64,
    /// Closed in the window: every unit allocated, or cancelled.
    pub fulfilled: u64,
    pub cancelled: u64,
    /// From checkout to the last unit allocated, averaged over those
    /// fulfilled in the window; `None` when none was.
    pub average_wait_secs: Option<u64>,
    /// Units allocated to backorders closed in the window, at the price
    /// they were bought at, per currency.
    pub revenue_minor: BTreeMap<String, i64>,
}

impl BackorderFigures {
    /// `open` backorders as they stand, and those `closed` in the window
    /// with when each closed.
    pub fn of(open: &[Backorder], closed: &[(Backorder, Timestamp)]) -> Self {
        let mut figures = Self {
            open: open.len() as u64,
            open_units: open.iter().map(|b| u64::from(b.open())).sum(),
            ..Self::default()
        };
        let mut waited = 0u64;
        for (backorder, closed_at) in closed {
            match backorder.status {
                BackorderStatus::Fulfilled => {
                    figures.fulfilled += 1;
                    waited += closed_at
                        .as_millis()
                        .saturating_sub(backorder.created_at.as_millis())
                        / 1_000;
                }
                BackorderStatus::Cancelled => figures.cancelled += 1,
                BackorderStatus::Pending | BackorderStatus::Partial => continue,
            }
            *figures
                .revenue_minor
                .entry(backorder.unit_price.currency.as_str().to_owned())
                .or_default() += backorder.unit_price.minor * i64::from(backorder.allocated);
        }
        figures.average_wait_secs = (figures.fulfilled > 0).then(|| waited / figures.fulfilled);
        figures
    }

    /// Of the backorders closed in the window, the share fulfilled.
    pub fn fulfillment_rate(&self) -> Option<f64> {
        let closed = self.fulfilled + self.cancelled;
        (closed > 0).then(|| self.fulfilled as f64 / closed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StockLevel;
    use proptest::prelude::*;

    fn backorder(n: u64, quantity: u32, priority: u8) -> Backorder {
        Backorder {
            id: BackorderId::from_ulid(Ulid::from_parts(1_000 + n, 0)),
            order_id: OrderId::from_ulid(Ulid::from_parts(1_000 + n, 1)),
            customer_id: CustomerId::parse("ada").unwrap(),
            sku: Sku::parse("TEE").unwrap(),
            warehouse: WarehouseId::parse("BER").unwrap(),
            quantity,
            allocated: 0,
            status: BackorderStatus::Pending,
            priority,
            created_at: Timestamp::from_millis(1_000 + n),
            estimated_restock: Timestamp::from_millis(0),
            unit_price: Money::new(1_500, crate::Currency::parse("EUR").unwrap()).unwrap(),
        }
    }

    #[test]
    fn units_go_first_come_first_served_the_last_partly() {
        let queue = [backorder(1, 3, 0), backorder(2, 2, 0), backorder(3, 4, 0)];
        let allotted = allot(6, &queue);
        let units: Vec<(BackorderId, u32)> =
            allotted.iter().map(|a| (a.backorder, a.units)).collect();
        assert_eq!(
            units,
            [(queue[0].id, 3), (queue[1].id, 2), (queue[2].id, 1)]
        );
        assert!(allot(0, &queue).is_empty());
    }

    #[test]
    fn a_raised_priority_is_served_before_earlier_backorders() {
        let queue = [backorder(1, 2, 0), backorder(2, 2, 5), backorder(3, 2, 0)];
        let first = allot(2, &queue);
        assert_eq!(
            first,
            [Allotment {
                backorder: queue[1].id,
                units: 2
            }]
        );
    }

    #[test]
    fn a_partly_allocated_backorder_waits_only_for_the_rest() {
        let partly = backorder(1, 5, 0).allocated(3);
        assert_eq!(
            (partly.status, partly.open()),
            (BackorderStatus::Partial, 2)
        );
        let queue = [partly.clone(), backorder(2, 1, 0)];
        assert_eq!(
            allot(2, &queue),
            [Allotment {
                backorder: partly.id,
                units: 2
            }]
        );
        assert_eq!(partly.allocated(2).status, BackorderStatus::Fulfilled);
    }

    #[test]
    fn cancelled_and_fulfilled_backorders_take_nothing() {
        let cancelled = Backorder {
            status: BackorderStatus::Cancelled,
            ..backorder(1, 5, 0)
        };
        let fulfilled = backorder(2, 1, 0).allocated(1);
        let waiting = backorder(3, 2, 0);
        assert_eq!(
            allot(10, &[cancelled, fulfilled, waiting.clone()]),
            [Allotment {
                backorder: waiting.id,
                units: 2
            }]
        );
    }

    #[test]
    fn a_backorder_stands_behind_the_open_ones_before_it() {
        let done = backorder(1, 2, 0).allocated(2);
        let queue = [
            done.clone(),
            backorder(2, 3, 0).allocated(1),
            backorder(3, 4, 0),
            backorder(4, 1, 9),
        ];
        assert_eq!(
            standing(&queue, queue[2].id),
            Some(Standing {
                position: 3,
                units_ahead: 1 + 2
            })
        );
        assert_eq!(standing(&queue, queue[3].id).map(|s| s.position), Some(1));
        assert_eq!(standing(&queue, done.id), None);
    }

    #[test]
    fn lists_page_in_either_order_with_filters() {
        let mut raised = backorder(3, 1, 4);
        raised.status = BackorderStatus::Cancelled;
        let all = vec![backorder(1, 1, 0), backorder(2, 1, 0), raised.clone()];
        let filter = BackorderFilter::default();
        let first = page_of(all.clone(), &filter, BackorderSort::Priority, None, 2);
        let ids: Vec<BackorderId> = first.backorders.iter().map(|b| b.id).collect();
        assert_eq!(ids, [raised.id, all[0].id]);
        let cursor = first.next.expect("a second page");
        assert!(BackorderSort::Priority.is_place(&cursor));
        assert!(!BackorderSort::Created.is_place(&cursor));
        let second = page_of(
            all.clone(),
            &filter,
            BackorderSort::Priority,
            Some(&cursor),
            2,
        );
        assert_eq!(second.backorders[0].id, all[1].id);
        assert_eq!(second.next, None);
        let created = page_of(all.clone(), &filter, BackorderSort::Created, None, 10);
        assert_eq!(created.backorders.last().map(|b| b.id), Some(raised.id));
        let open = BackorderFilter {
            status: Some(BackorderStatus::Pending),
            from: Some(Timestamp::from_millis(1_002)),
            ..BackorderFilter::default()
        };
        let listed = page_of(all.clone(), &open, BackorderSort::Created, None, 10);
        assert_eq!(
            listed.backorders.iter().map(|b| b.id).collect::<Vec<_>>(),
            [all[1].id]
        );
        assert_eq!(
            BackorderStatus::parse("partial"),
            Some(BackorderStatus::Partial)
        );
        assert_eq!(BackorderStatus::parse("open"), None);
    }

    #[test]
    fn the_figures_count_what_waits_and_how_the_closed_ones_went() {
        let waiting = backorder(1, 4, 0).allocated(1);
        let served = backorder(2, 2, 0).allocated(2);
        let dropped = Backorder {
            status: BackorderStatus::Cancelled,
            ..backorder(3, 3, 0).allocated(1)
        };
        let day = 86_400_000;
        let closed = [
            (
                served.clone(),
                Timestamp::from_millis(served.created_at.as_millis() + 2 * day),
            ),
            (dropped, Timestamp::from_millis(4 * day)),
        ];

        let figures = BackorderFigures::of(&[waiting], &closed);

        assert_eq!((figures.open, figures.open_units), (1, 3));
        assert_eq!((figures.fulfilled, figures.cancelled), (1, 1));
        assert_eq!(figures.fulfillment_rate(), Some(0.5));
        assert_eq!(figures.average_wait_secs, Some(2 * 86_400));
        // 2 units served and 1 allocated before the cancel, at 15.00.
        assert_eq!(figures.revenue_minor["EUR"], 3 * 1_500);
        let none = BackorderFigures::of(&[], &[]);
        assert_eq!(
            (none.fulfillment_rate(), none.average_wait_secs),
            (None, None)
        );
    }

    #[test]
    fn the_offer_says_whether_how_much_and_when() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let settings = BackorderSettings {
            allow_backorder: true,
            max_backorder_quantity: 10,
            ..BackorderSettings::default()
        };
        let offer = settings.offer(7, now);
        assert_eq!(offer.remaining_capacity, 3);
        assert!(offer.takes(3) && !offer.takes(4));
        assert_eq!(offer.estimated_restock, now.plus_secs(14 * 86_400));
        let dated = BackorderSettings {
            estimated_restock_date: Some(now.plus_secs(86_400)),
            ..settings
        };
        assert_eq!(dated.estimated_restock(now), now.plus_secs(86_400));
        // A date already past falls back to the days.
        assert_eq!(
            dated.estimated_restock(now.plus_secs(2 * 86_400)),
            now.plus_secs(16 * 86_400)
        );
        assert!(!BackorderSettings::default().offer(0, now).takes(1));
    }

    #[test]
    fn settings_out_of_bounds_are_refused() {
        let too_many = BackorderSettings {
            max_backorder_quantity: BackorderSettings::MAX_QUANTITY + 1,
            ..BackorderSettings::default()
        };
        assert!(too_many.validate().is_err());
        let too_far = BackorderSettings {
            estimated_restock_days: 366,
            ..BackorderSettings::default()
        };
        assert!(too_far.validate().is_err());
        assert!(BackorderSettings::default().validate().is_ok());
    }

    /// What can happen to one SKU in one warehouse.
    #[derive(Debug, Clone)]
    enum Event {
        /// A checkout wanting this many: reserved from what is available,
        /// the rest backordered within the limit, or refused.
        Checkout(u32),
        Restock(u32),
        /// An order's reservation handed back (the index picks which).
        Release(usize),
        /// A backorder taken out of the queue (the index picks which).
        Cancel(usize),
        /// Staff raise a backorder's priority.
        Raise(usize),
        /// The allocator shares out what is set aside.
        Allocate,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (1u32..12).prop_map(Event::Checkout),
            (1u32..20).prop_map(Event::Restock),
            any::<usize>().prop_map(Event::Release),
            any::<usize>().prop_map(Event::Cancel),
            any::<usize>().prop_map(Event::Raise),
            Just(Event::Allocate),
        ]
    }

    proptest! {
        /// Whatever happens, allocations follow queue order and never skip a
        /// backorder for a later one, no backorder gets more than it asked,
        /// units are conserved (on_hand = available + reserved + set_aside,
        /// backordered = what the open backorders wait for), and while the
        /// queue is owed units no checkout can take one.
        #[test]
        fn the_queue_is_served_in_order_and_no_unit_is_made_or_lost(
            start in 0u32..30,
            limit in 0u32..40,
            events in proptest::collection::vec(event(), 0..120),
        ) {
            let mut stock = StockLevel::on_hand(start);
            let mut queue: Vec<Backorder> = Vec::new();
            let mut reservations: Vec<u32> = Vec::new();
            let mut received = u64::from(start);
            let mut next = 0u64;
            for event in events {
                match event {
                    Event::Checkout(wanted) => {
                        let reserve = wanted.min(stock.available());
                        let rest = wanted - reserve;
                        if stock.owed() > 0 {
                            // Fairness: nothing is available while the queue is owed.
                            prop_assert_eq!(stock.available(), 0);
                        }
                        let Ok(backordered) = stock.reserve(reserve).and_then(|s| s.backorder(rest, limit)) else {
                            continue;
                        };
                        stock = backordered;
                        if reserve > 0 {
                            reservations.push(reserve);
                        }
                        if rest > 0 {
                            next += 1;
                            queue.push(backorder(next, rest, 0));
                        }
                    }
                    Event::Restock(units) => {
                        stock = stock.restock(units).unwrap();
                        received += u64::from(units);
                    }
                    Event::Release(pick) if !reservations.is_empty() => {
                        let units = reservations.remove(pick % reservations.len());
                        stock = stock.release(units).unwrap();
                    }
                    Event::Cancel(pick) if !queue.is_empty() => {
                        let index = pick % queue.len();
                        let open = queue[index].open();
                        stock = stock.cancel_backorder(open).unwrap();
                        queue[index].status = BackorderStatus::Cancelled;
                    }
                    Event::Raise(pick) if !queue.is_empty() => {
                        let index = pick % queue.len();
                        queue[index].priority = queue[index].priority.saturating_add(1);
                    }
                    Event::Allocate => {
                        let allotted = allot(stock.set_aside, &queue);
                        let mut order: Vec<&Backorder> = queue.iter().filter(|b| b.open() > 0).collect();
                        order.sort_by_key(|b| b.queue_position());
                        // In queue order, each but the last given all it waits for.
                        for (i, allotment) in allotted.iter().enumerate() {
                            prop_assert_eq!(allotment.backorder, order[i].id);
                            prop_assert!(allotment.units <= order[i].open());
                            if i + 1 < allotted.len() {
                                prop_assert_eq!(allotment.units, order[i].open());
                            }
                        }
                        for allotment in allotted {
                            stock = stock.allocate(allotment.units).unwrap();
                            reservations.push(allotment.units);
                            let at = queue.iter().position(|b| b.id == allotment.backorder).unwrap();
                            queue[at] = queue[at].allocated(allotment.units);
                        }
                    }
                    _ => {}
                }
                let waiting: u32 = queue.iter().map(Backorder::open).sum();
                prop_assert_eq!(stock.backordered, waiting);
                prop_assert!(stock.set_aside <= stock.backordered);
                prop_assert_eq!(stock.available() + stock.reserved + stock.set_aside, stock.on_hand);
                prop_assert_eq!(u64::from(stock.on_hand), received);
                prop_assert_eq!(stock.reserved, reservations.iter().sum::<u32>());
                prop_assert!(queue.iter().all(|b| b.allocated <= b.quantity));
                prop_assert!(stock.backordered <= limit.max(stock.backordered.min(limit)));
            }
        }
    }
}
