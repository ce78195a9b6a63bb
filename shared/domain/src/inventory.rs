//! Stock of one SKU in one warehouse, and the fairness rule of its backorder
//! queue. Units are never created or lost: after every operation
//! `on_hand = available + reserved + set_aside`. `backordered` counts units
//! customers bought that are not here yet; while the queue is owed units
//! (`backordered > set_aside`), every unit that becomes available is set
//! aside for it first, in the same change that makes it available, so no
//! new checkout can take it (docs/backorders.md).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub on_hand: u32,
    pub reserved: u32,
    /// Units here that the backorder queue is owed, not allocated yet.
    #[serde(default)]
    pub set_aside: u32,
    /// Open backordered units: bought, waiting for stock.
    #[serde(default)]
    pub backordered: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("only {available} available, {requested} requested")]
    Insufficient { requested: u32, available: u32 },
    #[error("cannot release {requested}: only {reserved} reserved")]
    ReleaseExceedsReserved { requested: u32, reserved: u32 },
    #[error("stock level would exceed the maximum")]
    Overflow,
    #[error("only {remaining} more units may be backordered, {requested} requested")]
    BackorderLimit { requested: u32, remaining: u32 },
    #[error("cannot allocate {requested}: only {set_aside} set aside")]
    AllocationExceedsSetAside { requested: u32, set_aside: u32 },
    #[error("cannot take {requested} out of the queue: only {backordered} backordered")]
    CancelExceedsBackordered { requested: u32, backordered: u32 },
}

impl StockLevel {
    /// Stock with nothing reserved, set aside or backordered.
    pub const fn on_hand(on_hand: u32) -> Self {
        Self {
            on_hand,
            reserved: 0,
            set_aside: 0,
            backordered: 0,
        }
    }

    /// Units that can still be promised to a customer.
    pub fn available(self) -> u32 {
        self.on_hand
            .saturating_sub(self.reserved)
            .saturating_sub(self.set_aside)
    }

    /// Backordered units the queue still waits for: not set aside yet.
    pub fn owed(self) -> u32 {
        self.backordered.saturating_sub(self.set_aside)
    }

    pub fn can_fill(self, requested: u32) -> bool {
        self.available() >= requested
    }

    pub fn reserve(self, requested: u32) -> Result<Self, StockError> {
        if !self.can_fill(requested) {
            return Err(StockError::Insufficient {
                requested,
                available: self.available(),
            });
        }
        Ok(Self {
            reserved: self.reserved + requested,
            ..self
        })
    }

    /// `units` that become available again are set aside for the queue
    /// first, as far as it is owed.
    fn freed(self, units: u32) -> Self {
        Self {
            set_aside: self.set_aside + units.min(self.owed()),
            ..self
        }
    }

    /// Reserved units handed back (a cancelled or lapsed order); the queue
    /// takes what it is owed.
    pub fn release(self, requested: u32) -> Result<Self, StockError> {
        let reserved =
            self.reserved
                .checked_sub(requested)
                .ok_or(StockError::ReleaseExceedsReserved {
                    requested,
                    reserved: self.reserved,
                })?;
        Ok(Self { reserved, ..self }.freed(requested))
    }

    /// Units received; the queue takes what it is owed.
    pub fn restock(self, received: u32) -> Result<Self, StockError> {
        let on_hand = self
            .on_hand
            .checked_add(received)
            .ok_or(StockError::Overflow)?;
        Ok(Self { on_hand, ..self }.freed(received))
    }

    /// Staff's correction of the count by `delta` units: units found are
    /// received (the queue takes what it is owed); units written off can
    /// only be ones nobody holds, neither reserved nor set aside.
    pub fn adjust(self, delta: i64) -> Result<Self, StockError> {
        let units = u32::try_from(delta.unsigned_abs()).map_err(|_| StockError::Overflow)?;
        if delta >= 0 {
            self.restock(units)
        } else {
            self.take_out(units)
        }
    }

    /// Units that leave the warehouse without a sale (written off, or sent
    /// to another warehouse): only units nobody holds.
    pub fn take_out(self, units: u32) -> Result<Self, StockError> {
        if units > self.available() {
            return Err(StockError::Insufficient {
                requested: units,
                available: self.available(),
            });
        }
        Ok(Self {
            on_hand: self.on_hand - units,
            ..self
        })
    }

    /// `requested` more units bought to wait in the queue, within `limit`
    /// open backordered units.
    pub fn backorder(self, requested: u32, limit: u32) -> Result<Self, StockError> {
        let remaining = limit.saturating_sub(self.backordered);
        if requested > remaining {
            return Err(StockError::BackorderLimit {
                requested,
                remaining,
            });
        }
        Ok(Self {
            backordered: self.backordered + requested,
            ..self
        })
    }

    /// Set-aside units given to a backorder: they become its order's
    /// reservation, and the queue is owed that many fewer.
    pub fn allocate(self, units: u32) -> Result<Self, StockError> {
        if units > self.set_aside || units > self.backordered {
            return Err(StockError::AllocationExceedsSetAside {
                requested: units,
                set_aside: self.set_aside,
            });
        }
        Ok(Self {
            set_aside: self.set_aside - units,
            backordered: self.backordered - units,
            reserved: self.reserved + units,
            ..self
        })
    }

