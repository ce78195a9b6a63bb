//! The stock ledger: every change of a stock level, with its cause. A
//! change's figures are the difference between the level before and after
//! it, so replaying a warehouse's movements from zero gives its level, and
//! a low-stock crossing is read from the same two levels.

use crate::{Sku, StockLevel, Timestamp, WarehouseId};
use serde::{Deserialize, Serialize};

/// Why a stock level changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementCause {
    /// Checkout reserved units (and backordered what was short).
    Sale,
    /// A late payment took back the reservation its order had lost.
    Rereserved,
    /// An order gave back its reserved units (cancelled or expired), and
    /// any of its backordered units left the queue.
    Released,
    /// Reserved units left the warehouse in a shipment.
    Shipped,
    /// Units were received.
    Restocked,
    /// Staff corrected the count (received, damaged, lost, count
    /// correction, returned).
    Adjusted,
    /// Units left for another warehouse.
    TransferOut,
    /// Units arrived from another warehouse.
    TransferIn,
    /// Set-aside units went to backorders, becoming their reservations.
    BackorderAllocated,
    /// A backorder's waiting units left the queue.
    BackorderCancelled,
    /// Staff changed the level's settings (backorders, low-stock
    /// threshold): no units move.
    SettingsChanged,
    /// A write that did not say why: a defect, recorded rather than lost.
    Unexplained,
}

impl MovementCause {
    pub const ALL: [MovementCause; 12] = [
        Self::Sale,
        Self::Rereserved,
        Self::Released,
        Self::Shipped,
        Self::Restocked,
        Self::Adjusted,
        Self::TransferOut,
        Self::TransferIn,
        Self::BackorderAllocated,
        Self::BackorderCancelled,
        Self::SettingsChanged,
        Self::Unexplained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Rereserved => "rereserved",
            Self::Released => "released",
            Self::Shipped => "shipped",
            Self::Restocked => "restocked",
            Self::Adjusted => "adjusted",
            Self::TransferOut => "transfer_out",
            Self::TransferIn => "transfer_in",
            Self::BackorderAllocated => "backorder_allocated",
            Self::BackorderCancelled => "backorder_cancelled",
            Self::SettingsChanged => "settings_changed",
            Self::Unexplained => "unexplained",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cause| cause.as_str() == raw)
    }
}

/// What a write tells the ledger about the change it makes: why, what it
/// was for (an order, a restock, a transfer, a shipment), and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementNote {
    pub cause: MovementCause,
    /// The order, restock, adjustment, transfer, shipment or backorder id.
    pub reference: String,
    pub at: Timestamp,
}

impl MovementNote {
    pub fn new(cause: MovementCause, reference: impl ToString, at: Timestamp) -> Self {
        Self {
            cause,
            reference: reference.to_string(),
            at,
        }
    }
}

/// A stock level's counters moved by one change (negative: down).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    pub on_hand: i64,
    pub reserved: i64,
    pub set_aside: i64,
    pub backordered: i64,
}

impl LevelChange {
    /// From `before` to `after`.
    pub fn between(before: StockLevel, after: StockLevel) -> Self {
        let delta = |from: u32, to: u32| i64::from(to) - i64::from(from);
        Self {
            on_hand: delta(before.on_hand, after.on_hand),
            reserved: delta(before.reserved, after.reserved),
            set_aside: delta(before.set_aside, after.set_aside),
            backordered: delta(before.backordered, after.backordered),
        }
    }

    /// Whether no counter moved (a settings change).
    pub fn is_empty(self) -> bool {
        self == Self::default()
    }

    /// The change in units customers can still buy.
    pub fn available(self) -> i64 {
        self.on_hand - self.reserved - self.set_aside
    }
}

/// One entry of the ledger: a change of one SKU's stock in one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    /// The stock level's version this change made: versions only grow, so
    /// a change is recorded once however often it is read.
    pub version: u64,
    pub note: MovementNote,
    pub change: LevelChange,
    /// The level the change left.
    pub after: StockLevel,
}

/// The level a warehouse's movements (in any order) add up to from zero:
/// `None` when they do not make a level (a counter below zero or past the
/// maximum), which would mean a change is missing or doubled.
pub fn replay<'a>(movements: impl IntoIterator<Item = &'a Movement>) -> Option<StockLevel> {
    let mut total = LevelChange::default();
    for movement in movements {
        total.on_hand += movement.change.on_hand;
        total.reserved += movement.change.reserved;
        total.set_aside += movement.change.set_aside;
        total.backordered += movement.change.backordered;
    }
    let counter = |value: i64| u32::try_from(value).ok();
    Some(StockLevel {
        on_hand: counter(total.on_hand)?,
        reserved: counter(total.reserved)?,
        set_aside: counter(total.set_aside)?,
        backordered: counter(total.backordered)?,
    })
}

