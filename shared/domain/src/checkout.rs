//! Checkout rules: what a valid cart is, how it is priced, which warehouse
//! reserves each line, and what of a short line waits in its backorder
//! queue.

use crate::backorder::{BackorderId, BackorderOffer, BackorderSettings};
use crate::ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
use crate::inventory::StockLevel;
use crate::money::{Currency, Money, MoneyError};
use crate::order::{LineBackorder, Order, OrderLine, OrderTotals, Product};
use crate::status::{FulfillmentStatus, OrderStatus};
use crate::time::Timestamp;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// The shop's checkout settings, read from configuration at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPolicy {
    /// Tax as basis points of the subtotal (placeholder until real tax rules exist).
    pub tax_rate_bps: u32,
    /// Flat shipping charge, in minor units of the order's currency.
    pub shipping_flat_minor: i64,
    /// Inclusive bounds on the grand total, in minor units.
    pub min_total_minor: i64,
    pub max_total_minor: i64,
    pub reservation_ttl_secs: u64,
    /// Warehouses in the order they are tried for each line.
    pub warehouses: Vec<WarehouseId>,
}

/// Stock levels and backorder settings of the SKU × warehouse pairs a cart
/// may draw on, as read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stock {
    pub levels: HashMap<(Sku, WarehouseId), StockLevel>,
    /// Pairs without an entry have the default settings (no backorders).
    pub backorder_settings: HashMap<(Sku, WarehouseId), BackorderSettings>,
}

impl Stock {
    pub fn level(&self, sku: &Sku, warehouse: &WarehouseId) -> StockLevel {
        self.levels
            .get(&(sku.clone(), warehouse.clone()))
            .copied()
            .unwrap_or_default()
    }

    pub fn settings(&self, sku: &Sku, warehouse: &WarehouseId) -> BackorderSettings {
        self.backorder_settings
            .get(&(sku.clone(), warehouse.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// What the warehouse offers for the units of `sku` it is short.
    fn offer(&self, sku: &Sku, warehouse: &WarehouseId, now: Timestamp) -> BackorderOffer {
        self.settings(sku, warehouse)
            .offer(self.level(sku, warehouse).backordered, now)
    }
}

/// A line the shop's warehouses cannot fill, even together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub sku: Sku,
    pub requested: u32,
    /// What all the warehouses together could fill.
    pub available: u32,
    /// The best backorder offer for the line: the first warehouse by
    /// priority that allows backorders (else the first warehouse).
    pub backorder: BackorderOffer,
    /// That warehouse (none only when the shop has no warehouses).
    pub warehouse: Option<WarehouseId>,
}

/// Units of one line in one warehouse: reserved there, and, when it was
/// short, the rest waiting in its backorder queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub quantity: Quantity,
    /// The backorder taking the units the warehouse is short; `None` when
    /// the line is reserved whole.
    pub backorder: Option<LineBackorder>,
}

impl Allocation {
    /// Units reserved now.
    pub fn reserved(&self) -> u32 {
        self.quantity.get() - self.backordered()
    }

    pub fn backordered(&self) -> u32 {
        self.backorder.map_or(0, |backorder| backorder.waiting)
    }
}

/// Whether the customer agreed to wait for units that are not in stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backorders {
    Accepted,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart has no lines")]
    EmptyCart,
    #[error("the cart has {lines} lines; at most {max} are allowed")]
    TooManyLines { lines: usize, max: usize },
    #[error("sku {0} appears on more than one line")]
    DuplicateSku(Sku),
    #[error("unknown sku(s): {}", join(.0))]
    UnknownSkus(Vec<Sku>),
    #[error("no longer for sale: {}", join(.0))]
    ProductsInactive(Vec<Sku>),
    #[error("sku {sku} is sold in {product_currency}, not in the cart's currency")]
    CurrencyMismatch {
        sku: Sku,
        product_currency: Currency,
    },
    #[error("the order total {total} is below the minimum of {minimum}")]
    TotalBelowMinimum { total: i64, minimum: i64 },
    #[error("the order total {total} is above the maximum of {maximum}")]
    TotalAboveMaximum { total: i64, maximum: i64 },
    #[error("not enough stock for {} line(s)", .0.len())]
    OutOfStock(Vec<Shortage>),
    /// Backorders were accepted and allowed, but the queue's limit cannot
    /// take the units short.
    #[error("the backorder limit cannot take {} line(s)", .0.len())]
    BackorderLimit(Vec<Shortage>),
    /// One checkout writes its order, a stock item per line and a queue
    /// item per backordered line in one transaction of at most 100 items,
    /// and a cancellation later undoes them in one too.
    #[error("{lines} lines with {backordered} backordered exceed {max} items; split the cart")]
    TooManyBackorders {
        lines: usize,
        backordered: usize,
        max: usize,
    },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

fn join(skus: &[Sku]) -> String {
    skus.iter().map(Sku::as_str).collect::<Vec<_>>().join(", ")
}

/// A checkout request whose shape is valid: 1..=50 lines, no SKU twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCheckout {
    lines: Vec<CartLine>,
    pub currency: Currency,
    pub email: Email,
    pub shipping_address: ShippingAddress,
    /// Refused unless the customer opted in.
    pub backorders: Backorders,
}