    /// A backorder's open units leave the queue: set-aside units the queue
    /// is no longer owed become available again.
    pub fn cancel_backorder(self, open: u32) -> Result<Self, StockError> {
        let backordered =
            self.backordered
                .checked_sub(open)
                .ok_or(StockError::CancelExceedsBackordered {
                    requested: open,
                    backordered: self.backordered,
                })?;
        Ok(Self {
            backordered,
            set_aside: self.set_aside.min(backordered),
            ..self
        })
    }
}

/// Why staff correct a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    /// Units found that no restock recorded.
    Received,
    Damaged,
    Lost,
    /// A stock take found another number: up or down.
    CountCorrection,
    /// Units a customer sent back, fit to sell again.
    Returned,
}

impl AdjustReason {
    pub const ALL: [AdjustReason; 5] = [
        Self::Received,
        Self::Damaged,
        Self::Lost,
        Self::CountCorrection,
        Self::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Damaged => "damaged",
            Self::Lost => "lost",
            Self::CountCorrection => "count_correction",
            Self::Returned => "returned",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == raw)
    }

    /// Whether a change of `delta` units can have this reason: units are
    /// received or returned, damaged or lost units go, a count moves
    /// either way. Never zero.
    pub fn allows(self, delta: i64) -> bool {
        match self {
            Self::Received | Self::Returned => delta > 0,
            Self::Damaged | Self::Lost => delta < 0,
            Self::CountCorrection => delta != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Reserve(u32),
        Release(u32),
        Restock(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..50).prop_map(Op::Reserve),
            (0u32..50).prop_map(Op::Release),
            (0u32..50).prop_map(Op::Restock),
        ]
    }

    proptest! {
        #[test]
        fn any_sequence_keeps_reserved_within_on_hand_and_conserves_units(
            start in 0u32..100,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let mut level = StockLevel::on_hand(start);
            let (mut received, mut reserved, mut released) = (0u64, 0u64, 0u64);
            for op in ops {
                let result = match op {
                    Op::Reserve(n) => level.reserve(n).inspect(|_| reserved += u64::from(n)),
                    Op::Release(n) => level.release(n).inspect(|_| released += u64::from(n)),
                    Op::Restock(n) => level.restock(n).inspect(|_| received += u64::from(n)),
                };
                if let Ok(next) = result {
                    level = next;
                }
                prop_assert!(level.on_hand >= level.reserved);
                prop_assert_eq!(u64::from(level.on_hand), u64::from(start) + received);
                prop_assert_eq!(u64::from(level.reserved), reserved - released);
                prop_assert_eq!(level.available() + level.reserved, level.on_hand);
            }
        }
    }

    #[test]
    fn reserving_more_than_available_reports_what_is_available() {
        let level = StockLevel {
            reserved: 3,
            ..StockLevel::on_hand(5)
        };
        assert_eq!(
            level.reserve(3),
            Err(StockError::Insufficient {
                requested: 3,
                available: 2
            })
        );
        assert_eq!(level.reserve(2).unwrap().available(), 0);
    }

    #[test]
    fn releasing_more_than_reserved_is_refused() {
        let level = StockLevel {
            reserved: 1,
            ..StockLevel::on_hand(5)
        };
        assert!(matches!(
            level.release(2),
            Err(StockError::ReleaseExceedsReserved { .. })
        ));
    }

    #[test]
    fn units_found_go_to_the_queue_first_and_only_free_units_are_written_off() {
        let owed = StockLevel {
            reserved: 2,
            backordered: 3,
            ..StockLevel::on_hand(4)
        };
        let found = owed.adjust(5).unwrap();
        assert_eq!(
            (found.on_hand, found.set_aside, found.available()),
            (9, 3, 4)
        );
        assert_eq!(
            found.adjust(-5),
            Err(StockError::Insufficient {
                requested: 5,
                available: 4
            })
        );
        let written_off = found.adjust(-4).unwrap();
        assert_eq!(
            (
                written_off.on_hand,
                written_off.reserved,
                written_off.set_aside
            ),
            (5, 2, 3)
        );
        assert_eq!(written_off.available(), 0);
    }

    #[test]
    fn a_reason_says_which_way_the_count_moves() {
        use AdjustReason as R;
        assert!(R::Received.allows(1) && !R::Received.allows(-1));
        assert!(R::Returned.allows(2) && !R::Returned.allows(0));
        assert!(R::Damaged.allows(-1) && !R::Damaged.allows(1));
        assert!(R::Lost.allows(-3) && !R::Lost.allows(3));
        assert!(R::CountCorrection.allows(-7) && R::CountCorrection.allows(7));
        assert!(!R::CountCorrection.allows(0));
        for reason in R::ALL {
            assert_eq!(R::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(R::parse("stolen"), None);
    }
}
