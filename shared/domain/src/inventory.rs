//! Stock of one SKU in one warehouse. Units are never created or lost:
//! `on_hand = available + reserved` after every operation, and `reserved`
//! never exceeds `on_hand`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub on_hand: u32,
    pub reserved: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("only {available} available, {requested} requested")]
    Insufficient { requested: u32, available: u32 },
    #[error("cannot release {requested}: only {reserved} reserved")]
    ReleaseExceedsReserved { requested: u32, reserved: u32 },
    #[error("stock level would exceed the maximum")]
    Overflow,
}

impl StockLevel {
    /// Units that can still be promised to a customer.
    pub fn available(self) -> u32 {
        self.on_hand.saturating_sub(self.reserved)
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

    pub fn release(self, requested: u32) -> Result<Self, StockError> {
        let reserved =
            self.reserved
                .checked_sub(requested)
                .ok_or(StockError::ReleaseExceedsReserved {
                    requested,
                    reserved: self.reserved,
                })?;
        Ok(Self { reserved, ..self })
    }

    pub fn restock(self, received: u32) -> Result<Self, StockError> {
        let on_hand = self
            .on_hand
            .checked_add(received)
            .ok_or(StockError::Overflow)?;
        Ok(Self { on_hand, ..self })
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
            let mut level = StockLevel { on_hand: start, reserved: 0 };
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
            on_hand: 5,
            reserved: 3,
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
            on_hand: 5,
            reserved: 1,
        };
        assert!(matches!(
            level.release(2),
            Err(StockError::ReleaseExceedsReserved { .. })
        ));
    }
}
