//! Checkout rules: what a valid cart is, how it is priced, and which
//! warehouse reserves each line.

use crate::ids::{CustomerId, Email, OrderId, Quantity, ShippingAddress, Sku, WarehouseId};
use crate::inventory::StockLevel;
use crate::money::{Currency, Money, MoneyError};
use crate::order::{Order, OrderLine, OrderTotals, Product};
use crate::status::{FulfillmentStatus, OrderStatus};
use crate::time::Timestamp;
use serde::Serialize;
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

/// A line that cannot be filled from any single warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub sku: Sku,
    pub requested: u32,
    /// The most any one warehouse could fill (lines are not split yet).
    pub available: u32,
}

/// Units of one line reserved in one warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub sku: Sku,
    pub warehouse: WarehouseId,
    pub quantity: Quantity,
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
        })
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

    /// Picks, for each line, the first warehouse by priority that can fill
    /// it whole. Any line that no warehouse can fill makes the whole cart
    /// short: nothing is allocated, and every short line is reported.
    pub fn allocate(
        &self,
        lines: &[CartLine],
        stock: &HashMap<(Sku, WarehouseId), StockLevel>,
    ) -> Result<Vec<Allocation>, CheckoutError> {
        let level = |sku: &Sku, warehouse: &WarehouseId| {
            stock
                .get(&(sku.clone(), warehouse.clone()))
                .copied()
                .unwrap_or_default()
        };
        let mut allocations = Vec::with_capacity(lines.len());
        let mut shortages = Vec::new();
        for line in lines {
            let requested = line.quantity.get();
            match self
                .warehouses
                .iter()
                .find(|wh| level(&line.sku, wh).can_fill(requested))
            {
                Some(warehouse) => allocations.push(Allocation {
                    sku: line.sku.clone(),
                    warehouse: warehouse.clone(),
                    quantity: line.quantity,
                }),
                None => shortages.push(Shortage {
                    sku: line.sku.clone(),
                    requested,
                    available: self
                        .warehouses
                        .iter()
                        .map(|wh| level(&line.sku, wh).available())
                        .max()
                        .unwrap_or(0),
                }),
            }
        }
        if shortages.is_empty() {
            Ok(allocations)
        } else {
            Err(CheckoutError::OutOfStock(shortages))
        }
    }

    /// The order a priced and allocated cart becomes, awaiting payment, with
    /// its reservations held until `now + reservation_ttl_secs`.
    pub fn place_order(
        &self,
        id: OrderId,
        customer_id: CustomerId,
        checkout: ValidatedCheckout,
        priced: PricedCart,
        allocations: &[Allocation],
        now: Timestamp,
    ) -> Order {
        let lines = priced
            .lines
            .into_iter()
            .zip(allocations)
            .map(|(line, allocation)| OrderLine {
                sku: line.sku,
                name: line.name,
                quantity: line.quantity,
                unit_price: line.unit_price,
                line_total: line.line_total,
                warehouse: allocation.warehouse.clone(),
            })
            .collect();
        Order {
            id,
            customer_id,
            status: OrderStatus::PendingPayment,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
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

    #[test]
    fn allocation_takes_the_first_warehouse_by_priority_that_can_fill_the_line() {
        let stock = HashMap::from([
            (
                (sku("A"), wh("BER")),
                StockLevel {
                    on_hand: 1,
                    reserved: 0,
                    ..StockLevel::default()
                },
            ),
            (
                (sku("A"), wh("HAM")),
                StockLevel {
                    on_hand: 10,
                    reserved: 0,
                    ..StockLevel::default()
                },
            ),
            (
                (sku("B"), wh("BER")),
                StockLevel {
                    on_hand: 5,
                    reserved: 0,
                    ..StockLevel::default()
                },
            ),
        ]);
        let allocations = policy()
            .allocate(&[line("A", 2), line("B", 5)], &stock)
            .unwrap();
        assert_eq!(allocations[0].warehouse, wh("HAM"));
        assert_eq!(allocations[1].warehouse, wh("BER"));
    }

    #[test]
    fn allocation_reports_every_short_line_and_does_not_split_lines() {
        let stock = HashMap::from([
            (
                (sku("A"), wh("BER")),
                StockLevel {
                    on_hand: 2,
                    reserved: 0,
                    ..StockLevel::default()
                },
            ),
            (
                (sku("A"), wh("HAM")),
                StockLevel {
                    on_hand: 3,
                    reserved: 1,
                    ..StockLevel::default()
                },
            ),
            (
                (sku("B"), wh("BER")),
                StockLevel {
                    on_hand: 9,
                    reserved: 0,
                    ..StockLevel::default()
                },
            ),
        ]);
        let result = policy().allocate(&[line("A", 3), line("B", 1), line("C", 1)], &stock);
        assert_eq!(
            result,
            Err(CheckoutError::OutOfStock(vec![
                Shortage {
                    sku: sku("A"),
                    requested: 3,
                    available: 2
                },
                Shortage {
                    sku: sku("C"),
                    requested: 1,
                    available: 0
                },
            ]))
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
        }];
        let now = Timestamp::from_millis(1_000_000);
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
        assert_eq!(order.version, 1);
    }
}
