//! Changes staff make to a SKU's stock by hand: units received, a count
//! corrected, units moved between warehouses. Each reads the levels it
//! touches and gives the levels it leaves; the store writes them on the
//! versions read, all or none. Units that become available in a warehouse
//! go to its backorder queue first, whatever brought them.

use crate::{AdjustReason, MovementCause, StockError, StockLevel, WarehouseId};

/// One change staff make to a SKU's stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockMove {
    /// Units received into a warehouse.
    Restock {
        warehouse: WarehouseId,
        received: u32,
    },
    /// A count corrected by `delta` units (signed), for a reason.
    Adjust {
        warehouse: WarehouseId,
        delta: i64,
        reason: AdjustReason,
    },
    /// Units nobody holds, moved from one warehouse to another.
    Transfer {
        from: WarehouseId,
        to: WarehouseId,
        quantity: u32,
    },
}

/// What a move did to one warehouse's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub warehouse: WarehouseId,
    pub before: StockLevel,
    pub after: StockLevel,
    pub cause: MovementCause,
}

impl Moved {
    /// Units this change set aside for the warehouse's backorder queue.
    pub fn set_aside(&self) -> u32 {
        self.after.set_aside.saturating_sub(self.before.set_aside)
    }
}

/// Why a move cannot be made; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// Fewer units nobody holds than the move takes out of `warehouse`
    /// (its `level` as read).
    #[error("{warehouse}: {requested} units cannot leave, only {} are free", level.available())]
    Short {
        warehouse: WarehouseId,
        requested: u32,
        level: StockLevel,
    },
    #[error("the stock level would exceed the maximum")]
    Overflow,
    #[error("a transfer needs two different warehouses")]
    SameWarehouse,
    #[error("{reason} cannot change the count by {delta}")]
    ReasonMismatch { reason: &'static str, delta: i64 },
}

impl StockMove {
    /// The warehouses whose levels the move reads and writes, in order.
    pub fn warehouses(&self) -> Vec<&WarehouseId> {
        match self {
            Self::Restock { warehouse, .. } | Self::Adjust { warehouse, .. } => vec![warehouse],
            Self::Transfer { from, to, .. } => vec![from, to],
        }
    }

    /// The levels the move leaves, from the levels it read (`level` of a
    /// warehouse that never held the SKU is empty).
    pub fn apply(
        &self,
        level: impl Fn(&WarehouseId) -> StockLevel,
    ) -> Result<Vec<Moved>, MoveError> {
        match self {
            Self::Restock {
                warehouse,
                received,
            } => Ok(vec![moved(
                warehouse,
                level(warehouse),
                MovementCause::Restocked,
                |l| l.restock(*received),
            )?]),
            Self::Adjust {
                warehouse,
                delta,
                reason,
            } => {
                if !reason.allows(*delta) {
                    return Err(MoveError::ReasonMismatch {
                        reason: reason.as_str(),
                        delta: *delta,
                    });
                }
                Ok(vec![moved(
                    warehouse,
                    level(warehouse),
                    MovementCause::Adjusted,
                    |l| l.adjust(*delta),
                )?])
            }
            Self::Transfer { from, to, quantity } => {
                if from == to {
                    return Err(MoveError::SameWarehouse);
                }
                Ok(vec![
                    moved(from, level(from), MovementCause::TransferOut, |l| {
                        l.take_out(*quantity)
                    })?,
                    moved(to, level(to), MovementCause::TransferIn, |l| {
                        l.restock(*quantity)
                    })?,
                ])
            }
        }
    }
}

