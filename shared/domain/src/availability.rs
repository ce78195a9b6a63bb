//! What a storefront shows about a SKU: whether it is in stock, how many
//! units (capped, so a competitor cannot read the shop's levels), and
//! whether and until when it can be backordered, per warehouse and
//! overall. Computed from the levels and settings alone.

use crate::{BackorderOffer, BackorderSettings, StockLevel, Timestamp, WarehouseId};

/// Above this many units a storefront shows "10+", not the count.
pub const DISPLAY_CAP: u32 = 10;

/// One warehouse's stock of a SKU, with its backorder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseStock {
    pub warehouse: WarehouseId,
    pub level: StockLevel,
    pub settings: BackorderSettings,
}

/// A count as a storefront shows it: the units up to [`DISPLAY_CAP`], and
/// whether there are more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub quantity: u32,
    pub more: bool,
}

impl Shown {
    pub fn of(units: u64) -> Self {
        Self {
            quantity: u32::try_from(units.min(u64::from(DISPLAY_CAP))).unwrap_or(DISPLAY_CAP),
            more: units > u64::from(DISPLAY_CAP),
        }
    }

    /// "0" to "10", or "10+".
    pub fn display(self) -> String {
        if self.more {
            format!("{}+", self.quantity)
        } else {
            self.quantity.to_string()
        }
    }
}

/// Whether units can be bought to wait for stock, how many more, and when
/// stock is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackorderOutlook {
    pub allowed: bool,
    pub remaining_capacity: u64,
    pub estimated_restock: Option<Timestamp>,
}

impl BackorderOutlook {
    fn of(offer: BackorderOffer) -> Self {
        Self {
            allowed: offer.allowed,
            remaining_capacity: u64::from(offer.remaining_capacity),
            estimated_restock: offer.allowed.then_some(offer.estimated_restock),
        }
    }

    /// Whole days from `now` until the estimated restock (0 when due today).
    pub fn days_until_restock(&self, now: Timestamp) -> Option<u64> {
        self.estimated_restock.map(|restock| {
            restock
                .as_millis()
                .saturating_sub(now.as_millis())
                .div_ceil(86_400_000)
        })
    }
}

/// One warehouse as a storefront sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseAvailability {
    pub warehouse: WarehouseId,
    pub available: Shown,
    pub backorder: BackorderOutlook,
}

/// The SKU as a storefront sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub in_stock: bool,
    pub available: Shown,
    /// Overall: allowed where any warehouse allows it, the capacity of all
    /// of them, the earliest restock of those that can still take units.
    pub backorder: BackorderOutlook,
    pub warehouses: Vec<WarehouseAvailability>,
}