impl ValidatedCheckout {
    pub const MAX_LINES: usize = 50;

    pub fn new(
        lines: Vec<CartLine>,
        currency: Currency,
        email: Email,
        shipping_address: ShippingAddress,
    ) -> Result<Self, CheckoutError> {
        if lines.is_empty() {
            return Err(CheckoutError::EmptyCart);
        }
        if lines.len() > Self::MAX_LINES {
            return Err(CheckoutError::TooManyLines {
                lines: lines.len(),
                max: Self::MAX_LINES,
            });
        }
        let mut seen = HashSet::new();
        if let Some(line) = lines.iter().find(|line| !seen.insert(&line.sku)) {
            return Err(CheckoutError::DuplicateSku(line.sku.clone()));
        }
        Ok(Self {
            lines,
            currency,
            email,
            shipping_address,
            backorders: Backorders::Refused,
        })
    }

    /// The same checkout, the customer having said whether they wait for
    /// units not in stock.
    pub fn with_backorders(self, backorders: Backorders) -> Self {
        Self { backorders, ..self }
    }

    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    pub fn skus(&self) -> Vec<Sku> {
        self.lines.iter().map(|line| line.sku.clone()).collect()
    }
}

/// A cart with every line priced from the catalog, not yet placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub totals: OrderTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub line_total: Money,
}

impl CheckoutPolicy {
    /// Prices every line from the catalog and checks the total against the
    /// configured bounds.
    pub fn price(
        &self,
        checkout: &ValidatedCheckout,
        catalog: &HashMap<Sku, Product>,
    ) -> Result<PricedCart, CheckoutError> {
        let unknown: Vec<Sku> = checkout
            .skus()
            .into_iter()
            .filter(|sku| !catalog.contains_key(sku))
            .collect();
        if !unknown.is_empty() {
            return Err(CheckoutError::UnknownSkus(unknown));
        }
        let inactive: Vec<Sku> = checkout
            .skus()
            .into_iter()
            .filter(|sku| !catalog[sku].active)
            .collect();
        if !inactive.is_empty() {
            return Err(CheckoutError::ProductsInactive(inactive));
        }

        let currency = &checkout.currency;
        let mut lines = Vec::with_capacity(checkout.lines.len());
        let mut subtotal = Money::zero(currency.clone());
        for line in &checkout.lines {
            let product = &catalog[&line.sku];
            if &product.price.currency != currency {
                return Err(CheckoutError::CurrencyMismatch {
                    sku: line.sku.clone(),
                    product_currency: product.price.currency.clone(),
                });
            }
            let line_total = product.price.times(line.quantity.get())?;
            subtotal = subtotal.checked_add(&line_total)?;
            lines.push(PricedLine {
                sku: line.sku.clone(),
                name: product.name.clone(),
                quantity: line.quantity,
                unit_price: product.price.clone(),
                line_total,
            });
        }

        let tax = subtotal.percentage_bps(self.tax_rate_bps)?;
        let shipping = Money::new(self.shipping_flat_minor, currency.clone())?;
        let grand_total = subtotal.checked_add(&tax)?.checked_add(&shipping)?;
        if grand_total.minor < self.min_total_minor {
            return Err(CheckoutError::TotalBelowMinimum {
                total: grand_total.minor,
                minimum: self.min_total_minor,
            });
        }
        if grand_total.minor > self.max_total_minor {
            return Err(CheckoutError::TotalAboveMaximum {
                total: grand_total.minor,
                maximum: self.max_total_minor,
            });
        }
        Ok(PricedCart {
            lines,
            totals: OrderTotals {
                subtotal,
                tax,
                shipping,
                grand_total,
            },
        })
    }

    /// At most this many lines plus backordered lines: with the order, its
    /// history and a consumer's applied-event record, a cancellation that
    /// undoes them stays within one 100-item transaction.
    pub const MAX_LINES_AND_BACKORDERS: usize = 97;