/// A stock level's low-stock threshold: at or below it, the level is low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    pub threshold: u32,
}

impl LowStock {
    pub fn is_low(self, level: StockLevel) -> bool {
        level.available() <= self.threshold
    }

    /// Whether a change from `before` (under the threshold set then) to
    /// `after` (under the one set now) makes the level low: once per fall,
    /// armed again only when the level rises above the threshold. Setting a
    /// threshold above a level already there is a fall too.
    pub fn crossed(
        before: (StockLevel, Option<LowStock>),
        after: (StockLevel, Option<LowStock>),
    ) -> bool {
        let was_low = before.1.is_some_and(|low| low.is_low(before.0));
        let is_low = after.1.is_some_and(|low| low.is_low(after.0));
        is_low && !was_low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(on_hand: u32, reserved: u32, set_aside: u32, backordered: u32) -> StockLevel {
        StockLevel {
            on_hand,
            reserved,
            set_aside,
            backordered,
        }
    }

    fn movement(before: StockLevel, after: StockLevel, version: u64) -> Movement {
        Movement {
            sku: Sku::parse("TEE").unwrap(),
            warehouse: WarehouseId::parse("BER").unwrap(),
            version,
            note: MovementNote::new(MovementCause::Sale, "o", Timestamp::from_millis(0)),
            change: LevelChange::between(before, after),
            after,
        }
    }

    #[test]
    fn a_change_is_the_difference_of_its_levels() {
        let change = LevelChange::between(level(10, 2, 0, 3), level(10, 0, 2, 3));
        assert_eq!(
            change,
            LevelChange {
                on_hand: 0,
                reserved: -2,
                set_aside: 2,
                backordered: 0
            }
        );
        assert_eq!(change.available(), 0);
        assert!(LevelChange::between(level(1, 1, 0, 0), level(1, 1, 0, 0)).is_empty());
    }

    proptest! {
        #[test]
        fn replaying_any_walk_of_levels_from_zero_gives_the_last(
            steps in proptest::collection::vec((0u32..50, 0u32..50, 0u32..50, 0u32..50), 1..50),
        ) {
            let mut before = StockLevel::default();
            let mut movements = Vec::new();
            for (version, (on_hand, reserved, set_aside, backordered)) in (1u64..).zip(steps) {
                let after = level(on_hand, reserved, set_aside, backordered);
                movements.push(movement(before, after, version));
                before = after;
            }
            movements.reverse();
            prop_assert_eq!(replay(&movements), Some(before));
            // A change recorded twice no longer adds up, or adds up to
            // something else.
            let doubled = movements[0].clone();
            movements.push(doubled);
            prop_assert!(
                replay(&movements) != Some(before)
                    || movements[0].change.is_empty()
            );
        }
    }

    #[test]
    fn low_stock_is_raised_once_per_fall_and_armed_again_above_the_threshold() {
        let low = Some(LowStock { threshold: 5 });
        let at = |available: u32| (level(available, 0, 0, 0), low);
        let falls: Vec<bool> = [10, 6, 5, 4, 0, 3, 5, 6, 5, 2]
            .windows(2)
            .map(|pair| LowStock::crossed(at(pair[0]), at(pair[1])))
            .collect();
        assert_eq!(
            falls,
            [false, true, false, false, false, false, false, true, false]
        );
    }

    #[test]
    fn a_threshold_set_above_the_level_is_a_fall_and_removing_it_is_not() {
        let stock = level(3, 0, 0, 0);
        let set = Some(LowStock { threshold: 5 });
        assert!(LowStock::crossed((stock, None), (stock, set)));
        assert!(!LowStock::crossed((stock, set), (stock, None)));
        assert!(!LowStock::crossed(
            (stock, None),
            (stock, Some(LowStock { threshold: 2 }))
        ));
    }

    #[test]
    fn reserved_and_set_aside_units_are_not_available_for_low_stock() {
        let low = LowStock { threshold: 5 };
        assert!(low.is_low(level(10, 3, 2, 2)));
        assert!(!low.is_low(level(10, 3, 1, 2)));
    }

    #[test]
    fn causes_read_back_from_their_names() {
        for cause in MovementCause::ALL {
            assert_eq!(MovementCause::parse(cause.as_str()), Some(cause));
        }
        assert_eq!(MovementCause::parse("stolen"), None);
    }
}