impl Availability {
    /// From each warehouse's stock, in the shop's priority order.
    pub fn of(stocks: &[WarehouseStock], now: Timestamp) -> Self {
        let warehouses: Vec<WarehouseAvailability> = stocks
            .iter()
            .map(|stock| WarehouseAvailability {
                warehouse: stock.warehouse.clone(),
                available: Shown::of(u64::from(stock.level.available())),
                backorder: BackorderOutlook::of(stock.settings.offer(stock.level.backordered, now)),
            })
            .collect();
        let units: u64 = stocks
            .iter()
            .map(|stock| u64::from(stock.level.available()))
            .sum();
        let allowing = || warehouses.iter().filter(|w| w.backorder.allowed);
        let with_room = || allowing().filter(|w| w.backorder.remaining_capacity > 0);
        let earliest = with_room()
            .filter_map(|w| w.backorder.estimated_restock)
            .min()
            .or_else(|| {
                allowing()
                    .filter_map(|w| w.backorder.estimated_restock)
                    .min()
            });
        Self {
            in_stock: units > 0,
            available: Shown::of(units),
            backorder: BackorderOutlook {
                allowed: allowing().next().is_some(),
                remaining_capacity: allowing().map(|w| w.backorder.remaining_capacity).sum(),
                estimated_restock: earliest,
            },
            warehouses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);
    const DAY: u64 = 86_400;

    fn stock(code: &str, available: u32, settings: BackorderSettings) -> WarehouseStock {
        WarehouseStock {
            warehouse: WarehouseId::parse(code).unwrap(),
            level: StockLevel::on_hand(available),
            settings,
        }
    }

    fn backorders(max: u32, days: u32) -> BackorderSettings {
        BackorderSettings {
            allow_backorder: true,
            max_backorder_quantity: max,
            estimated_restock_days: days,
            estimated_restock_date: None,
        }
    }

    #[test]
    fn counts_above_the_cap_are_shown_as_the_cap_and_more() {
        assert_eq!(Shown::of(0).display(), "0");
        assert_eq!(Shown::of(10).display(), "10");
        assert_eq!(Shown::of(11).display(), "10+");
        assert_eq!(
            Shown::of(u64::MAX),
            Shown {
                quantity: 10,
                more: true
            }
        );
    }

    #[test]
    fn stock_anywhere_is_in_stock_and_counts_add_up_before_the_cap() {
        let seen = Availability::of(
            &[
                stock("NORTH", 0, BackorderSettings::default()),
                stock("SOUTH", 7, BackorderSettings::default()),
                stock("EAST", 5, BackorderSettings::default()),
            ],
            NOW,
        );
        assert!(seen.in_stock);
        assert_eq!(seen.available.display(), "10+");
        assert_eq!(seen.warehouses[0].available.display(), "0");
        assert!(!seen.backorder.allowed);
        assert_eq!(seen.backorder.estimated_restock, None);
    }

    #[test]
    fn units_reserved_or_owed_to_the_queue_are_not_available() {
        let held = WarehouseStock {
            level: StockLevel {
                on_hand: 5,
                reserved: 3,
                set_aside: 2,
                backordered: 2,
            },
            ..stock("NORTH", 0, BackorderSettings::default())
        };
        let seen = Availability::of(&[held], NOW);
        assert!(!seen.in_stock);
        assert_eq!(seen.available.quantity, 0);
    }

    #[test]
    fn the_overall_restock_is_the_earliest_where_units_can_still_wait() {
        let full = WarehouseStock {
            level: StockLevel {
                backordered: 5,
                ..StockLevel::default()
            },
            ..stock("NORTH", 0, backorders(5, 3))
        };
        let seen = Availability::of(
            &[
                full,
                stock("SOUTH", 0, backorders(20, 10)),
                stock("EAST", 0, BackorderSettings::default()),
            ],
            NOW,
        );
        assert!(!seen.in_stock);
        assert!(seen.backorder.allowed);
        assert_eq!(seen.backorder.remaining_capacity, 20);
        assert_eq!(
            seen.backorder.estimated_restock,
            Some(NOW.plus_secs(10 * DAY))
        );
        assert_eq!(seen.backorder.days_until_restock(NOW), Some(10));
        assert_eq!(seen.warehouses[0].backorder.remaining_capacity, 0);
        assert_eq!(
            seen.warehouses[0].backorder.days_until_restock(NOW),
            Some(3)
        );
        assert!(!seen.warehouses[2].backorder.allowed);
        assert_eq!(seen.warehouses[2].backorder.estimated_restock, None);
    }

    #[test]
    fn a_full_queue_everywhere_still_says_when_stock_comes() {
        let full = |code, days| WarehouseStock {
            level: StockLevel {
                backordered: 1,
                ..StockLevel::default()
            },
            ..stock(code, 0, backorders(1, days))
        };
        let seen = Availability::of(&[full("NORTH", 9), full("SOUTH", 4)], NOW);
        assert_eq!(seen.backorder.remaining_capacity, 0);
        assert_eq!(seen.backorder.days_until_restock(NOW), Some(4));
    }

    #[test]
    fn a_partial_day_counts_as_a_day() {
        let outlook = BackorderOutlook {
            allowed: true,
            remaining_capacity: 1,
            estimated_restock: Some(NOW.plus_secs(DAY + 1)),
        };
        assert_eq!(outlook.days_until_restock(NOW), Some(2));
    }
}