    /// Picks, for each line, where its units come from (docs/inventory.md,
    /// "A line across warehouses"): the first warehouse by priority that
    /// can fill it whole; else the fewest warehouses that can fill it
    /// together, the earliest set by priority among those as few, each
    /// giving what it has in priority order and the last the rest. A line
    /// all of them together cannot fill is short: when the customer
    /// accepted backorders, the first warehouse whose queue can take what it
    /// is short reserves what it has and backorders the rest; otherwise the
    /// whole cart is refused, and every short line is reported with the
    /// best backorder offer for it. Each backorder is named by
    /// `backorder_id` and joins its queue at everyone's priority. One line
    /// may so give several allocations, one per warehouse.
    pub fn allocate(
        &self,
        lines: &[CartLine],
        stock: &Stock,
        backorders: Backorders,
        now: Timestamp,
        mut backorder_id: impl FnMut() -> BackorderId,
    ) -> Result<Vec<Allocation>, CheckoutError> {
        let mut allocations = Vec::with_capacity(lines.len());
        let mut shortages = Vec::new();
        for line in lines {
            match self.allocate_line(line, stock, backorders, now, &mut backorder_id) {
                Ok(parts) => allocations.extend(parts),
                Err(shortage) => shortages.push(shortage),
            }
        }
        if let Some(refusal) = Self::refusal(shortages, backorders) {
            return Err(refusal);
        }
        let backordered = allocations.iter().filter(|a| a.backorder.is_some()).count();
        if allocations.len() + backordered > Self::MAX_LINES_AND_BACKORDERS {
            return Err(CheckoutError::TooManyBackorders {
                lines: allocations.len(),
                backordered,
                max: Self::MAX_LINES_AND_BACKORDERS,
            });
        }
        Ok(allocations)
    }

    fn allocate_line(
        &self,
        line: &CartLine,
        stock: &Stock,
        backorders: Backorders,
        now: Timestamp,
        backorder_id: &mut impl FnMut() -> BackorderId,
    ) -> Result<Vec<Allocation>, Shortage> {
        let requested = line.quantity.get();
        let allocation = |warehouse: &WarehouseId, backorder| Allocation {
            sku: line.sku.clone(),
            warehouse: warehouse.clone(),
            quantity: line.quantity,
            backorder,
        };
        if let Some(warehouse) = self
            .warehouses
            .iter()
            .find(|wh| stock.level(&line.sku, wh).can_fill(requested))
        {
            return Ok(vec![allocation(warehouse, None)]);
        }
        if let Some(parts) = self.split(line, stock) {
            return Ok(parts);
        }
        let short_in = |wh: &WarehouseId| requested - stock.level(&line.sku, wh).available();
        if backorders == Backorders::Accepted {
            let taker = self.warehouses.iter().find_map(|wh| {
                let offer = stock.offer(&line.sku, wh, now);
                offer.takes(short_in(wh)).then_some((wh, offer))
            });
            if let Some((warehouse, offer)) = taker {
                let waiting = short_in(warehouse);
                let backorder = LineBackorder {
                    id: backorder_id(),
                    priority: 0,
                    quantity: waiting,
                    waiting,
                    cancelled: 0,
                    estimated_restock: offer.estimated_restock,
                };
                return Ok(vec![allocation(warehouse, Some(backorder))]);
            }
        }
        Err(self.shortage(line, stock, now))
    }

    /// The line across the fewest warehouses that together have its
    /// units, the earliest such set by priority; each gives what it has,
    /// in priority order, the last only the rest. `None` when even all of
    /// them together are short.
    fn split(&self, line: &CartLine, stock: &Stock) -> Option<Vec<Allocation>> {
        let requested = u64::from(line.quantity.get());
        let available: Vec<u64> = self
            .warehouses
            .iter()
            .map(|wh| u64::from(stock.level(&line.sku, wh).available()))
            .collect();
        let chosen = (2..=self.warehouses.len()).find_map(|count| {
            combinations(self.warehouses.len(), count)
                .find(|set| set.iter().map(|&i| available[i]).sum::<u64>() >= requested)
        })?;
        let mut left = requested;
        let mut parts = Vec::with_capacity(chosen.len());
        for index in chosen {
            let taken = left.min(available[index]);
            left -= taken;
            let quantity = Quantity::parse(u32::try_from(taken).ok()?).ok()?;
            parts.push(Allocation {
                sku: line.sku.clone(),
                warehouse: self.warehouses[index].clone(),
                quantity,
                backorder: None,
            });
        }
        Some(parts)
    }

