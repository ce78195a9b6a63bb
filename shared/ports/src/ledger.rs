//! The stock ledger: every stock write names its cause on the stock item
//! (the domain's `MovementNote`), and stock-ledger turns each change the
//! table's stream shows into a movement, raising `inventory.low_stock` on
//! the way down and `inventory.available_again` when units come back. The stream holds every change of an item in order, and a
//! movement is keyed by the version its change made, so each change is
//! recorded exactly once however often the stream delivers it.

use crate::{OutboxEvent, Page, StoreError};
use async_trait::async_trait;
use shopflow_domain::events::{DomainEvent, InventoryAvailableAgain, InventoryLowStock};
use shopflow_domain::movement::LevelChange;
use shopflow_domain::{
    LowStock, Movement, MovementCause, MovementNote, Sku, StockLevel, Timestamp, WarehouseId,
};
use ulid::Ulid;

/// One stock item's change, as the table's stream shows it: the item
/// before (absent for a new item) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockChange {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    /// The version the change made.
    pub version: u64,
    pub before: StockLevel,
    pub after: StockLevel,
    pub low_before: Option<LowStock>,
    pub low_after: Option<LowStock>,
    /// The note the write left: `None` when it left none (its note is the
    /// one before), which is a write that forgot to say why.
    pub note: Option<MovementNote>,
    /// When the stream saw the change.
    pub seen_at: Timestamp,
}

impl StockChange {
    /// The movement it makes, unless no unit moved (a settings change).
    pub fn movement(&self) -> Option<Movement> {
        let movement = self.settings_movement();
        (!movement.change.is_empty()).then_some(movement)
    }

    /// The movement even when no unit moved: the record a settings change
    /// that made the stock low leaves, for its event to ride on.
    pub fn settings_movement(&self) -> Movement {
        Movement {
            sku: self.sku.clone(),
            warehouse: self.warehouse.clone(),
            version: self.version,
            note: self.recorded_note(),
            change: LevelChange::between(self.before, self.after),
            after: self.after,
        }
    }

    /// The note the write left, or, when it left none, an `unexplained`
    /// one at the time the stream saw the change: a defect recorded, never
    /// lost.
    fn recorded_note(&self) -> MovementNote {
        self.note.clone().unwrap_or_else(|| MovementNote {
            cause: MovementCause::Unexplained,
            reference: String::new(),
            at: self.seen_at,
        })
    }

    /// `inventory.low_stock`, when this change made the stock low.
    pub fn low_stock(&self, id: Ulid) -> Option<OutboxEvent> {
        let threshold = self.low_after?;
        if !LowStock::crossed((self.before, self.low_before), (self.after, self.low_after)) {
            return None;
        }
        let note = self.recorded_note();
        Some(OutboxEvent {
            id,
            occurred_at: note.at,
            event: DomainEvent::InventoryLowStock(InventoryLowStock {
                sku: self.sku.clone(),
                warehouse: self.warehouse.clone(),
                threshold: threshold.threshold,
                available: self.after.available(),
                on_hand: self.after.on_hand,
                reserved: self.after.reserved,
                set_aside: self.after.set_aside,
                cause: note.cause,
                version: self.version,
            }),
        })
    }

    /// `inventory.available_again`, when this change gave a warehouse that
    /// had no unit free some to sell.
    pub fn available_again(&self, id: Ulid) -> Option<OutboxEvent> {
        if self.before.available() > 0 || self.after.available() == 0 {
            return None;
        }
        let note = self.recorded_note();
        Some(OutboxEvent {
            id,
            occurred_at: note.at,
            event: DomainEvent::InventoryAvailableAgain(InventoryAvailableAgain {
                sku: self.sku.clone(),
                warehouse: self.warehouse.clone(),
                available: self.after.available(),
                cause: note.cause,
                version: self.version,
            }),
        })
    }
}

/// Which movements of a SKU to list: oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementQuery {
    pub sku: Sku,
    pub warehouse: Option<WarehouseId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Where the previous page ended (its `next`).
    pub after: Option<MovementCursor>,
    pub limit: u16,
}

/// A movement's place in its SKU's ledger: when, where, which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementCursor {
    pub at: Timestamp,
    pub warehouse: WarehouseId,
    pub version: u64,
}

impl MovementCursor {
    pub fn of(movement: &Movement) -> Self {
        Self {
            at: movement.note.at,
            warehouse: movement.warehouse.clone(),
            version: movement.version,
        }
    }

    /// `<at ms>.<warehouse>.<version>`, as [`MovementCursor::parse`] reads it.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.at.as_millis(),
            self.warehouse,
            self.version
        )
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (at, rest) = raw.split_once('.')?;
        let (warehouse, version) = rest.rsplit_once('.')?;
        Some(Self {
            at: Timestamp::from_millis(at.parse().ok()?),
            warehouse: WarehouseId::parse(warehouse).ok()?,
            version: version.parse().ok()?,
        })
    }
}

/// What recording a movement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Now,
    /// The movement of that version was recorded before: the stream
    /// delivered its change again.
    Before,
}

#[async_trait]
pub trait StockLedger: Send + Sync {
    /// Keeps `movement` once, carrying `event` (published with it) when
    /// one is given.
    async fn record_movement(
        &self,
        movement: &Movement,
        event: Option<&OutboxEvent>,
    ) -> Result<Recorded, StoreError>;

    /// A page of a SKU's movements, oldest first.
    async fn movements(
        &self,
        query: &MovementQuery,
    ) -> Result<Page<Movement, MovementCursor>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_anything_else_is_refused() {
        let cursor = MovementCursor {
            at: Timestamp::from_millis(1_765_000_000_123),
            warehouse: WarehouseId::parse("WH-NORTH.2").unwrap(),
            version: 42,
        };
        assert_eq!(MovementCursor::parse(&cursor.encode()), Some(cursor));
        for bad in ["", "1.2", "x.WH.1", "1.WH.x", "1.#.1", "1..1"] {
            assert_eq!(MovementCursor::parse(bad), None, "{bad}");
        }
    }
}