fn moved(
    warehouse: &WarehouseId,
    before: StockLevel,
    cause: MovementCause,
    change: impl FnOnce(StockLevel) -> Result<StockLevel, StockError>,
) -> Result<Moved, MoveError> {
    let after = change(before).map_err(|error| match error {
        StockError::Insufficient { requested, .. } => MoveError::Short {
            warehouse: warehouse.clone(),
            requested,
            level: before,
        },
        // Nothing else can refuse units received or taken out: a sum past
        // the maximum is all that is left.
        _ => MoveError::Overflow,
    })?;
    Ok(Moved {
        warehouse: warehouse.clone(),
        before,
        after,
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wh(name: &str) -> WarehouseId {
        WarehouseId::parse(name).unwrap()
    }

    /// NORTH: 10 on hand, 4 reserved, 2 set aside of 5 backordered;
    /// SOUTH: 3 on hand, nothing held.
    fn levels(warehouse: &WarehouseId) -> StockLevel {
        match warehouse.as_str() {
            "NORTH" => StockLevel {
                on_hand: 10,
                reserved: 4,
                set_aside: 2,
                backordered: 5,
            },
            "SOUTH" => StockLevel::on_hand(3),
            _ => StockLevel::default(),
        }
    }

    #[test]
    fn a_transfer_moves_only_free_units_and_the_queue_there_takes_them_first() {
        let owed_south = |warehouse: &WarehouseId| match warehouse.as_str() {
            "SOUTH" => StockLevel {
                backordered: 2,
                ..StockLevel::on_hand(0)
            },
            _ => levels(warehouse),
        };
        let transfer = StockMove::Transfer {
            from: wh("NORTH"),
            to: wh("SOUTH"),
            quantity: 4,
        };
        let moved = transfer.apply(owed_south).unwrap();
        assert_eq!(moved[0].cause, MovementCause::TransferOut);
        assert_eq!(moved[0].after.on_hand, 6);
        assert_eq!(
            (moved[0].after.reserved, moved[0].after.set_aside),
            (4, 2),
            "nothing held leaves"
        );
        assert_eq!(moved[1].cause, MovementCause::TransferIn);
        assert_eq!(
            (moved[1].after.on_hand, moved[1].set_aside()),
            (4, 2),
            "the queue at SOUTH is owed 2"
        );
        assert_eq!(moved[1].after.available(), 2);

        let too_many = StockMove::Transfer {
            from: wh("NORTH"),
            to: wh("SOUTH"),
            quantity: 5,
        };
        assert_eq!(
            too_many.apply(levels),
            Err(MoveError::Short {
                warehouse: wh("NORTH"),
                requested: 5,
                level: levels(&wh("NORTH")),
            })
        );
    }

    #[test]
    fn a_transfer_needs_two_warehouses() {
        let to_itself = StockMove::Transfer {
            from: wh("NORTH"),
            to: wh("NORTH"),
            quantity: 1,
        };
        assert_eq!(to_itself.apply(levels), Err(MoveError::SameWarehouse));
    }

    #[test]
    fn an_adjustment_never_goes_below_what_is_held() {
        let lost = |delta| StockMove::Adjust {
            warehouse: wh("NORTH"),
            delta,
            reason: AdjustReason::Lost,
        };
        let moved = lost(-4).apply(levels).unwrap();
        assert_eq!(moved[0].after.on_hand, 6);
        assert_eq!(moved[0].cause, MovementCause::Adjusted);
        assert!(matches!(
            lost(-5).apply(levels),
            Err(MoveError::Short { .. })
        ));
        assert_eq!(
            lost(3).apply(levels),
            Err(MoveError::ReasonMismatch {
                reason: "lost",
                delta: 3
            })
        );
    }

    #[test]
    fn units_found_or_received_go_to_the_queue_first() {
        let found = StockMove::Adjust {
            warehouse: wh("NORTH"),
            delta: 5,
            reason: AdjustReason::CountCorrection,
        };
        let moved = found.apply(levels).unwrap();
        assert_eq!(moved[0].set_aside(), 3);
        assert_eq!(moved[0].after.available(), 6);

        let restock = StockMove::Restock {
            warehouse: wh("EAST"),
            received: 7,
        };
        let moved = restock.apply(levels).unwrap();
        assert_eq!(moved[0].before, StockLevel::default());
        assert_eq!(moved[0].after, StockLevel::on_hand(7));
        assert_eq!(moved[0].cause, MovementCause::Restocked);
    }

    #[test]
    fn a_count_past_the_maximum_is_refused() {
        let full = |_: &WarehouseId| StockLevel::on_hand(u32::MAX);
        let restock = StockMove::Restock {
            warehouse: wh("NORTH"),
            received: 1,
        };
        assert_eq!(restock.apply(full), Err(MoveError::Overflow));
    }
}