    fn shortage(&self, line: &CartLine, stock: &Stock, now: Timestamp) -> Shortage {
        let available = |wh: &WarehouseId| stock.level(&line.sku, wh).available();
        let offering = self
            .warehouses
            .iter()
            .find(|wh| stock.settings(&line.sku, wh).allow_backorder)
            .or(self.warehouses.first());
        let backorder = match offering {
            Some(wh) => stock.offer(&line.sku, wh, now),
            None => BackorderSettings::default().offer(0, now),
        };
        Shortage {
            sku: line.sku.clone(),
            requested: line.quantity.get(),
            available: self
                .warehouses
                .iter()
                .map(|wh| u64::from(available(wh)))
                .sum::<u64>()
                .try_into()
                .unwrap_or(u32::MAX),
            backorder,
            warehouse: offering.cloned(),
        }
    }

    /// Why short lines refuse the cart: out of stock, unless backorders
    /// were accepted and every short line was offered them, and only the
    /// queues' limits stood in the way.
    fn refusal(shortages: Vec<Shortage>, backorders: Backorders) -> Option<CheckoutError> {
        if shortages.is_empty() {
            return None;
        }
        let all_offered = shortages.iter().all(|s| s.backorder.allowed);
        Some(if backorders == Backorders::Accepted && all_offered {
            CheckoutError::BackorderLimit(shortages)
        } else {
            CheckoutError::OutOfStock(shortages)
        })
    }

    /// The order a priced and allocated cart becomes, awaiting payment, with
    /// its reservations held until `now + reservation_ttl_secs`; it awaits
    /// stock while any line waits for its backorder.
    pub fn place_order(
        &self,
        id: OrderId,
        customer_id: CustomerId,
        checkout: ValidatedCheckout,
        priced: PricedCart,
        allocations: &[Allocation],
        now: Timestamp,
    ) -> Order {
        // Allocations follow the cart's lines, a split line's parts in a
        // row: each part is a line of the order at its warehouse.
        let mut parts = allocations.iter().peekable();
        let mut lines: Vec<OrderLine> = Vec::with_capacity(allocations.len());
        for line in priced.lines {
            while let Some(part) = parts.next_if(|part| part.sku == line.sku) {
                lines.push(OrderLine {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                    quantity: part.quantity,
                    unit_price: line.unit_price.clone(),
                    // Priced as the whole line was: a part's total is at
                    // most the line's, which fit.
                    line_total: Money {
                        minor: line.unit_price.minor * i64::from(part.quantity.get()),
                        currency: line.unit_price.currency.clone(),
                    },
                    warehouse: part.warehouse.clone(),
                    backorder: part.backorder,
                    shipped: 0,
                });
            }
        }
        let fulfillment_status = if lines.iter().any(|line| line.backordered() > 0) {
            FulfillmentStatus::AwaitingStock
        } else {
            FulfillmentStatus::Unfulfilled
        };
        Order {
            id,
            customer_id,
            status: OrderStatus::PendingPayment,
            fulfillment_status,
            currency: checkout.currency,
            lines,
            totals: priced.totals,
            email: checkout.email,
            shipping_address: checkout.shipping_address,
            created_at: now,
            reservation_expires_at: now.plus_secs(self.reservation_ttl_secs),
            payment: crate::payment::Payment::default(),
            version: 1,
        }
    }
}

/// The `count`-element subsets of `0..n`, each ascending, in
/// lexicographic order: by priority when indexes are priorities.
fn combinations(n: usize, count: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut next = (count <= n).then(|| (0..count).collect::<Vec<_>>());
    std::iter::from_fn(move || {
        let current = next.take()?;
        let mut following = current.clone();
        // The rightmost index that can still move right, moved, and the
        // ones after it packed behind it.
        if let Some(at) = (0..count).rev().find(|&i| following[i] < n - count + i) {
            following[at] += 1;
            for i in at + 1..count {
                following[i] = following[i - 1] + 1;
            }
            next = Some(following);
        }
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(code: &str) -> Sku {
        Sku::parse(code).unwrap()
    }

    fn wh(code: &str) -> WarehouseId {
        WarehouseId::parse(code).unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn line(code: &str, quantity: u32) -> CartLine {
        CartLine {
            sku: sku(code),
            quantity: Quantity::parse(quantity).unwrap(),
        }
    }

    fn address() -> ShippingAddress {
        ShippingAddress {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Way".into(),
            line2: None,
            city: "London".into(),
            region: None,
            postal_code: "N1 1AA".into(),
            country: "GB".into(),
        }
    }

    fn checkout(lines: Vec<CartLine>) -> Result<ValidatedCheckout, CheckoutError> {
        ValidatedCheckout::new(
            lines,
            eur(),
            Email::parse("ada@example.com").unwrap(),
            address(),
        )
    }

    fn policy() -> CheckoutPolicy {
        CheckoutPolicy {
            tax_rate_bps: 1_900,
            shipping_flat_minor: 500,
            min_total_minor: 100,
            max_total_minor: 1_000_000,
            reservation_ttl_secs: 900,
            warehouses: vec![wh("BER"), wh("HAM")],
        }
    }

    fn catalog(entries: &[(&str, i64, bool)]) -> HashMap<Sku, Product> {
        entries
            .iter()
            .map(|&(code, price, active)| {
                let product = Product {
                    sku: sku(code),
                    name: format!("Product {code}"),
                    price: Money::new(price, eur()).unwrap(),
                    active,
                };
                (sku(code), product)
            })
            .collect()
    }

    #[test]
    fn a_cart_needs_at_least_one_line_and_at_most_fifty() {
        assert_eq!(checkout(vec![]), Err(CheckoutError::EmptyCart));
        let many = (0..51).map(|i| line(&format!("SKU-{i}"), 1)).collect();
        assert!(matches!(
            checkout(many),
            Err(CheckoutError::TooManyLines { lines: 51, max: 50 })
        ));
    }

    #[test]
    fn a_sku_may_appear_on_only_one_line() {
        let result = checkout(vec![line("A", 1), line("B", 1), line("A", 2)]);
        assert_eq!(result, Err(CheckoutError::DuplicateSku(sku("A"))));
    }

    #[test]
    fn pricing_adds_line_totals_tax_and_flat_shipping() {
        let cart = checkout(vec![line("A", 2), line("B", 1)]).unwrap();
        let priced = policy()
            .price(&cart, &catalog(&[("A", 1_250, true), ("B", 999, true)]))
            .unwrap();
        assert_eq!(priced.lines[0].line_total.minor, 2_500);
        assert_eq!(priced.totals.subtotal.minor, 3_499);
        assert_eq!(priced.totals.tax.minor, 665); // 19% of 3499 = 664.81
        assert_eq!(priced.totals.shipping.minor, 500);
        assert_eq!(priced.totals.grand_total.minor, 3_499 + 665 + 500);
    }

    #[test]
    fn pricing_names_every_unknown_and_inactive_sku() {
        let cart = checkout(vec![line("A", 1), line("X", 1), line("Y", 1)]).unwrap();
        let result = policy().price(&cart, &catalog(&[("A", 100, true)]));
        assert_eq!(
            result,
            Err(CheckoutError::UnknownSkus(vec![sku("X"), sku("Y")]))
        );

        let result = policy().price(
            &cart,
            &catalog(&[("A", 100, false), ("X", 1, true), ("Y", 1, true)]),
        );
        assert_eq!(result, Err(CheckoutError::ProductsInactive(vec![sku("A")])));
    }

    #[test]
    fn pricing_refuses_a_product_sold_in_another_currency() {
        let cart = checkout(vec![line("A", 1)]).unwrap();
        let mut products = catalog(&[("A", 100, true)]);
        products.get_mut(&sku("A")).unwrap().price.currency = Currency::parse("USD").unwrap();
        assert!(matches!(
            policy().price(&cart, &products),
            Err(CheckoutError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn totals_outside_the_configured_bounds_are_refused() {
        let cheap = policy();
        let cart = checkout(vec![line("A", 1)]).unwrap();
        let high = CheckoutPolicy {
            min_total_minor: 10_000,
            ..cheap.clone()
        };
        assert!(matches!(
            high.price(&cart, &catalog(&[("A", 100, true)])),
            Err(CheckoutError::TotalBelowMinimum {
                total: 619,
                minimum: 10_000
            })
        ));
        let low = CheckoutPolicy {
            max_total_minor: 600,
            ..cheap
        };
        assert!(matches!(
            low.price(&cart, &catalog(&[("A", 100, true)])),
            Err(CheckoutError::TotalAboveMaximum { .. })
        ));
    }

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    /// Stock of (sku, warehouse, on hand, reserved).
    fn stock(levels: &[(&str, &str, u32, u32)]) -> Stock {
        Stock {
            levels: levels
                .iter()
                .map(|(code, warehouse, on_hand, reserved)| {
                    let level = StockLevel {
                        reserved: *reserved,
                        ..StockLevel::on_hand(*on_hand)
                    };
                    ((sku(code), wh(warehouse)), level)
                })
                .collect(),
            backorder_settings: HashMap::new(),
        }
    }

    /// Backorders allowed for `code` in `warehouse`, up to `max` open units.
    fn allowing(mut stock: Stock, code: &str, warehouse: &str, max: u32) -> Stock {
        stock.backorder_settings.insert(
            (sku(code), wh(warehouse)),
            BackorderSettings {
                allow_backorder: true,
                max_backorder_quantity: max,
                ..BackorderSettings::default()
            },
        );
        stock
    }

    fn backordered(mut stock: Stock, code: &str, warehouse: &str, units: u32) -> Stock {
        let key = (sku(code), wh(warehouse));
        let level = stock.levels.entry(key).or_default();
        level.backordered += units;
        level.set_aside = level.set_aside.min(level.backordered);
        stock
    }

    fn allocate(
        lines: &[CartLine],
        stock: &Stock,
        backorders: Backorders,
    ) -> Result<Vec<Allocation>, CheckoutError> {
        policy().allocate(lines, stock, backorders, NOW, || {
            BackorderId::from_ulid(ulid::Ulid::generate())
        })
    }

    #[test]
    fn allocation_takes_the_first_warehouse_by_priority_that_can_fill_the_line() {
        let stock = stock(&[("A", "BER", 1, 0), ("A", "HAM", 10, 0), ("B", "BER", 5, 0)]);
        let allocations =
            allocate(&[line("A", 2), line("B", 5)], &stock, Backorders::Refused).unwrap();
        assert_eq!(allocations[0].warehouse, wh("HAM"));
        assert_eq!(allocations[1].warehouse, wh("BER"));
        assert!(allocations.iter().all(|a| a.backorder.is_none()));
    }

    #[test]
    fn allocation_reports_every_line_all_warehouses_together_cannot_fill() {
        let stock = stock(&[("A", "BER", 2, 0), ("A", "HAM", 3, 2), ("B", "BER", 9, 0)]);
        let result = allocate(
            &[line("A", 4), line("B", 1), line("C", 1)],
            &stock,
            Backorders::Refused,
        );
        let Err(CheckoutError::OutOfStock(shortages)) = result else {
            panic!("{result:?}");
        };
        let short: Vec<_> = shortages
            .iter()
            .map(|s| {
                (
                    s.sku.as_str(),
                    s.requested,
                    s.available,
                    s.backorder.allowed,
                )
            })
            .collect();
        assert_eq!(short, [("A", 4, 3, false), ("C", 1, 0, false)]);
    }

    fn parts(allocations: &[Allocation]) -> Vec<(&str, &str, u32)> {
        allocations
            .iter()
            .map(|a| (a.sku.as_str(), a.warehouse.as_str(), a.quantity.get()))
            .collect()
    }

    #[test]
    fn a_line_no_warehouse_fills_alone_is_split_across_them() {
        let stock = stock(&[("A", "BER", 2, 0), ("A", "HAM", 3, 0), ("B", "HAM", 4, 0)]);

        let allocations =
            allocate(&[line("A", 5), line("B", 4)], &stock, Backorders::Refused).unwrap();

        assert_eq!(
            parts(&allocations),
            [("A", "BER", 2), ("A", "HAM", 3), ("B", "HAM", 4)]
        );
        assert!(allocations.iter().all(|a| a.backorder.is_none()));
    }

    #[test]
    fn a_split_takes_the_fewest_warehouses_then_the_first_by_priority() {
        let policy = CheckoutPolicy {
            warehouses: vec![wh("BER"), wh("HAM"), wh("MUC"), wh("KOE")],
            ..policy()
        };
        let split = |levels: &[(&str, &str, u32, u32)], units| {
            let allocations = policy
                .allocate(
                    &[line("A", units)],
                    &stock(levels),
                    Backorders::Refused,
                    NOW,
                    || BackorderId::from_ulid(ulid::Ulid::generate()),
                )
                .unwrap();
            parts(&allocations)
                .into_iter()
                .map(|(_, wh, units)| (wh.to_owned(), units))
                .collect::<Vec<_>>()
        };
        let owned = |parts: &[(&str, u32)]| {
            parts
                .iter()
                .map(|(wh, units)| ((*wh).to_owned(), *units))
                .collect::<Vec<_>>()
        };
        // Three small warehouses first by priority, one big one last: two
        // warehouses (BER and KOE) beat three (BER, HAM, MUC).
        let levels = [
            ("A", "BER", 2, 0),
            ("A", "HAM", 2, 0),
            ("A", "MUC", 2, 0),
            ("A", "KOE", 5, 0),
        ];
        assert_eq!(split(&levels, 6), owned(&[("BER", 2), ("KOE", 4)]));
        // As few either way: the first pair by priority, each giving what
        // it has in order and the last the rest.
        let levels = [("A", "BER", 3, 0), ("A", "HAM", 3, 0), ("A", "MUC", 9, 0)];
        assert_eq!(split(&levels, 10), owned(&[("BER", 3), ("MUC", 7)]));
        let levels = [("A", "BER", 3, 0), ("A", "HAM", 3, 0), ("A", "MUC", 4, 0)];
        assert_eq!(split(&levels, 5), owned(&[("BER", 3), ("HAM", 2)]));
    }

    #[test]
    fn a_split_line_becomes_one_order_line_per_warehouse_with_its_share_of_the_total() {
        let stock = stock(&[("A", "BER", 2, 0), ("A", "HAM", 3, 0)]);
        let checkout = checkout(vec![line("A", 5)]).unwrap();
        let priced = policy()
            .price(&checkout, &catalog(&[("A", 1_250, true)]))
            .unwrap();
        let allocations = allocate(checkout.lines(), &stock, Backorders::Refused).unwrap();

        let order = policy().place_order(
            OrderId::from_ulid(ulid::Ulid::generate()),
            CustomerId::parse("ada").unwrap(),
            checkout,
            priced,
            &allocations,
            NOW,
        );

        let lines: Vec<_> = order
            .lines
            .iter()
            .map(|l| (l.warehouse.as_str(), l.quantity.get(), l.line_total.minor))
            .collect();
        assert_eq!(lines, [("BER", 2, 2_500), ("HAM", 3, 3_750)]);
        assert_eq!(order.totals.subtotal.minor, 6_250);
    }

    #[test]
    fn combinations_come_in_priority_order() {
        let all: Vec<Vec<usize>> = combinations(4, 2).collect();
        assert_eq!(
            all,
            [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(Vec::from)
        );
        assert_eq!(combinations(3, 3).count(), 1);
        assert_eq!(combinations(2, 3).count(), 0);
    }

    #[test]
    fn units_set_aside_for_the_queue_are_not_available_to_checkout() {
        let mut stock = stock(&[("A", "BER", 5, 0)]);
        stock = backordered(stock, "A", "BER", 4);
        stock
            .levels
            .get_mut(&(sku("A"), wh("BER")))
            .unwrap()
            .set_aside = 4;

        let result = allocate(&[line("A", 2)], &stock, Backorders::Refused);

        let Err(CheckoutError::OutOfStock(shortages)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(shortages[0].available, 1);
    }

    #[test]
    fn a_short_line_refused_without_consent_carries_the_backorder_offer() {
        let stock = allowing(stock(&[("A", "BER", 1, 0)]), "A", "HAM", 60);
        let stock = backordered(stock, "A", "HAM", 15);

        let result = allocate(&[line("A", 3)], &stock, Backorders::Refused);

        let Err(CheckoutError::OutOfStock(shortages)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(shortages[0].warehouse, Some(wh("HAM")));
        assert_eq!(
            shortages[0].backorder,
            BackorderOffer {
                allowed: true,
                remaining_capacity: 45,
                estimated_restock: NOW.plus_secs(14 * 86_400),
            }
        );
    }

    #[test]
    fn with_consent_a_short_line_reserves_what_is_there_and_backorders_the_rest() {
        let stock = allowing(stock(&[("A", "BER", 2, 0)]), "A", "BER", 10);

        let allocations = allocate(&[line("A", 5)], &stock, Backorders::Accepted).unwrap();

        assert_eq!(allocations[0].warehouse, wh("BER"));
        assert_eq!(allocations[0].reserved(), 2);
        let backorder = allocations[0].backorder.unwrap();
        assert_eq!(
            (backorder.quantity, backorder.waiting, backorder.priority),
            (3, 3, 0)
        );
        assert_eq!(backorder.estimated_restock, NOW.plus_secs(14 * 86_400));
    }

    #[test]
    fn a_line_one_warehouse_fills_whole_is_never_backordered() {
        let stock = allowing(stock(&[("A", "HAM", 5, 0)]), "A", "BER", 10);

        let allocations = allocate(&[line("A", 5)], &stock, Backorders::Accepted).unwrap();

        assert_eq!(allocations[0].warehouse, wh("HAM"));
        assert_eq!(allocations[0].backorder, None);
    }

    #[test]
    fn the_first_warehouse_whose_queue_takes_the_shortfall_backorders_it() {
        // BER allows 2 more, short 4; HAM allows 10, short 3.
        let stock = allowing(
            stock(&[("A", "BER", 0, 0), ("A", "HAM", 1, 0)]),
            "A",
            "BER",
            2,
        );
        let stock = allowing(stock, "A", "HAM", 10);

        let allocations = allocate(&[line("A", 4)], &stock, Backorders::Accepted).unwrap();

        assert_eq!(allocations[0].warehouse, wh("HAM"));
        assert_eq!(allocations[0].backordered(), 3);
    }

    #[test]
    fn over_the_limit_is_refused_naming_the_line() {
        let stock = backordered(allowing(stock(&[]), "A", "BER", 60), "A", "BER", 58);

        let result = allocate(
            &[line("A", 3), line("B", 1)],
            &allowing(stock, "B", "BER", 5),
            Backorders::Accepted,
        );

        let Err(CheckoutError::BackorderLimit(shortages)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(shortages.len(), 1);
        assert_eq!(shortages[0].sku, sku("A"));
        assert_eq!(shortages[0].backorder.remaining_capacity, 2);
    }

    #[test]
    fn a_short_line_no_warehouse_backorders_is_out_of_stock_even_with_consent() {
        let stock = allowing(stock(&[]), "A", "BER", 60);

        let result = allocate(&[line("A", 1), line("B", 1)], &stock, Backorders::Accepted);

        let Err(CheckoutError::OutOfStock(shortages)) = result else {
            panic!("{result:?}");
        };
        let skus: Vec<_> = shortages.iter().map(|s| s.sku.as_str()).collect();
        assert_eq!(skus, ["B"]);
    }

    #[test]
    fn lines_and_backorders_must_fit_one_transaction() {
        let lines: Vec<CartLine> = (0..49).map(|n| line(&format!("S{n}"), 1)).collect();
        let mut stock = stock(&[]);
        for n in 0..49 {
            stock = allowing(stock, &format!("S{n}"), "BER", 5);
        }

        let result = allocate(&lines, &stock, Backorders::Accepted);
        let fits = allocate(&lines[..48], &stock, Backorders::Accepted);

        assert_eq!(
            result,
            Err(CheckoutError::TooManyBackorders {
                lines: 49,
                backordered: 49,
                max: 97
            })
        );
        assert_eq!(fits.map(|a| a.len()), Ok(48));
    }

    #[test]
    fn a_backordered_order_awaits_stock_and_names_its_backorders() {
        let cart = checkout(vec![line("A", 5), line("B", 1)]).unwrap();
        let priced = policy()
            .price(&cart, &catalog(&[("A", 100, true), ("B", 100, true)]))
            .unwrap();
        let eta = NOW.plus_secs(86_400);
        let id = BackorderId::from_ulid(ulid::Ulid::generate());
        let allocations = vec![
            Allocation {
                sku: sku("A"),
                warehouse: wh("BER"),
                quantity: Quantity::parse(5).unwrap(),
                backorder: Some(LineBackorder {
                    id,
                    priority: 0,
                    quantity: 3,
                    waiting: 3,
                    cancelled: 0,
                    estimated_restock: eta,
                }),
            },
            Allocation {
                sku: sku("B"),
                warehouse: wh("BER"),
                quantity: Quantity::parse(1).unwrap(),
                backorder: None,
            },
        ];

        let order = policy().place_order(
            OrderId::from_ulid(ulid::Ulid::generate()),
            CustomerId::parse("cust-1").unwrap(),
            cart,
            priced,
            &allocations,
            NOW,
        );

        assert_eq!(order.fulfillment_status, FulfillmentStatus::AwaitingStock);
        assert_eq!(order.backorder_state(), crate::BackorderState::Partial);
        assert_eq!(order.estimated_fulfillment(), Some(eta));
        assert_eq!(
            (order.lines[0].reserved(), order.lines[0].backordered()),
            (2, 3)
        );
        assert_eq!(order.lines[1].backorder, None);
        let placed = order.backorders();
        assert_eq!(placed.len(), 1);
        assert_eq!(
            (placed[0].id, placed[0].quantity, placed[0].open()),
            (id, 3, 3)
        );
    }

    #[test]
    fn placed_orders_await_payment_with_reservations_until_the_ttl() {
        let cart = checkout(vec![line("A", 1)]).unwrap();
        let priced = policy()
            .price(&cart, &catalog(&[("A", 100, true)]))
            .unwrap();
        let allocations = vec![Allocation {
            sku: sku("A"),
            warehouse: wh("BER"),
            quantity: Quantity::parse(1).unwrap(),
            backorder: None,
        }];
        let now = NOW;
        let order = policy().place_order(
            OrderId::from_ulid(ulid::Ulid::generate()),
            CustomerId::parse("cust-1").unwrap(),
            cart,
            priced,
            &allocations,
            now,
        );
        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.reservation_expires_at, now.plus_secs(900));
        assert_eq!(order.lines[0].warehouse, wh("BER"));
        assert_eq!(order.fulfillment_status, FulfillmentStatus::Unfulfilled);
        assert_eq!(order.backorder_state(), crate::BackorderState::None);
        assert_eq!(order.version, 1);
    }
}
